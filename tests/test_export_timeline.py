"""Timeline JSON: round trip through the schema-validated writer/reader, one-line errors."""

import json
from types import SimpleNamespace

import numpy as np
import pytest
from choreo_studio.core.choreography.beat_warp import repeat_count
from choreo_studio.core.choreography.placements import Choreography, Placement
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.export.timeline import read_timeline, timeline_to_dict, write_timeline


def _song():
    beats = np.arange(32) * 0.5
    analysis = SimpleNamespace(
        song_hash="abc123", duration_s=16.0, tempo_bpm=120.0, beats_per_bar=4,
        beats_s=beats, downbeats=np.arange(0, 32, 4),
    )
    phrases = [
        SimpleNamespace(index=0, start_beat=0, end_beat=16, start_s=0.0, end_s=8.0, n_bars=4,
                        section_label="A"),
        SimpleNamespace(index=1, start_beat=16, end_beat=24, start_s=8.0, end_s=12.0, n_bars=2,
                        section_label="B"),
        SimpleNamespace(index=2, start_beat=24, end_beat=32, start_s=12.0, end_s=16.0, n_bars=2,
                        section_label="B"),
    ]
    dances = [SimpleNamespace(id="d0", name="Wave", n_counts=8, bpm=118.0),
              SimpleNamespace(id="d1", name="Step", n_counts=16, bpm=62.0)]
    library = SimpleNamespace(name="demo", fingerprint="fp1", phrases=dances)
    return analysis, phrases, library


def test_round_trip_keeps_choreography_and_timing(tmp_path):
    analysis, phrases, library = _song()
    choreo = Choreography(
        [Placement(0, "d0", locked=True, mirror=True, blend_s=0.4),
         Placement(1, "d1"), Placement(2, "d0", beats_per_count=0.5)],
        scorer="descriptor matcher", decoder="viterbi",
    )
    path = write_timeline(tmp_path / "t.json", choreo, analysis, phrases, library, fps=60)
    timeline = read_timeline(path)
    assert timeline.choreography.placements == choreo.placements
    assert timeline.choreography.scorer == "descriptor matcher"
    assert timeline.song_hash == "abc123"
    assert timeline.library_fingerprint == "fp1"
    assert [p.dance_name for p in timeline.phrases] == ["Wave", "Step", "Wave"]
    # d1 (62 BPM) goes half time on the 120 BPM song; phrase 2 is forced to double time
    assert [p.repeats for p in timeline.phrases] == [2, 1, 2]
    rows = json.loads(path.read_text())["phrases"]
    assert [r["beats_per_count"] for r in rows] == [1.0, 2.0, 0.5]
    assert [r["beats_per_count_auto"] for r in rows] == [True, True, False]
    assert timeline.phrases[1].start_frame == 480 and timeline.phrases[1].end_frame == 720
    assert timeline.labels() == [(0.0, 8.0, "d0"), (8.0, 12.0, "d1"), (12.0, 16.0, "d0")]
    np.testing.assert_allclose(timeline.beats_s, analysis.beats_s)


def test_repeat_count():
    assert repeat_count(16, 8) == 2
    assert repeat_count(12, 8) == 2
    assert repeat_count(4, 8) == 1


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda o: o.update(format_version=7), "format_version 7"),
        (lambda o: o["phrases"][0].pop("dance_id"), "'dance_id' is a required property"),
        (lambda o: o["phrases"][1].update(index=5), "phrases/1: index is 5"),
        (lambda o: o["phrases"][0].update(end_s=-1.0), "phrases/0/end_s"),
        (lambda o: o["phrases"][1].update(end_beat=99), "past the song's 32 beats"),
        (lambda o: o["phrases"][1].update(beats_per_count=3), "phrases/1/beats_per_count"),
    ],
)
def test_bad_files_give_one_line_errors(tmp_path, mutate, fragment):
    analysis, phrases, library = _song()
    obj = timeline_to_dict(Choreography.from_dance_ids(["d0", "d1", "d0"]), analysis, phrases,
                           library)
    mutate(obj)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(obj))
    with pytest.raises(ChoreoError) as info:
        read_timeline(path)
    message = str(info.value)
    assert fragment in message and "\n" not in message and str(path) in message


def test_not_json_is_a_one_line_error(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("{nope")
    with pytest.raises(ChoreoError, match="not valid JSON"):
        read_timeline(path)
    with pytest.raises(ChoreoError, match="no such timeline"):
        read_timeline(tmp_path / "missing.json")
