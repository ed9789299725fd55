"""Choreography quality over real songs, beside real dancers: variety, fit, cuts, drift, beats.

    python benchmarks/bench_quality.py [--data ../shared/data] [--games-dir /usr/share/games]
        [--rendered DIR] [--tang N (0: all)] [--stage-radius M] [--sheets OUTDIR] [--matcher]
        [--tang-library DIR]

Songs: the demo song, the Tang songs (``tang2018/*/audio.ogg``; all, or the first N), the Debian
game songs ``frantic.ogg``, ``traveling_minstrels.ogg`` (wesnoth-1.16-music) and
``frozen-mainzik-2p.ogg`` (frozen-bubble-data) when installed, and beats-midi pieces whose
audio was rendered into ``--rendered`` (scored against their ground-truth beats too). Each is
choreographed with the defaults (demo library, bundled model) and judged by
:func:`core.choreography.metrics.evaluate`.
The real dancers' own figures come straight from the Tang joint positions (25 fps, their own
floor), on the same definitions. Targets of issue 12 are checked per song with >= 10 phrases.

``d/r`` is distinct/phrases with a dance repeated on repeated music (a section's tied
phrases) counted once; ``max`` is the most uses of one dance, ``mu`` the same counting a
repeated section's tied phrases once (uses beyond two there are a missed target unless the fit
floor forced them).
``low`` counts placements below half their phrase's best fit (``*``: some of them forced by the
no-back-to-back rule, every admissible dance being a neighbour's). Beat hits are shown raw
(``hit``), at chance (``chance``: the same kinematic beats at random phase) and corrected
(``>ch`` = (hit − chance) / (1 − chance)), since the raw rate rises with the tempo (see
:mod:`core.choreography.metrics`). ``--matcher`` scores with the descriptor matcher instead of
the bundled model. ``--tang-library`` (a library imported from ``tang2018`` by ``choreo library
import``) also choreographs each of the first N Tang songs with that library less the song's
own dance (leave one dance out, descriptor matcher): our output from real ballroom motion
beside the real dancer on the same song, over the span the dancer danced, as hit rates of
Lee et al.'s offsets and of foot plants (``foot``: :func:`kinematic_beats.contact_onset_beats`)
in points and above chance, with the issue's "within 5 points" check.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from pathlib import Path

import numpy as np
from choreo_studio.core.choreography.beat_warp import plan_segments
from choreo_studio.core.choreography.engine import Engine, load_engine
from choreo_studio.core.choreography.metrics import (
    HIT_TOLERANCE_S,
    above_chance,
    beat_align_score_aist,
    chance_hit_rate,
    evaluate,
    motion_figures,
    near_times,
)
from choreo_studio.core.library.library import DancePhrase, Library
from choreo_studio.core.library.transition_prior import build_transition_prior
from choreo_studio.core.motion import contacts
from choreo_studio.core.motion.kinematic_beats import (
    beat_hit_rate,
    contact_onset_beats,
    offset_beats,
    velocity_minima_beats,
)
from choreo_studio.core.phrases.song import open_song
from choreo_studio.core.retrieval.scoring import DescriptorMatcher

GAME_SONGS = ("frantic.ogg", "traveling_minstrels.ogg", "frozen-mainzik-2p.ogg")
TANG_FPS = 25.0
FOOT_BAND_CM = 15.0  # Tang foot points: joints whose median height is this close to the lowest
TANG_SECOND_LEG = 12  # Tang points 7-11 are one leg (hip to toe), 16-20 the other


def songs(args) -> list[tuple[str, Path, np.ndarray | None]]:
    """(name, audio, ground-truth beats or None) of every benchmark song found."""
    from choreo_studio.resources.demo_song import render_demo_song

    tmp = Path(tempfile.mkdtemp(prefix="bench_quality_"))
    out = [("demo", render_demo_song().write_wav(tmp / "demo.wav"), None)]
    tang = sorted((args.data / "tang2018").glob("DANCE_*/audio.*"))[: args.tang or None]
    out += [(f"tang {p.parent.name}", p, None) for p in tang]
    for name in GAME_SONGS:
        found = sorted(args.games_dir.rglob(name)) if args.games_dir.is_dir() else []
        if found:
            out.append((name, found[0], None))
    if args.rendered:
        for truth in sorted((args.data / "beats-midi").glob("*.beats.json")):
            stem = truth.name[: -len(".beats.json")]
            audio = sorted(p for p in args.rendered.glob(stem + ".*") if p.suffix != ".json")
            if audio:
                beats = np.asarray(json.loads(truth.read_text())["beats_s"], np.float64)
                out.append((f"midi {stem}", audio[0], beats))
    return out


def ours(engine, name: str, audio: Path, truth, radius_cm, sheets: Path | None,
         span: tuple[float, float] | None = None) -> dict:
    """Choreograph one song with the defaults and measure it (``span``: also the beat figures
    over that stretch of the song, where a real dancer danced)."""
    song = open_song(audio)
    choreo = engine.solve(song)
    engine.stage_radius_cm = radius_cm
    motion = engine.render(song, choreo, fps=30.0)
    segments = plan_segments(choreo, song.analysis.beats_s, song.phrases, engine.library)
    cuts = [s.start_s for s in segments[1:]]
    probs = engine.probabilities(song)
    idx = [engine.library.index_of(d) for d in choreo.dance_ids]
    m = evaluate(choreo, motion, song.analysis.beats_s, song.phrases, cuts_s=cuts,
                 scores=probs, dance_indices=idx, reference_beats_s=truth)
    if sheets is not None:
        cut_sheet(motion, cuts, sheets / f"cuts_{name.replace(' ', '_')}.png", name)
    row = m.to_dict() | {"song": name, "phrases": len(song.phrases)}
    if span is not None:  # beside a real dancer: the beat figures over the span it dances
        feet, owner = contacts.foot_positions(motion)
        pos = motion.fk()
        row["span"] = span_beats(offset_beats(pos, motion.fps) / motion.fps,
                                 contact_onset_beats(feet, owner, motion.fps) / motion.fps,
                                 song.analysis.beats_s, span)
    return row


def beat_figures(kinematic_s: np.ndarray, beats_s: np.ndarray, span: tuple[float, float]
                 ) -> tuple[float, float, float]:
    """(hit, chance, above chance) of the kinematic beats inside ``span`` (s)."""
    lo, hi = span
    k = kinematic_s[(kinematic_s >= lo) & (kinematic_s <= hi)]
    inside = beats_s[(beats_s >= lo) & (beats_s <= hi)]
    hit, chance = beat_hit_rate(k, inside, HIT_TOLERANCE_S), chance_hit_rate(
        k, inside, HIT_TOLERANCE_S)
    return hit, chance, above_chance(hit, chance)


def span_beats(offsets_s: np.ndarray, plants_s: np.ndarray, beats_s: np.ndarray,
               span: tuple[float, float]) -> dict[str, tuple[float, float, float]]:
    """Beat figures of Lee et al.'s offsets and of the foot plants over ``span``."""
    return {"offsets": beat_figures(offsets_s, beats_s, span),
            "contacts": beat_figures(plants_s, beats_s, span)}


