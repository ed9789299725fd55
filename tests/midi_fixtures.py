"""Standard MIDI files written byte by byte for the tests: tracks of (delta ticks, event)."""

from choreo_studio.training.beat_activation_data import _write_varlen


def track(events: list[tuple[int, bytes]]) -> bytes:
    """An MTrk chunk of (delta ticks, event bytes), end of track added."""
    body = b"".join(_write_varlen(d) + e for d, e in events) + b"\x00\xff\x2f\x00"
    return b"MTrk" + len(body).to_bytes(4, "big") + body


def smf(tracks: list[bytes], tpq: int = 480) -> bytes:
    """A format-1 SMF of the given track chunks."""
    return (b"MThd" + (6).to_bytes(4, "big") + (1).to_bytes(2, "big")
            + len(tracks).to_bytes(2, "big") + tpq.to_bytes(2, "big") + b"".join(tracks))
