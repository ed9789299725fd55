"""The main melody follows the known lead of demo songs in other styles, tempos and meters."""

import mir_eval
import numpy as np
import pytest
from choreo_studio.core.analysis.analyzer import analyze_audio
from choreo_studio.resources.demo_song import DemoSongSpec, render_demo_song

SHORT = (("intro", 2), ("verse", 4), ("chorus", 4))


@pytest.mark.parametrize(
    "spec",
    [
        DemoSongSpec(style="waltz", beats_per_bar=3, tempo_bpm=150, seed=4, structure=SHORT),
        DemoSongSpec(style="edm", tempo_bpm=128, seed=1, structure=SHORT),
        DemoSongSpec(style="hiphop", tempo_bpm=90, seed=2, structure=SHORT),
    ],
    ids=["waltz-3/4", "edm", "hiphop"],
)
def test_melody_scores_against_the_lead_notes(spec):
    song = render_demo_song(spec)
    analysis, _ = analyze_audio(song.audio())
    times = np.arange(analysis.melody_hz.size) / analysis.melody_fps
    midi = song.lead_midi_at(times)
    ref_hz = np.where(midi > 0, 440.0 * 2.0 ** ((midi - 69) / 12), 0.0)
    scores = mir_eval.melody.evaluate(times, ref_hz, times, analysis.melody_hz.astype(float))
    assert scores["Raw Pitch Accuracy"] >= 0.8  # within half a semitone of the lead note
    assert scores["Voicing Recall"] >= 0.8
    assert scores["Voicing False Alarm"] <= 0.45  # drums-only and rest frames mostly unvoiced
    assert scores["Overall Accuracy"] >= 0.75
