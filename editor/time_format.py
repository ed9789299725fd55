"""Song times as a choreographer reads them: bar:beat on the song's grid and m:ss (Qt-free)."""

from __future__ import annotations

import numpy as np
from choreo_studio.core.analysis.music_analysis import MusicAnalysis
from choreo_studio.core.clock import format_clock


def bar_beat(analysis: MusicAnalysis | None, time_s: float) -> str:
    """``time_s`` as ``bar:beat`` (both from 1) on the analysis' grid; a pickup before the first
    bar line is bar 0; "" without a grid or before the first beat (no bar to name)."""
    if analysis is None or analysis.beats_s.size == 0:
        return ""
    beat = int(np.searchsorted(analysis.beats_s, time_s + 1e-6, side="right")) - 1
    if beat < 0:
        return ""
    downbeats = analysis.downbeats[analysis.downbeats <= beat]
    if downbeats.size == 0:  # a pickup before the first bar line
        return f"0:{beat + 1}"
    bar = int(np.count_nonzero(analysis.downbeats <= beat))
    return f"{bar}:{beat - int(downbeats[-1]) + 1}"


def mmss(time_s: float) -> str:
    """``time_s`` as m:ss.s."""
    return format_clock(time_s, 1)


def where(analysis: MusicAnalysis | None, time_s: float) -> str:
    """``bar 12:1 (0:23.4)``: the two ways a user finds a moment in the song."""
    bb = bar_beat(analysis, time_s)
    return f"bar {bb} ({mmss(time_s)})" if bb else mmss(time_s)
