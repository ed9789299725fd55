"""Keyframed body curves in musical time (counts) and the phrase builder the moves write into.

Time is measured in counts (beats): count 1 of the phrase is t = 0, count 8 is t = 7 and the
phrase ends at t = 8. A key's *ease* says how the curve arrives at it; every ease has zero
velocity at its key, so a key on a count makes the body stop or turn there (a kinematic beat).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from choreo_studio.resources.demo_library.poser import (
    HAND_KEEP_OUT_CM,
    HAND_KEEP_OUT_SHIFT_CM,
    HIP_HEIGHT_CM,
    POLE_SINGULAR,
    BodyCurves,
    arm_root_in_chest,
    swivel_of,
)


def _smooth(s: np.ndarray) -> np.ndarray:
    return s * s * (3.0 - 2.0 * s)


def _creep_then_arrive(s: np.ndarray, start: float, creep: float) -> np.ndarray:
    """Creep towards the target (speed growing from zero) until ``start``, then accelerate and
    stop dead on the key (cubic Hermite continuing the creep speed). The body never freezes
    between keys, so the only still moment is the key itself — the hit on the count."""
    u = np.clip((s - start) / (1.0 - start), 0.0, 1.0)
    slope = 2.0 * creep / start * (1.0 - start)
    h = (2 * u**3 - 3 * u**2 + 1) * creep + (u**3 - 2 * u**2 + u) * slope + (-2 * u**3 + 3 * u**2)
    return np.where(s < start, creep * (s / start) ** 2, h)


def _late(s: np.ndarray) -> np.ndarray:
    """Move mostly in the second half of the interval, arriving softly on the key."""
    return _creep_then_arrive(s, 0.4, 0.08)


def _trapezoid(s: np.ndarray, ramp: float) -> np.ndarray:
    """Constant-speed travel with linear speed ramps of length ``ramp`` at both ends: the
    shorter the ramp, the harder the stop on the key (and the start after it)."""
    v = 1.0 / (1.0 - ramp)
    mid = v * (ramp / 2.0 + (s - ramp))
    return np.where(s < ramp, v * s * s / (2 * ramp),
                    np.where(s > 1.0 - ramp, 1.0 - v * (1.0 - s) ** 2 / (2 * ramp), mid))


def _hit(s: np.ndarray) -> np.ndarray:
    """Popping hit: fast travel that stops dead on the count (short speed ramps)."""
    return _trapezoid(s, 0.12)


def _sharp(s: np.ndarray) -> np.ndarray:
    """Punchy travel with a firm stop on the key (locking points, punches)."""
    return _trapezoid(s, 0.22)


def groove_shape(t: np.ndarray) -> np.ndarray:
    """Groove depth (1 = lowest) over counts ``t``: down on one count, up on the next, so
    every turn of the body's direction — and so every kinematic beat — falls on a count."""
    return 0.5 + 0.5 * np.cos(np.pi * t)


EASES = {"smooth": _smooth, "late": _late, "hit": _hit, "sharp": _sharp, "linear": lambda s: s}


