"""The move vocabulary: leg patterns, arm patterns and grooves that phrases are composed of.

Every move writes keys into a :class:`PhraseBuilder` for the counts ``[t0, t0 + n)``; steps
land and arm shapes hit *on* counts. ``amp`` (0.5–1) scales sizes with the energy level.
Hand positions are in the chest frame (x = the dancer's left, y = up, z = forward) for the
left hand; the right hand mirrors x.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from choreo_studio.resources.demo_library.poser import swivel_of
from choreo_studio.resources.demo_library.tracks import PhraseBuilder

# Named hand targets (left hand, chest frame, cm) and elbow poles.
HANDS: dict[str, tuple[float, float, float]] = {
    "down": (20.0, -43.0, 9.0),
    "swing_fwd": (14.0, -30.0, 26.0),
    "swing_back": (20.0, -34.0, -14.0),
    "hip": (19.0, -28.0, -3.0),
    "guard": (12.0, 2.0, 26.0),
    "pump_low": (14.0, -12.0, 30.0),
    "punch": (8.0, 8.0, 52.0),
    "punch_up": (18.0, 60.0, 6.0),
    "diag_up": (42.0, 42.0, 18.0),
    "side": (60.0, 8.0, 4.0),
    "side_low": (50.0, -22.0, 12.0),
    "point_fwd": (12.0, 12.0, 52.0),
    "point_down": (32.0, -34.0, 26.0),
    "clap": (3.0, 4.0, 30.0),
    "overhead": (8.0, 58.0, 6.0),
    "face": (9.0, 26.0, 18.0),
    "paw": (10.0, 14.0, 26.0),
    "heart": (4.0, 56.0, 10.0),
    "wave_hi": (36.0, 38.0, 12.0),
    "wave_lo": (30.0, 30.0, 20.0),
    "cross": (-14.0, 0.0, 24.0),
    "box_up": (42.0, 28.0, 6.0),  # upper arm out, forearm up (popping angle)
    "box_fwd": (40.0, 4.0, 26.0),  # upper arm out, forearm forward
    "box_down": (44.0, -22.0, 6.0),  # upper arm out, forearm down
    "chest": (6.0, 6.0, 24.0),
    "jazz_out": (56.0, 24.0, 20.0),
    "head_touch": (6.0, 44.0, 4.0),
}
ELBOWS: dict[str, tuple[float, float, float]] = {
    "down": (0.3, -1.0, -0.6),
    "out": (1.0, -0.3, -0.3),
    "up": (0.6, 0.4, -0.8),
    "back": (0.2, -0.4, -1.0),
}
_POLE_FOR = {"box_up": "down", "box_fwd": "down", "box_down": "up", "heart": "out",
             "overhead": "out", "face": "down", "head_touch": "out", "hip": "back",
             "diag_up": "down", "punch_up": "out"}


def arms(b: PhraseBuilder, t: float, left: str, right: str, ease: str = "smooth",
         jitter: np.ndarray | None = None) -> None:
    """Key both hands to named shapes at time ``t``, each elbow bent towards its shape's pole
    (keyed as a swivel angle, which stays continuous between keys where a pole would not)."""
    jl = np.zeros(3) if jitter is None else jitter
    mirror = np.array([-1.0, 1.0, 1.0])
    l_hand = np.array(HANDS[left]) + jl
    r_hand = (np.array(HANDS[right]) + jl) * mirror
    b.l_hand.key(t, l_hand, ease)
    b.r_hand.key(t, r_hand, ease)
    l_pole = np.array(ELBOWS[_POLE_FOR.get(left, "down")])
    r_pole = np.array(ELBOWS[_POLE_FOR.get(right, "down")]) * mirror
    b.l_swivel.key(t, swivel_of(l_hand, l_pole, 1.0), ease)
    b.r_swivel.key(t, swivel_of(r_hand, r_pole, -1.0), ease)


# ---------------------------------------------------------------- leg patterns
def step_touch(b: PhraseBuilder, t0: int, n: int, amp: float, rng, ease: str) -> None:
    """Side step on each odd count, touch the other foot in on the even count."""
    width = 22.0 + 18.0 * amp
    first = rng.choice(["R", "L"])
    for k in range(0, n, 2):
        side = first if (k // 2) % 2 == 0 else ("L" if first == "R" else "R")
        other = "L" if side == "R" else "R"
        sign = 1.0 if side == "L" else -1.0
        b.step(side, t0 + k + 1, (sign * width / 2, 0.0), dur=0.85, height=6 + 6 * amp)
        b.weight.key(t0 + k + 1, 0.0 if side == "L" else 1.0, ease)
        b.drop.key(t0 + k + 1, 6.0 + 6.0 * amp, ease)
        if k + 2 <= n:
            b.step(other, t0 + k + 2, (sign * width / 2 - sign * 16.0, 3.0), dur=0.85,
                   height=5 + 5 * amp)
            b.drop.key(t0 + k + 2, 3.0, ease)


def march(b: PhraseBuilder, t0: int, n: int, amp: float, rng, ease: str) -> None:
    """Stepping in place (alternate feet on every count), knees up with energy."""
    side = rng.choice(["L", "R"])
    for k in range(n):
        sign = 1.0 if side == "L" else -1.0
        b.step(side, t0 + k + 1, (sign * 11.0, 4.0 * np.sin(k)), dur=0.8,
               height=8 + 16 * amp)
        b.weight.key(t0 + k + 1, 0.0 if side == "L" else 1.0, ease)
        side = "R" if side == "L" else "L"


def groove_in_place(b: PhraseBuilder, t0: int, n: int, amp: float, rng, ease: str) -> None:
    """Feet planted wide, body bounces down on the counts and shifts weight every 2."""
    b.bounce.key(t0 + 0.5, 3.0 + 5.0 * amp)
    b.bounce.key(t0 + n - 0.5, 3.0 + 5.0 * amp)
    b.bounce.key(t0 + n, 0.0)
    for k in range(0, n, 2):
        b.weight.key(t0 + k + 1, 0.25 if (k // 2) % 2 == 0 else 0.75, ease)
    b.drop.key(t0 + 1, 8.0 + 6.0 * amp, ease)


def rock_step(b: PhraseBuilder, t0: int, n: int, amp: float, rng, ease: str) -> None:
    """Rock forward onto one foot, back onto the other (weight over the stepping foot)."""
    side = rng.choice(["L", "R"])
    for k in range(n):
        fwd = 1.0 if k % 2 == 0 else -1.0
        sign = 1.0 if side == "L" else -1.0
        b.step(side, t0 + k + 1, (sign * 11.0, fwd * (14.0 + 12.0 * amp)), dur=0.8,
               height=6.0)
        b.weight.key(t0 + k + 1, 0.0 if side == "L" else 1.0, ease)
        b.spine.key(t0 + k + 1, [0.0, 0.08 + fwd * 0.12 * amp, 0.0], ease)
        side = "R" if side == "L" else "L"


def v_step(b: PhraseBuilder, t0: int, n: int, amp: float, rng, ease: str) -> None:
    """V-step: out-forward right, out-forward left, back right, back left."""
    d = 18.0 + 14.0 * amp
    seq = [("R", (-d, d)), ("L", (d, d)), ("R", (-11.0, 0.0)), ("L", (11.0, 0.0))]
    for k in range(n):
        side, xz = seq[k % 4]
        b.step(side, t0 + k + 1, xz, dur=0.8, height=6.0)
        b.weight.key(t0 + k + 1, 1.0 if side == "R" else 0.0, ease)
        b.drop.key(t0 + k + 1, 8.0 if k % 4 < 2 else 4.0, ease)


def grapevine(b: PhraseBuilder, t0: int, n: int, amp: float, rng, ease: str) -> None:
    """Side, cross behind, side, touch — travelling and back."""
    d = 20.0 + 12.0 * amp
    direction = rng.choice([-1.0, 1.0])
    for k in range(n):
        lead = "L" if direction > 0 else "R"
        trail = "R" if lead == "L" else "L"
        phase = k % 4
        if phase == 0:
            b.step(lead, t0 + k + 1, (direction * d, 0.0), dur=0.8, height=5, relative_to="self")
            b.weight.key(t0 + k + 1, 0.0 if lead == "L" else 1.0, ease)
        elif phase == 1:
            b.step(trail, t0 + k + 1, (-direction * 12.0, -9.0), dur=0.8, height=5,
                   relative_to="other")
            b.weight.key(t0 + k + 1, 0.5, ease)
        elif phase == 2:
            b.step(lead, t0 + k + 1, (direction * d * 0.8, 0.0), dur=0.8, height=5,
                   relative_to="self")
            b.weight.key(t0 + k + 1, 0.0 if lead == "L" else 1.0, ease)
        else:
            b.step(trail, t0 + k + 1, (-direction * 20.0, 3.0), dur=0.8, height=6,
                   relative_to="other")
            direction = -direction
        b.drop.key(t0 + k + 1, 5.0 + 4.0 * amp, ease)


def lunge(b: PhraseBuilder, t0: int, n: int, amp: float, rng, ease: str) -> None:
    """Wide lunge to one side on the first count, hold the low level, come back up."""
    side = rng.choice(["L", "R"])
    sign = 1.0 if side == "L" else -1.0
    b.step(side, t0 + 1, (sign * (32.0 + 12.0 * amp), 6.0), dur=0.85, height=6)
    b.weight.key(t0 + 1, 0.0 if side == "L" else 1.0, ease)
    b.drop.key(t0 + 1, 14.0 + 14.0 * amp, ease)
    b.spine.key(t0 + 1, [0.0, 0.25, -sign * 0.15], ease)
    b.drop.key(t0 + n - 1, 12.0 + 10.0 * amp, ease)
    b.step(side, t0 + n, (sign * 11.0, 0.0), dur=0.9, height=5)
    b.weight.key(t0 + n, 0.5, ease)
    b.drop.key(t0 + n, 4.0, ease)
    b.spine.key(t0 + n, [0.0, 0.05, 0.0], ease)


def turn(b: PhraseBuilder, t0: int, n: int, amp: float, rng, ease: str) -> None:
    """Paddle turn: a quarter turn per count, one foot stepping round while the other holds,
    so the body turns a full 360° over four counts without hopping."""
    direction = rng.choice([-1.0, 1.0])
    start = float(b.facing.value_at(t0))
    b.facing.hold(t0)
    for k in range(min(n, 4)):
        b.facing.key(t0 + k + 1, start + direction * (k + 1) * np.pi / 2, "smooth")
        side = "L" if (k % 2 == 0) == (direction > 0) else "R"
        sign = 1.0 if side == "L" else -1.0
        b.step(side, t0 + k + 1, (sign * 11.0, 0.0), dur=0.85, height=5 + 4 * amp)
        b.weight.key(t0 + k + 1, 0.35 if side == "L" else 0.65, ease)
        b.drop.key(t0 + k + 1, 4.0 + 5.0 * (k % 2), ease)
    if n > 4:
        march(b, t0 + 4, n - 4, amp, rng, ease)


def jump(b: PhraseBuilder, t0: int, n: int, amp: float, rng, ease: str) -> None:
    """Crouch, jump apart/together landing on counts (jumping jack / hop)."""
    for k in range(n):
        width = 20.0 + 10.0 * amp if k % 2 == 0 else 11.0
        b.step("L", t0 + k + 1, (width, 0.0), dur=0.8, height=10 + 10 * amp)
        b.step("R", t0 + k + 1, (-width, 0.0), dur=0.8, height=10 + 10 * amp)
        b.drop.key(t0 + k + 0.35, 16.0, "smooth")
        b.drop.key(t0 + k + 0.75, -4.0 - 6.0 * amp, "sharp")
        b.drop.key(t0 + k + 1, 12.0, "smooth")
        b.weight.key(t0 + k + 1, 0.5)


def get_down(b: PhraseBuilder, t0: int, n: int, amp: float, rng, ease: str) -> None:
    """Level change: step wide right then left, drop into a deep crouch, groove low, come up."""
    b.step("R", t0 + 1, (-24.0, -4.0), dur=0.85, height=6)
    b.weight.key(t0 + 1, 0.8, ease)
    b.drop.key(t0 + 1, 12.0, ease)
    b.step("L", t0 + 2, (24.0, 4.0), dur=0.85, height=6)
    b.drop.key(t0 + 2, 30.0 + 18.0 * amp, "sharp")
    b.spine.key(t0 + 2, [0.0, 0.45, 0.0], "sharp")
    b.weight.key(t0 + 2, 0.5, "sharp")
    for k in range(3, n):
        b.weight.key(t0 + k, 0.2 if k % 2 == 0 else 0.8, ease)
        b.spine.key(t0 + k, [0.15 * (-1) ** k, 0.4, 0.0], ease)
    b.drop.key(t0 + n - 1, 26.0 + 14.0 * amp, ease)
    b.drop.key(t0 + n, 5.0, "smooth")
    b.spine.key(t0 + n, [0.0, 0.05, 0.0], "smooth")
    b.weight.key(t0 + n, 0.5)


def toprock(b: PhraseBuilder, t0: int, n: int, amp: float, rng, ease: str) -> None:
    """Breaking toprock (Indian step): cross-step forward, back to open, alternate sides."""
    for k in range(n):
        phase = k % 4
        side = "R" if phase < 2 else "L"
        sign = 1.0 if side == "L" else -1.0
        if phase % 2 == 0:
            b.step(side, t0 + k + 1, (-sign * 8.0, 22.0 + 10.0 * amp), dur=0.8, height=12)
            b.weight.key(t0 + k + 1, 0.0 if side == "L" else 1.0, ease)
            b.spine.key(t0 + k + 1, [-sign * 0.35, 0.2, 0.0], ease)
        else:
            b.step(side, t0 + k + 1, (sign * 13.0, -2.0), dur=0.8, height=8)
            b.weight.key(t0 + k + 1, 0.5, ease)
            b.spine.key(t0 + k + 1, [0.0, 0.1, 0.0], ease)
        b.drop.key(t0 + k + 1, 8.0 + 6.0 * amp * (phase % 2 == 0), ease)


def kick_step(b: PhraseBuilder, t0: int, n: int, amp: float, rng, ease: str) -> None:
    """Kick forward on one count, step down on the next (locking pace / jazz kick)."""
    side = rng.choice(["L", "R"])
    for k in range(0, n, 2):
        sign = 1.0 if side == "L" else -1.0
        other = "R" if side == "L" else "L"
        b.weight.key(t0 + k + 1, 0.0 if other == "L" else 1.0, ease)
        b.step(side, t0 + k + 1, (sign * 10.0, 30.0 + 16.0 * amp), dur=0.8, height=0.0,
               end_height=20.0 + 25.0 * amp)
        if k + 2 <= n:
            b.step(side, t0 + k + 2, (sign * 11.0, 0.0), dur=0.8, height=10)
            b.weight.key(t0 + k + 2, 0.5, ease)
        side = other


def hit_stand(b: PhraseBuilder, t0: int, n: int, amp: float, rng, ease: str) -> None:
    """Popping: feet planted, knee pops and chest pops hit every count."""
    for k in range(n):
        b.drop.key(t0 + k + 1, 9.0 + 7.0 * amp if k % 2 == 0 else 3.0, "hit")
        b.chest.key(t0 + k + 1, -0.18 * amp if k % 2 == 0 else 0.1, "hit")
    b.weight.key(t0 + 1, rng.choice([0.3, 0.7]), ease)


def fresno(b: PhraseBuilder, t0: int, n: int, amp: float, rng, ease: str) -> None:
    """Popping fresno: step out to a side and hit, bring back, other side."""
    for k in range(0, n, 2):
        side = "L" if (k // 2) % 2 == 0 else "R"
        sign = 1.0 if side == "L" else -1.0
        b.step(side, t0 + k + 1, (sign * (24.0 + 10.0 * amp), 0.0), dur=0.8, height=6)
        b.weight.key(t0 + k + 1, 0.0 if side == "L" else 1.0, "hit")
        b.drop.key(t0 + k + 1, 10.0 + 6.0 * amp, "hit")
        b.hip.key(t0 + k + 1, [sign * 0.25, 0.0, 0.0], "hit")
        if k + 2 <= n:
            b.step(side, t0 + k + 2, (sign * 11.0, 0.0), dur=0.8, height=6)
            b.weight.key(t0 + k + 2, 0.5, "hit")
            b.drop.key(t0 + k + 2, 4.0, "hit")
            b.hip.key(t0 + k + 2, [0.0, 0.0, 0.0], "hit")


def knee_drop(b: PhraseBuilder, t0: int, n: int, amp: float, rng, ease: str) -> None:
    """Locking knee drop: sink fast on a count, hold, spring up with a point."""
    b.drop.key(t0 + 1, 24.0 + 16.0 * amp, "sharp")
    b.spine.key(t0 + 1, [0.0, 0.3, 0.0], "sharp")
    b.drop.key(t0 + 2, 22.0 + 14.0 * amp, "smooth")
    b.drop.key(t0 + 3, 3.0, "sharp")
    b.spine.key(t0 + 3, [0.0, -0.05, 0.0], "sharp")
    if n > 3:
        rock_step(b, t0 + 3, n - 3, amp, rng, ease)


LEGS: dict[str, Callable] = {
    "step_touch": step_touch, "march": march, "groove": groove_in_place, "rock_step": rock_step,
    "v_step": v_step, "grapevine": grapevine, "lunge": lunge, "turn": turn, "jump": jump,
    "get_down": get_down, "toprock": toprock, "kick_step": kick_step, "hit_stand": hit_stand,
    "fresno": fresno, "knee_drop": knee_drop,
}  # fmt: skip

# ---------------------------------------------------------------- arm patterns
# Each arm pattern is a cycle of (left shape, right shape) keyed on successive counts.
ARM_CYCLES: dict[str, list[tuple[str, str]]] = {
    "swing": [("swing_fwd", "swing_back"), ("swing_back", "swing_fwd")],
    "pump": [("pump_low", "pump_low"), ("guard", "guard")],
    "punch": [("punch", "guard"), ("guard", "punch")],
    "point_seq": [("diag_up", "hip"), ("point_down", "hip"), ("hip", "side"), ("hip", "hip")],
    "clap": [("side_low", "side_low"), ("clap", "clap")],
    "overhead_sway": [("overhead", "wave_hi"), ("wave_hi", "overhead")],
    "box_hits": [("box_up", "box_down"), ("box_fwd", "box_fwd"), ("box_down", "box_up"),
                 ("side", "chest")],
    "lock_point": [("chest", "chest"), ("diag_up", "point_fwd"), ("hip", "hip"),
                   ("point_fwd", "diag_up")],
    "jazz_sweep": [("jazz_out", "jazz_out"), ("overhead", "overhead"), ("side", "side"),
                   ("down", "down")],
    "toprock_arms": [("side_low", "cross"), ("cross", "side_low")],
    "kpop_seq": [("point_fwd", "hip"), ("cross", "cross"), ("head_touch", "side"),
                 ("chest", "chest")],
    "cute": [("face", "face"), ("paw", "paw"), ("heart", "heart"), ("wave_hi", "hip")],
    "wave": [("wave_hi", "down"), ("wave_lo", "down")],
    "hips": [("hip", "hip"), ("hip", "hip")],
    "punch_up": [("punch_up", "guard"), ("guard", "punch_up")],
}


def arm_pattern(b: PhraseBuilder, t0: int, n: int, cycle: list[tuple[str, str]], ease: str,
                rng, every: int = 1, mirror: bool = False) -> None:
    """Key an arm cycle on counts t0+1, t0+1+every, ... (shapes hit on the counts)."""
    offset = int(rng.integers(0, len(cycle)))
    jitter = rng.normal(0.0, 3.0, 3)
    if t0 == 0:  # the phrase opens already in its style, not from a neutral stance
        left, right = cycle[(offset - 1) % len(cycle)]
        arms(b, 0.0, *((right, left) if mirror else (left, right)), jitter=jitter)
    for i, k in enumerate(range(every, n + 1, every)):
        left, right = cycle[(i + offset) % len(cycle)]
        if mirror:
            left, right = right, left
        arms(b, t0 + k, left, right, ease, jitter)


# ---------------------------------------------------------------- torso accents
def torso_pattern(b: PhraseBuilder, t0: int, n: int, kind: str, amp: float, ease: str) -> None:
    """Torso layer keyed on counts: body roll, hip isolation, contraction/release or twist."""
    for k in range(1, n + 1):
        odd = k % 2 == 1
        if kind == "body_roll":  # chest leads forward, then the hips push through
            b.spine.key(t0 + k, [0.0, (0.32 if odd else -0.12) * amp, 0.0], ease)
            b.chest.key(t0 + k, (-0.15 if odd else 0.15) * amp, ease)
            b.hip.key(t0 + k, [0.0, (-0.1 if odd else 0.12) * amp, 0.0], ease)
        elif kind == "hip_isolation":  # hips pop side to side
            b.hip.key(t0 + k, [0.0, 0.0, (0.16 if odd else -0.16) * amp], ease)
            b.spine.key(t0 + k, [0.0, 0.06, (-0.14 if odd else 0.14) * amp], ease)
        elif kind == "contraction":  # jazz contraction and release
            b.spine.key(t0 + k, [0.0, (0.42 if odd else -0.14) * amp, 0.0], ease)
            b.head.key(t0 + k, [0.0, (0.3 if odd else -0.2) * amp, 0.0], ease)
        elif kind == "twist":  # shoulders twist against the hips
            b.spine.key(t0 + k, [(0.4 if odd else -0.4) * amp, 0.12, 0.0], ease)
            b.hip.key(t0 + k, [(-0.12 if odd else 0.12) * amp, 0.0, 0.0], ease)


TORSO_KINDS = ("body_roll", "hip_isolation", "contraction", "twist")
# Leg patterns that shape the torso themselves (no torso layer on top of them).
LEGS_WITH_TORSO = {"rock_step", "lunge", "get_down", "toprock", "knee_drop", "fresno"}
