"""Song times as people read them (``m:ss.ss``): the one clock of the CLI tables and the editor."""

from __future__ import annotations


def format_clock(seconds: float, decimals: int = 2) -> str:
    """``seconds`` as minutes and seconds, e.g. ``1:05.25`` (``decimals`` places; negatives 0)."""
    minutes, secs = divmod(max(seconds, 0.0), 60.0)
    if round(secs, decimals) >= 60.0:  # 59.999 s must read 1:00.00, not 0:60.00
        minutes, secs = minutes + 1, 0.0
    return f"{int(minutes)}:{secs:0{3 + decimals}.{decimals}f}"