def without_dance(library: Library, take: str) -> Library:
    """``library`` less the phrases cut from the take ``take`` (leave one dance out)."""
    kept = [p for p in library.phrases if str(p.source.get("take", "")) != take]
    return Library(f"{library.name} without {take}", library.skeleton, kept,
                   build_transition_prior(kept))


def cut_sheet(motion, cuts: list[float], path: Path, title: str, n_rows: int = 4) -> None:
    """A contact sheet of the cuts with the fastest joint: 8 poses over ±0.4 s each."""
    from choreo_studio.core.export.preview import contact_sheet

    pos = motion.fk()
    rel = pos - pos[:, :1]
    speed = np.linalg.norm(np.gradient(rel, axis=0), axis=-1).max(axis=1) * motion.fps
    half = int(round(0.4 * motion.fps))
    scored = []
    for c in cuts:
        mask = near_times(motion.n_frames, motion.fps, [c])
        scored.append((float(speed[mask].max()) if mask.any() else 0.0, c))
    rows = []
    for peak, c in sorted(scored, reverse=True)[:n_rows]:
        f = int(round(c * motion.fps))
        lo, hi = max(0, f - half), min(motion.n_frames, f + half)
        clip = motion.trim(lo, hi)
        counts = np.linspace(0, clip.n_frames - 1, 8).round().astype(np.int64)
        rows.append(DancePhrase(
            id=f"cut {c:.2f} s", name=f"{title}: peak {peak / 100:.1f} m/s, frames {lo}-{hi}",
            style="", energy=1, tags=[], n_counts=8, bpm=120.0, count_frames=counts,
            motion=clip, descriptors={}))
    if rows:
        path.parent.mkdir(parents=True, exist_ok=True)
        contact_sheet(rows, path)


