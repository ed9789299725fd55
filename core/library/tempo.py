"""How a dance phrase's counts may sit on a song's beats: shared by beat warping and scoring.

Both the renderer (``choreography.beat_warp``) and the descriptor scorer (``retrieval.scoring``)
judge a dance's tempo against a music phrase's with these numbers, so they live below both.
"""

BEATS_PER_COUNT_CHOICES = (0.5, 1.0, 2.0)
"""Double time (2 counts a beat), a count per beat, half time (a count every 2 beats)."""

TIME_CHANGE_COST_OCTAVES = 0.35
"""Extra tempo mismatch charged for going half or double time (prefer one count per beat)."""
