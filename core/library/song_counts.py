"""A take's song analysed (cached by content) and the take cut on its music phrases.

Only the stretch of the song the take covers is analysed (a few seconds either side): Tang's
dances cover a minute of three-minute songs. A take whose style has one meter
(``STYLE_METERS``: a waltz 3/4, a cha-cha 4/4) has its song decoded in that meter only, so a
waltz phrase is 6 counts = 2 bars. That is the grid the style's meter would force on a song
read otherwise, and the one the free reading gives when it agrees (each meter's beat path is
decoded on its own), in one decode instead of a free one plus a forced one. The cut needs
nearly all of the analysis: beats and downbeats, and for the music phrases the sections and
the melody's rests; only the onset list goes unused (a fraction of a second of ~5 s a song,
most of which is the beat decoder).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from choreo_studio.core.analysis.music_analysis import MusicAnalysis
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.library.music_cut import MusicCut, cuts_on_music, fit_time_map
from choreo_studio.core.library.takes import STYLE_METERS
from choreo_studio.core.motion.motion import Motion
from choreo_studio.core.phrases.segmentation import segment

if TYPE_CHECKING:
    from choreo_studio.core.library.takes import Take


MARGIN_S = 4.0


def song_analysis(path, start_s: float, end_s: float, meter: int | None  # noqa: ANN001
                  ) -> tuple[MusicAnalysis, float]:
    """The analysis of the song's ``[start_s, end_s]`` (a margin either side) and where that
    stretch starts in the song; ``meter`` (beats per bar) is decoded alone when given. Cached
    by the file's content, the stretch and the meter, so a re-import decodes nothing."""
    from choreo_studio.core.audio.load import Audio, file_content_hash, load_audio
    from choreo_studio.core.phrases.feature_cache import FeatureCache

    a_s, b_s = max(0.0, start_s - MARGIN_S), end_s + MARGIN_S
    key = f"{file_content_hash(path)}-{a_s:.3f}-{b_s:.3f}" + (f"-in{meter}" if meter else "")
    cache = FeatureCache(key)
    analysis = cache.load_analysis()
    if analysis is not None:
        return analysis, a_s
    from choreo_studio.core.analysis.analyzer import analyze_audio

    song = load_audio(path)
    audio = Audio.from_array(song.samples[int(a_s * song.sr): int(b_s * song.sr)], song.sr,
                             str(path))
    fresh = analyze_audio(audio, meter_text=f"{meter}/4" if meter else None)[0]
    analysis = MusicAnalysis.from_dict(fresh.to_dict())  # as the cache gives it back
    cache.save_analysis(analysis)
    return analysis, a_s


def music_cuts(take: Take, motion: Motion, bars: int, positions: np.ndarray | None = None
               ) -> tuple[list[MusicCut], dict[str, Any]]:
    """Phrases of ``bars`` bars on the take's song, and what to record in their source;
    ``positions``: the motion's forward kinematics when the caller has it."""
    end_s = take.song_start_s + motion.duration_s * max(take.song_scale, 1.0) * 1.03
    analysis, crop_s = song_analysis(take.song, take.song_start_s, end_s,
                                     STYLE_METERS.get((take.style or "").lower()))
    time_map = fit_time_map(motion, analysis.beats_s, take.song_start_s - crop_s,
                            take.song_scale, positions)
    cuts = cuts_on_music(motion, analysis, segment(analysis), time_map, bars)
    if not cuts:
        raise ChoreoError(
            f"{take.path}: no {bars}-bar music phrase of {take.song.name} falls inside the take "
            "— check that the song is the take's, or drop it to count from the motion"
        )
    info = {
        "song": take.song.name,
        "meter": analysis.meter,
        "time_map": {"offset_s": round(time_map.offset_s + crop_s, 3),
                     "scale": round(time_map.scale, 5),
                     "beat_fit": round(time_map.score, 3),
                     "beat_fit_source_clock": round(time_map.prior_score, 3)},
    }
    return cuts, info