def dancer(folder: Path) -> dict:
    """The real dancer's own figures from a Tang folder's joint positions and its song."""
    data = json.loads((folder / "skeletons.json").read_text())
    config = json.loads((folder / "config.json").read_text())
    # the points are relative to the dancer's centre; the centre carries the travel
    pos = (np.asarray(data["skeletons"], np.float64)
           + np.asarray(data["center"], np.float64)[:, None, :])
    span = float(config["end_position"] - config["start_position"])
    scale = span / max(pos.shape[0], 1)  # the two clocks disagree by up to 2 %
    t0 = config["start_position"] / TANG_FPS
    heights = np.median(pos[..., 1], axis=0)
    feet = np.nonzero(heights <= heights.min() + FOOT_BAND_CM)[0]
    points = pos[:, feet]
    owner = (feet >= TANG_SECOND_LEG).astype(np.int64)
    floor = contacts.floor_height(points)
    song = open_song(folder / "audio.ogg")
    beats = song.analysis.beats_s
    lo, hi = t0, t0 + span / TANG_FPS
    inside = beats[(beats >= lo) & (beats <= hi)]
    kin = t0 + offset_beats(pos, TANG_FPS) * scale / TANG_FPS
    plants = t0 + contact_onset_beats(points, owner, TANG_FPS) * scale / TANG_FPS
    align = t0 + velocity_minima_beats(pos, TANG_FPS) * scale / TANG_FPS
    fig = motion_figures(pos, points, np.asarray(data["center"], np.float64), TANG_FPS, [],
                         floor)
    figures = span_beats(kin, plants, beats, (lo, hi))
    hit, chance, above = figures["offsets"]
    return {"song": f"real {folder.name}", "beat_hit_rate": hit, "beat_hit_chance": chance,
            "beat_hit_above_chance": above, "span": figures, "span_s": (lo, hi),
            "contact_hit_rate": figures["contacts"][0],
            "contact_hit_chance": figures["contacts"][1],
            "contact_hit_above_chance": figures["contacts"][2],
            "beat_coverage": kin.size / max(inside.size, 1),
            "beat_align_score": beat_align_score_aist(align, inside),
            "skating_inside_cm_s": fig.skating_inside_cm_s,
            "peak_speed_inside_m_s": fig.peak_speed_inside_m_s,
            "root_drift_m": fig.root_drift_m}


def fmt(v, spec: str) -> str:
    """A number or '-'."""
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def targets(row: dict) -> list[str]:
    """The issue-12 targets this song misses (only for songs with >= 10 phrases)."""
    if row.get("phrases", 0) < 10:
        return []
    miss = []
    if row["distinct_per_phrase"] < 0.7:
        beside = row["distinct_beside_repeats"]
        miss.append("distinct/phrases < 0.7" + (
            f" ({beside:.2f} with a dance repeated on repeated music counted once)"
            if beside is not None and beside >= 0.7 else ""))
    free = row["overused_placements"] - row["overuse_forced"]
    if free:
        miss.append(f"{free} uses of a dance beyond 2 where the music does not repeat")
    free = row["low_fit_placements"] - row["low_fit_forced"]
    if free:
        miss.append(f"{free} placements below half the best fit (not forced)")
    near, inside = row["skating_near_cuts_cm_s"], row["skating_inside_cm_s"]
    if near is not None and inside is not None and near > 2 * max(inside, 0.5):
        miss.append("skating near cuts > 2x inside (inside floored at 0.5 cm/s)")
    if (row["floor_penetration_cm"] or 0.0) > 0.5:
        miss.append("floor penetration > 0.5 cm")
    if row["root_drift_m"] > 1.5:
        miss.append("root drift > 1.5 m")
    return miss