class Track:
    """A keyed curve (scalar or vector) sampled with per-key easing."""

    def __init__(self, initial) -> None:
        first = (0.0, np.asarray(initial, float), "smooth")
        self.keys: list[tuple[float, np.ndarray, str]] = [first]

    def value_at(self, t: float) -> np.ndarray:
        """Value of the curve at time ``t`` (counts)."""
        return self.sample(np.array([t]))[0]

    def key(self, t: float, value, ease: str = "smooth") -> None:
        """Set a key at ``t`` (replacing one at the same time)."""
        value = np.asarray(value, float)
        self.keys = [k for k in self.keys if abs(k[0] - t) > 1e-9]
        self.keys.append((float(t), value, ease))
        self.keys.sort(key=lambda k: k[0])

    def hold(self, t: float) -> None:
        """Key the current value at ``t`` so later keys start moving only from there."""
        self.key(t, self.value_at(t), "smooth")

    def sample(self, ts: np.ndarray) -> np.ndarray:
        """Values at times ``ts`` ``[n, ...]``."""
        ts = np.asarray(ts, float)
        first = self.keys[0][1]
        out = np.broadcast_to(first, (len(ts), *first.shape)).copy()
        for (t0, v0, _), (t1, v1, ease) in zip(self.keys[:-1], self.keys[1:], strict=True):
            m = (ts >= t0) & (ts <= t1)
            if np.any(m) and t1 > t0:
                e = EASES[ease]((ts[m] - t0) / (t1 - t0)).reshape(-1, *([1] * first.ndim))
                out[m] = self.between(v0, v1, e)
        last_t, last_v, _ = self.keys[-1]
        out[ts > last_t] = last_v
        return out

    def between(self, v0: np.ndarray, v1: np.ndarray, e: np.ndarray) -> np.ndarray:
        """Values between two keys at eased fractions ``e`` (0 at ``v0``, 1 at ``v1``)."""
        return v0 + e * (v1 - v0)


class AngleTrack(Track):
    """A keyed angle (rad) that turns the short way round between keys."""

    def between(self, v0: np.ndarray, v1: np.ndarray, e: np.ndarray) -> np.ndarray:
        """Angles from ``v0`` towards ``v1`` along the shorter arc."""
        return v0 + e * (np.mod(v1 - v0 + np.pi, 2.0 * np.pi) - np.pi)


class HandTrack(Track):
    """A chest-frame hand target whose path between keys bends around the shoulder.

    Straight-line paths between arm shapes (hand down → overhead, heart → hip) can pass
    through the shoulder or behind the neck, where the shoulder→hand direction — and with it
    the elbow — would turn half a circle in a frame or two. A path that enters the keep-out
    ball (:data:`~resources.demo_library.poser.HAND_KEEP_OUT_CM` around a point just behind
    and inside the shoulder) bulges out of it, always to the front and outside, by just
    enough; the bulge is zero at both keys, so keys and their stops are unchanged.
    """

    def __init__(self, initial, shoulder: np.ndarray) -> None:
        super().__init__(initial)
        self.shoulder = np.asarray(shoulder, float)
        inward_back = POLE_SINGULAR * np.array([np.sign(self.shoulder[0]), 1.0, 1.0])
        self.center = self.shoulder + HAND_KEEP_OUT_SHIFT_CM * inward_back
        self.out_front = -inward_back

    def between(self, v0: np.ndarray, v1: np.ndarray, e: np.ndarray) -> np.ndarray:
        """Straight path from ``v0`` to ``v1``, bulged out of the keep-out ball."""
        line = v0 + e * (v1 - v0)
        delta = v1 - v0
        length2 = float(delta @ delta)
        if length2 < 1e-9:
            return line
        a = v0 - self.center
        s_near = float(np.clip(-(a @ delta) / length2, 0.0, 1.0))
        closest = a + s_near * delta
        if s_near in (0.0, 1.0) or float(closest @ closest) >= HAND_KEEP_OUT_CM**2:
            return line
        away = self.out_front - (self.out_front @ delta) / length2 * delta
        if np.linalg.norm(away) < 0.2:  # moving along out_front: go round forwards instead
            away = np.array([0.0, 0.0, 1.0]) - delta[2] / length2 * delta
        away = away / np.linalg.norm(away)
        ca = float(closest @ away)  # push along `away` until |closest + h·away| = radius
        h = -ca + np.sqrt(ca * ca - float(closest @ closest) + HAND_KEEP_OUT_CM**2)
        peak = 4.0 * max(s_near * (1.0 - s_near), 0.2)
        return line + 4.0 * e * (1.0 - e) * (h / peak) * away


@dataclass
class Step:
    """A foot moving from where it is to ``to_xz`` (world) between ``t_lift`` and ``t_land``."""

    t_lift: float
    t_land: float
    to_xz: np.ndarray
    yaw: float
    height: float
    end_height: float = 0.0


