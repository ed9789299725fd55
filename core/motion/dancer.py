"""The dancer in a take: standing height, length unit and up axis, measured from the motion
(the whole take), never from the rest pose (a rig's rest may be a bind pose that does not stand:
Bandai's bones-along-local-axes rest is 98 cm tall for a 166 cm dancer).

* Only the moving body counts: joints above the hips (a static world root left at the origin
  while the dancer travels) are left out.
* Height (``HEIGHT_MEANS``): the stature, the crown (top of the head) above the lowest point of
  the body (the feet on the floor), at its 95th percentile over the take: the dancer standing
  up straight, not the mean over crouches and not a raised hand. The crown is the head's own
  end site or head-top joint (Mixamo ``HeadTop_End``, CMU's head end site); a tip beyond a
  head-top joint (Mixamo's second end site, 24 cm above the crown) is not body. A rig whose
  head ends at the head joint (Bandai, Xia: a zero end site) has no crown point, so it is
  estimated as the head joint's height times ``HEAD_TOP_RATIO`` = 1.13, the head joint sitting
  at the skull's base at 88 % of stature (measured 1.13 on the real Mixamo take; CMU puts its
  head joint higher, 1.07, so there the estimate would run up to 6 % tall — a rig without a
  crown point cannot say which it is). Without a recognised head: the 90th percentile of the
  body's vertical extent.
* Unit: of centimetres, metres, millimetres, inches and the CMU database unit (1/0.45 inch),
  the one that makes the dancer nearest ``TYPICAL_HEIGHT_CM`` (on a log scale).
* Up axis: Y unless the body's extent along Z is clearly the larger over the take (a Z-up
  export), with the head above the hips deciding the sign.
"""

from __future__ import annotations

import numpy as np
from choreo_studio.core.motion.motion import Motion

HEIGHT_MEANS = "crown above the floor, 95th percentile over the motion"
TYPICAL_HEIGHT_CM = 170.0
HEAD_TOP_RATIO = 1.13
UNIT_CANDIDATES_TO_CM = {"cm": 1.0, "m": 100.0, "mm": 0.1, "inch": 2.54, "cmu": 2.54 / 0.45}
_HEAD_TOP_MIN_SHARE = 0.03  # a head end site shorter than this share of the height is a stub


def body_points(motion: Motion, hips: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions ``[F, K, 3]`` of the joints and end sites at or below ``hips``, the parent of
    each point as an index into them (-1 for the hips), and each point's original index."""
    positions, parents = motion.fk_with_end_sites()
    keep = np.zeros(len(parents), dtype=bool)
    keep[hips] = True
    for k in range(len(parents)):  # joints are parent-first; end sites come after all joints
        if k != hips and parents[k] >= 0 and keep[parents[k]]:
            keep[k] = True
    original = np.nonzero(keep)[0]
    index = -np.ones(len(parents), dtype=np.int64)
    index[original] = np.arange(len(original))
    new_parents = np.where(original == hips, -1, index[np.maximum(parents[original], 0)])
    return positions[:, original], new_parents, original


def _head_top(positions: np.ndarray, parents: np.ndarray, head: int, up: int) -> np.ndarray:
    """Per-frame height of the crown along axis ``up`` (see module docstring)."""
    head_h = positions[:, head, up]
    best = None
    for k in np.nonzero(parents == head)[0]:
        rise = positions[:, k, up] - head_h
        if best is None or np.median(rise) > np.median(best):
            best = rise
    span = np.ptp(positions[..., up], axis=1)
    if best is not None and np.median(best) > _HEAD_TOP_MIN_SHARE * np.median(span):
        return head_h + best
    low = positions[..., up].min(axis=1)
    return low + (head_h - low) * HEAD_TOP_RATIO


def dancer_height(motion: Motion, head: int | None = None, up: int = 1, hips: int = 0) -> float:
    """Standing height of the dancer over the take, in the motion's units."""
    positions, parents, original = body_points(motion, hips)
    low = positions[..., up].min(axis=1)
    if head is None or head not in original:
        return float(np.percentile(positions[..., up].max(axis=1) - low, 90))
    top = _head_top(positions, parents, int(np.searchsorted(original, head)), up)
    return float(np.percentile(top - low, 95))


def choose_unit(height: float) -> str:
    """The unit (key of ``UNIT_CANDIDATES_TO_CM``) that makes ``height`` most human."""
    if not np.isfinite(height) or height <= 0:
        return "cm"
    return min(UNIT_CANDIDATES_TO_CM, key=lambda u: abs(
        np.log(height * UNIT_CANDIDATES_TO_CM[u] / TYPICAL_HEIGHT_CM)))


def detect_up(motion: Motion, head: int | None = None, hips: int = 0) -> str:
    """``"y"`` or ``"z"``: the axis the dancer stands along (see module docstring)."""
    pos, _, original = body_points(motion, hips)
    extent_y = float(np.median(np.ptp(pos[..., 1], axis=1)))
    extent_z = float(np.median(np.ptp(pos[..., 2], axis=1)))
    if extent_z <= 1.5 * extent_y:
        return "y"
    if head is not None and head in original:
        h = int(np.searchsorted(original, head))
        if np.median(pos[:, h, 2] - pos[:, 0, 2]) < 0:
            return "y"
    return "z"


def typical_height(motions: list[Motion], head: int | None, hips: int = 0,
                   at_most: int = 64) -> float:
    """Median dancer height over clips (at most ``at_most`` of them, evenly spread)."""
    if not motions:
        return float("nan")
    picks = np.unique(np.linspace(0, len(motions) - 1, min(at_most, len(motions))).astype(int))
    return float(np.median([dancer_height(motions[i], head, hips=hips) for i in picks]))