HEAD = (f"{'song':<34} {'ph':>3} {'dist':>5} {'d/r':>4} {'max':>3} {'mu':>2} {'ret':>3} "
        f"{'fit':>11} {'low':>3} {'skate cut/in':>12} {'pen':>5} {'peak cut/in':>11} "
        f"{'drift':>5} {'hit':>5} {'chance':>6} {'>ch':>5} {'foot>ch':>7} {'cov':>5} {'BAS':>5} "
        f"{'ref hit':>7}")


def print_row(name: str, r: dict) -> None:
    """One song's line of the main table and the targets it misses."""
    print(f"{name[:34]:<34} {r['phrases']:>3} {fmt(r['distinct_per_phrase'], '.2f'):>5} "
          f"{fmt(r['distinct_beside_repeats'], '.2f'):>4} {r['max_uses']:>3} "
          f"{r['max_unit_uses']:>2} {r['returns_within_2']:>3} "
          f"{fmt(r['mean_fit'], '.3f'):>5}/{fmt(r['mean_best_fit'], '.3f'):<5} "
          f"{r['low_fit_placements']:>2}{'*' * bool(r['low_fit_forced']):<1} "
          f"{fmt(r['skating_near_cuts_cm_s'], '.1f'):>5}/"
          f"{fmt(r['skating_inside_cm_s'], '.1f'):<6} "
          f"{fmt(r['floor_penetration_cm'], '.2f'):>5} "
          f"{fmt(r['peak_speed_near_cuts_m_s'], '.1f'):>5}/"
          f"{fmt(r['peak_speed_inside_m_s'], '.1f'):<5} {fmt(r['root_drift_m'], '.2f'):>5} "
          f"{fmt(r['beat_hit_rate'], '.2f'):>5} {fmt(r['beat_hit_chance'], '.2f'):>6} "
          f"{fmt(r['beat_hit_above_chance'], '.2f'):>5} "
          f"{fmt(r['contact_hit_above_chance'], '.2f'):>7} {fmt(r['beat_coverage'], '.2f'):>5} "
          f"{fmt(r['beat_align_score'], '.3f'):>5} {fmt(r['reference_hit_rate'], '.2f'):>7}")
    if r["overuse_forced"]:
        print(f"    {r['overuse_forced']} uses of a dance beyond 2 forced by the fit floor")
    for miss in targets(r):
        print(f"    target missed: {miss}")
    sys.stdout.flush()


def print_dancers(real: list[dict]) -> None:
    """The real dancers' own figures."""
    print("\nreal dancers (Tang joint positions, their own floor):")
    print(f"{'dance':<22} {'hit':>5} {'chance':>6} {'>ch':>5} {'foot hit':>8} {'>ch':>5} "
          f"{'cov':>5} {'BAS':>5} {'skate':>6} {'peak':>5} {'drift':>5}")
    for r in real:
        print(f"{r['song']:<22} {r['beat_hit_rate']:>5.2f} {r['beat_hit_chance']:>6.2f} "
              f"{r['beat_hit_above_chance']:>5.2f} {r['contact_hit_rate']:>8.2f} "
              f"{r['contact_hit_above_chance']:>5.2f} {r['beat_coverage']:>5.2f} "
              f"{r['beat_align_score']:>5.3f} {r['skating_inside_cm_s']:>6.1f} "
              f"{r['peak_speed_inside_m_s']:>5.1f} {r['root_drift_m']:>5.2f}")