@dataclass
class FootTrack:
    """A foot's floor position over time: planted between steps, an arc during each step."""

    start_xz: np.ndarray
    start_yaw: float
    steps: list[Step] = field(default_factory=list)

    def state_at(self, t: float) -> tuple[np.ndarray, float]:
        """Floor position and heading the foot has (or is heading to) at time ``t``."""
        xz, yaw = self.start_xz, self.start_yaw
        for s in self.steps:
            if s.t_lift <= t + 1e-9:
                xz, yaw = s.to_xz, s.yaw
        return np.asarray(xz, float), float(yaw)

    def sample(self, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World ankle floor positions ``[n, 3]`` (y = lift) and headings ``[n]``."""
        pos = np.zeros((len(ts), 3))
        pos[:, [0, 2]] = self.start_xz
        yaw = np.full(len(ts), self.start_yaw, float)
        prev_xz, prev_yaw = np.asarray(self.start_xz, float), self.start_yaw
        prev_h = 0.0
        for s in sorted(self.steps, key=lambda s: s.t_lift):
            during = (ts >= s.t_lift) & (ts < s.t_land)
            after = ts >= s.t_land
            u = (ts[during] - s.t_lift) / max(s.t_land - s.t_lift, 1e-9)
            e = _smooth(u)[:, None]
            pos[np.nonzero(during)[0][:, None], [0, 2]] = prev_xz + e * (s.to_xz - prev_xz)
            pos[during, 1] = s.height * np.sin(np.pi * u) ** 1.5 + prev_h + e[:, 0] * (
                s.end_height - prev_h
            )
            yaw[during] = prev_yaw + _smooth(u) * (s.yaw - prev_yaw)
            pos[np.nonzero(after)[0][:, None], [0, 2]] = s.to_xz
            pos[after, 1] = s.end_height
            yaw[after] = s.yaw
            prev_xz, prev_yaw, prev_h = np.asarray(s.to_xz, float), s.yaw, s.end_height
        return pos, yaw


def rot_y(yaw: float, v: np.ndarray) -> np.ndarray:
    """Floor vector (x, z) turned by ``yaw`` about +Y."""
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([c * v[0] + s * v[1], -s * v[0] + c * v[1]])


class PhraseBuilder:
    """All body curves of one phrase; moves add keys and steps, :meth:`curves` samples them."""

    def __init__(self, n_counts: int, stance_cm: float = 11.0) -> None:
        self.n_counts = n_counts
        self.facing = Track(0.0)
        self.weight = Track(0.5)  # 0 = over the left foot, 1 = over the right foot
        self.pelvis_off = Track([0.0, 0.0])  # facing-relative (x, z) shift of the pelvis
        self.drop = Track(3.0)  # knee bend: cm below standing hip height
        self.bounce = Track(0.0)  # groove depth (cm) of a down-on-the-count bounce
        self.rock = Track(0.0)  # forward/back torso rock (rad), extremes on counts
        self.sway = Track(0.0)  # side-to-side hip sway (cm), extremes on counts
        self.hip = Track([0.0, 0.0, 0.0])
        self.spine = Track([0.0, 0.05, 0.0])
        self.chest = Track(0.0)
        self.head = Track([0.0, 0.0, 0.0])
        l_rest, l_pole = np.array([20.0, -43.0, 9.0]), np.array([0.3, -1.0, -0.6])
        mirror = np.array([-1.0, 1.0, 1.0])
        self.l_hand = HandTrack(l_rest, arm_root_in_chest(np.array([0.0, 10.0, 0.0])))
        self.r_hand = HandTrack(l_rest * mirror, self.l_hand.shoulder * mirror)
        self.l_swivel = AngleTrack(swivel_of(l_rest, l_pole, 1.0))
        self.r_swivel = AngleTrack(swivel_of(l_rest * mirror, l_pole * mirror, -1.0))
        self.l_heel = Track(0.0)
        self.r_heel = Track(0.0)
        self.l_foot = FootTrack(np.array([stance_cm, 0.0]), 0.08)
        self.r_foot = FootTrack(np.array([-stance_cm, 0.0]), -0.08)
        self.anchor = np.zeros(2)

    def foot(self, side: str) -> FootTrack:
        """The left (``"L"``) or right (``"R"``) foot track."""
        return self.l_foot if side == "L" else self.r_foot

    def set_anchor(self, t: float) -> None:
        """Make the feet's centre at ``t`` the reference point of the next move's steps."""
        self.anchor = self.feet_center(t)

    def step(self, side: str, t_land: float, local_xz, *, dur: float = 0.5, height: float = 8.0,
             relative_to: str = "anchor", turn: float = 0.0, end_height: float = 0.0) -> None:
        """Step ``side`` foot to ``local_xz`` (facing-relative) measured from the move's anchor,
        from the foot itself (``"self"``) or from the other foot (``"other"``), landing on
        ``t_land``. The target is kept 12–60 cm from the other foot so legs never overreach."""
        t_lift = t_land - dur
        facing = float(self.facing.value_at(t_land)) + turn
        here, _ = self.foot(side).state_at(t_lift)
        other, _ = self.foot("R" if side == "L" else "L").state_at(t_land)
        base = {"anchor": self.anchor, "self": here, "other": other}[relative_to]
        to = base + rot_y(facing, np.asarray(local_xz, float))
        gap = to - other
        dist = float(np.linalg.norm(gap))
        if dist > 60.0 or 0 < dist < 12.0:
            to = other + gap / dist * float(np.clip(dist, 12.0, 60.0))
        splay = 0.08 if side == "L" else -0.08
        self.foot(side).steps.append(
            Step(t_lift, t_land, to, facing + splay, height, end_height)
        )

    def feet_center(self, t: float) -> np.ndarray:
        """Midpoint of the feet's floor positions at time ``t``."""
        lx, _ = self.l_foot.state_at(t)
        rx, _ = self.r_foot.state_at(t)
        return (lx + rx) / 2.0

    def curves(self, fps: float, frames_per_count: float, n_frames: int) -> BodyCurves:
        """Sample every curve at the phrase's frames (t = frame / frames_per_count)."""
        ts = np.arange(n_frames) / frames_per_count
        lf, lyaw = self.l_foot.sample(ts)
        rf, ryaw = self.r_foot.sample(ts)
        facing = self.facing.sample(ts)
        w = self.weight.sample(ts)
        sway = self.sway.sample(ts) * np.cos(np.pi * ts)
        w = np.clip(w + sway / 40.0, -0.1, 1.1)
        center = lf[:, [0, 2]] * (1 - w)[:, None] + rf[:, [0, 2]] * w[:, None]
        off = self.pelvis_off.sample(ts)
        c, s = np.cos(facing), np.sin(facing)
        center += np.stack([c * off[:, 0] + s * off[:, 1], -s * off[:, 0] + c * off[:, 1]], -1)
        groove = self.bounce.sample(ts) * groove_shape(ts)
        height = HIP_HEIGHT_CM - self.drop.sample(ts) - groove
        pelvis = np.stack([center[:, 0], height, center[:, 1]], -1)
        hip = self.hip.sample(ts)
        hip[:, 2] += -sway / 120.0
        spine = self.spine.sample(ts)
        spine[:, 1] += self.rock.sample(ts) * np.cos(np.pi * ts)
        return BodyCurves(
            facing=facing, pelvis=pelvis, hip=hip, spine=spine, chest_pitch=self.chest.sample(ts),
            head=self.head.sample(ts), l_hand=self.l_hand.sample(ts), r_hand=self.r_hand.sample(ts),
            l_swivel=self.l_swivel.sample(ts), r_swivel=self.r_swivel.sample(ts), l_foot=lf,
            r_foot=rf,
            l_foot_yaw=lyaw, r_foot_yaw=ryaw, l_heel=self.l_heel.sample(ts),
            r_heel=self.r_heel.sample(ts),
        )