def print_beside(real: list[dict], ours_rows: list[dict]) -> None:
    """Ours (Tang library less the song's dance) beside the real dancer on the same span of
    the same song: hit rate in points and above chance, offsets and foot contacts, and the
    issue's target (hit rate within 5 points of the real dancer's)."""
    print("\nbeside the real dancer (same song, same span; hit % / above chance):")
    print(f"{'song':<12} {'offsets real':>13} {'ours':>11} {'d pts':>6} {'contacts real':>14} "
          f"{'ours':>11} {'d pts':>6}  within 5 points")
    for r, o in zip(real, ours_rows, strict=True):
        cells, ok = [], []
        for kind in ("offsets", "contacts"):
            (hr, _, ar), (ho, _, ao) = r["span"][kind], o["span"][kind]
            cells.append(f"{100 * hr:>7.1f}/{ar:+.2f} {100 * ho:>5.1f}/{ao:+.2f} "
                         f"{100 * (ho - hr):>+6.1f}")
            ok.append(abs(ho - hr) <= 0.05)
        print(f"{r['song'][5:]:<12} {cells[0]} {' ' * 1}{cells[1]}  "
              f"{'yes' if ok[0] else 'no'} / {'yes' if ok[1] else 'no'}")
    cells = []
    for kind in ("offsets", "contacts"):
        hr, ar = (np.mean([x["span"][kind][i] for x in real]) for i in (0, 2))
        ho, ao = (np.mean([x["span"][kind][i] for x in ours_rows]) for i in (0, 2))
        cells.append((f"{100 * hr:>7.1f}/{ar:+.2f} {100 * ho:>5.1f}/{ao:+.2f} "
                      f"{100 * (ho - hr):>+6.1f}", abs(ho - hr) <= 0.05))
    print(f"{'the set':<12} {cells[0][0]} {cells[1][0]}  {'yes' if cells[0][1] else 'no'} / "
          f"{'yes' if cells[1][1] else 'no'}  (means over {len(real)} dances)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--games-dir", type=Path, default=Path("/usr/share/games"))
    parser.add_argument("--rendered", type=Path, help="folder of rendered beats-midi audio")
    parser.add_argument("--tang", type=int, default=0,
                        help="only the first N Tang songs (default 0: all)")
    parser.add_argument("--stage-radius", type=float, default=None, metavar="M",
                        help="stage radius in metres (default: the engine's; 0: none)")
    parser.add_argument("--sheets", type=Path, help="write contact sheets of the worst cuts")
    parser.add_argument("--json", type=Path, help="also write every row as JSON")
    parser.add_argument("--matcher", action="store_true",
                        help="score with the descriptor matcher instead of the bundled model")
    parser.add_argument("--tang-library", type=Path, metavar="DIR",
                        help="a library imported from tang2018: also choreograph the Tang songs "
                        "with it, each less its own dance")
    args = parser.parse_args()
    engine = load_engine(use_model=not args.matcher)
    radius = (engine.stage_radius_cm if args.stage_radius is None
              else 100.0 * args.stage_radius or None)
    folders = sorted((args.data / "tang2018").glob("DANCE_*"))[: args.tang or None]
    real = [dancer(folder) for folder in folders]
    print(f"scorer: {engine.scorer_name}  (mu: most uses counting repeated music once; "
          f"foot>ch: foot contacts' hit above chance)")
    print(HEAD)
    rows = []
    for name, audio, truth in songs(args):
        rows.append(ours(engine, name, audio, truth, radius, args.sheets))
        print_row(name, rows[-1])
    beside = []
    if args.tang_library:
        tang_library = Library.load(args.tang_library)
        for folder, r in zip(folders, real, strict=True):
            lib = without_dance(tang_library, folder.name)
            name = f"tang-lib {folder.name}"
            beside.append(ours(Engine(lib, DescriptorMatcher(lib)), name, folder / "audio.ogg",
                               None, radius, args.sheets, span=r["span_s"]))
            print_row(name, beside[-1])
    print_dancers(real)
    if beside:
        print_beside(real, beside)
    if args.json:
        args.json.write_text(json.dumps(rows + beside + real, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
