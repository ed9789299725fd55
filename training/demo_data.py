"""A deterministic demo training set: synthesized songs arranged on the demo library by rules.

Labeled songs are written as ``<name>.wav`` + ``<name>.timeline.json`` (the exported timeline
format, exactly what a choreographer's edited project gives); unlabeled songs as ``<name>.wav``.
Songs come from ``resources/demo_song.py`` in its six music styles, each at tempos and in the
meter typical of the style, with energies from 0.3 to 1.0 and one of several structures.

The "expert" rules that arrange a labeled song (one random generator per song, seeded):

1. Style. The song gets a main dance style drawn from its music style's row of
   :data:`STYLE_AFFINITY` (e.g. hip-hop music → hip-hop 60 %, locking 25 %, breaking 15 %);
   each phrase keeps the main style with probability 0.85, otherwise it takes another style
   from the same row (experts mix related styles).
2. Energy. Intros, outros and bridges call for low energy (1), verses for medium (2) and
   choruses for high (3); a calm song (energy < 0.45) lowers verses and choruses by one and
   a driving one (energy > 0.8) raises verses by one. The section is the one the song was
   composed with (what the expert hears), taken at the phrase's midpoint.
3. Amplitude follows the register. The phrases of that style and energy are ranked by their
   extent (the amplitude descriptor, compact → expansive); the expert takes the one at the
   rank matching the song's key within the demo keys (a low key → compact moves, a high key →
   expansive ones), or one of its two neighbours in that ranking with probability 0.4.
4. Repetition. A repeated section (the second chorus) reuses the dance of the same phrase of
   its first occurrence with probability 0.7; otherwise, and never back to back, rule 3 picks.

When a style has no phrase of the wanted energy, the nearest energy is used. Everything is
seeded, so the same arguments give byte-identical songs and timelines.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from choreo_studio.core.choreography.placements import Choreography
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.export.timeline import write_timeline
from choreo_studio.core.library.library import DancePhrase, Library
from choreo_studio.core.phrases.song import open_song
from choreo_studio.core.progress import ProgressFn, no_progress
from choreo_studio.resources.demo_song import DemoSong, DemoSongSpec, render_demo_song

STYLE_AFFINITY: dict[str, tuple[tuple[str, float], ...]] = {
    "pop": (("k-pop", 0.6), ("jazz", 0.25), ("urban", 0.15)),
    "edm": (("popping", 0.6), ("acgn", 0.25), ("urban", 0.15)),
    "hiphop": (("hip-hop", 0.6), ("locking", 0.25), ("breaking", 0.15)),
    "dnb": (("breaking", 0.6), ("popping", 0.25), ("hip-hop", 0.15)),
    "rock": (("urban", 0.6), ("locking", 0.25), ("k-pop", 0.15)),
    "waltz": (("jazz", 0.6), ("acgn", 0.25), ("k-pop", 0.15)),
}
"""Music style of the demo song → dance styles an expert would choose, with their weights."""

TEMPO_RANGE_BPM = {
    "pop": (96, 128),
    "edm": (120, 132),
    "hiphop": (80, 100),
    "dnb": (160, 176),
    "rock": (100, 150),
    "waltz": (84, 150),
}
STRUCTURES: tuple[tuple[tuple[str, int], ...], ...] = (
    (("intro", 4), ("verse", 8), ("chorus", 8), ("verse", 8), ("chorus", 8), ("outro", 4)),
    (("intro", 4), ("verse", 8), ("chorus", 8), ("bridge", 4), ("chorus", 8), ("outro", 4)),
    (("verse", 8), ("chorus", 8), ("verse", 8), ("chorus", 8)),
    (("intro", 4), ("verse", 8), ("chorus", 8), ("outro", 4)),
)
SECTION_ENERGY = {"intro": 1, "outro": 1, "bridge": 1, "verse": 2, "chorus": 3}
KEY_RANGE_MIDI = (50, 61)
KEEP_MAIN_STYLE = 0.85
NEIGHBOUR_PROBABILITY = 0.4
REUSE_REPEATED_SECTION = 0.7


def _norm(style: str) -> str:
    return re.sub(r"[^a-z0-9]", "", style.lower())


def song_spec(
    index: int, seed: int, structures: Sequence[tuple[tuple[str, int], ...]] = STRUCTURES
) -> DemoSongSpec:
    """The ``index``-th demo song of a set: style cycles, the rest drawn from ``(seed, index)``."""
    rng = np.random.default_rng([seed, index, 0xDA7A])
    styles = sorted(STYLE_AFFINITY)
    style = styles[index % len(styles)]
    low, high = TEMPO_RANGE_BPM[style]
    return DemoSongSpec(
        tempo_bpm=float(np.round(rng.uniform(low, high))),
        beats_per_bar=3 if style == "waltz" else 4,
        style=style,
        energy=float(np.round(rng.uniform(0.3, 1.0), 2)),
        structure=tuple(structures[int(rng.integers(len(structures)))]),
        key_midi=int(rng.integers(KEY_RANGE_MIDI[0], KEY_RANGE_MIDI[1] + 1)),
        seed=int(rng.integers(2**31)),
    )


@dataclass
class _Expert:
    """The rule-based arranger of one song (see the module docstring)."""

    library: Library
    rng: np.random.Generator

    def main_style(self, music_style: str) -> str:
        names, weights = zip(*STYLE_AFFINITY[music_style], strict=True)
        return names[int(self.rng.choice(len(names), p=np.asarray(weights)))]

    def phrase_style(self, music_style: str, main: str) -> str:
        if self.rng.random() < KEEP_MAIN_STYLE:
            return main
        others = [s for s, _ in STYLE_AFFINITY[music_style] if s != main]
        return others[int(self.rng.integers(len(others)))]

    def candidates(self, style: str, energy: int) -> list[int]:
        """Library indices of ``style`` at the nearest available energy, compact → expansive."""
        phrases = self.library.phrases
        in_style = [i for i, d in enumerate(phrases) if _norm(d.style) == _norm(style)]
        if not in_style:
            raise ChoreoError(
                f"library {self.library.name}: no {style!r} phrases — the demo data is arranged "
                "on the demo library's styles; pass the demo library"
            )
        levels = sorted({phrases[i].energy for i in in_style}, key=lambda e: (abs(e - energy), e))
        chosen = [i for i in in_style if phrases[i].energy == levels[0]]
        return sorted(chosen, key=lambda i: (_extent(phrases[i]), phrases[i].id))

    def pick(self, candidates: list[int], register: float, previous: int | None) -> int:
        """The candidate at the register's rank, or a neighbour (never ``previous``)."""
        target = int(round(register * (len(candidates) - 1)))
        if self.rng.random() < NEIGHBOUR_PROBABILITY:
            target += int(self.rng.choice([-1, 1]))
        order = sorted(range(len(candidates)), key=lambda r: (abs(r - target), r))
        options = [candidates[r] for r in order if candidates[r] != previous]
        return options[0] if options else candidates[order[0]]


def _extent(phrase: DancePhrase) -> float:
    """The phrase's amplitude descriptor (0 when the library has no descriptors)."""
    return float(phrase.descriptors.get("extent_cm", 0.0))


def _register(spec: DemoSongSpec) -> float:
    """The song's key as a fraction of the demo key range (0 = lowest, 1 = highest)."""
    low, high = KEY_RANGE_MIDI
    return min(max((spec.key_midi - low) / (high - low), 0.0), 1.0)


def _section_at(song: DemoSong, time_s: float) -> tuple[str, int]:
    """The composed section kind at ``time_s`` and its occurrence number (0 = first)."""
    kinds = [s.label for s in song.sections]
    for i, section in enumerate(song.sections):
        if section.start_s <= time_s < section.end_s or i == len(song.sections) - 1:
            return section.label, kinds[:i].count(section.label)
    return kinds[-1], 0


def arrange(song: DemoSong, phrase_spans_s: Sequence[tuple[float, float]], library: Library,
            seed: int) -> list[str]:
    """The expert's dance id for each music phrase of ``song`` (rules of the module docstring)."""
    expert = _Expert(library, np.random.default_rng([seed, song.spec.seed, 0xC0DE]))
    main = expert.main_style(song.spec.style)
    chosen: list[int] = []
    first_time: dict[tuple[str, int], int] = {}
    position_in_section: dict[tuple[str, int], int] = {}
    for start_s, end_s in phrase_spans_s:
        kind, occurrence = _section_at(song, 0.5 * (start_s + end_s))
        position = position_in_section.get((kind, occurrence), 0)
        position_in_section[(kind, occurrence)] = position + 1
        previous = chosen[-1] if chosen else None
        earlier = first_time.get((kind, position))
        if occurrence > 0 and earlier is not None and earlier != previous and (
            expert.rng.random() < REUSE_REPEATED_SECTION
        ):
            chosen.append(earlier)
            continue
        energy = SECTION_ENERGY.get(kind, 2)
        if song.spec.energy < 0.45 and kind in ("verse", "chorus"):
            energy -= 1
        elif song.spec.energy > 0.8 and kind == "verse":
            energy += 1
        style = expert.phrase_style(song.spec.style, main)
        candidates = expert.candidates(style, energy)
        pick = expert.pick(candidates, _register(song.spec), previous)
        chosen.append(pick)
        first_time.setdefault((kind, position), pick)
    return [library.phrases[i].id for i in chosen]


def write_demo_set(
    out_dir: str | os.PathLike[str],
    library: Library,
    *,
    n_labeled: int = 160,
    n_unlabeled: int = 320,
    seed: int = 0,
    song_cache_dir: str | os.PathLike[str] | None = None,
    structures: Sequence[tuple[tuple[str, int], ...]] = STRUCTURES,
    progress: ProgressFn = no_progress,
) -> tuple[Path, Path]:
    """Write ``out_dir/labeled`` (songs + timelines) and ``out_dir/unlabeled`` (songs).

    Existing files are kept (the set is deterministic), so an interrupted run resumes.
    ``structures`` are the song forms drawn from (shorter ones make quicker sets).
    Returns the two folders.
    """
    labeled_dir = Path(out_dir) / "labeled"
    unlabeled_dir = Path(out_dir) / "unlabeled"
    labeled_dir.mkdir(parents=True, exist_ok=True)
    unlabeled_dir.mkdir(parents=True, exist_ok=True)
    total = n_labeled + n_unlabeled
    for index in range(total):
        is_labeled = index < n_labeled
        spec = song_spec(index, seed, structures)
        name = f"demo-{index:04d}-{spec.style}-{spec.tempo_bpm:g}bpm"
        folder = labeled_dir if is_labeled else unlabeled_dir
        wav = folder / f"{name}.wav"
        timeline_path = folder / f"{name}.timeline.json"
        progress(index / total, f"demo song {index + 1}/{total}")
        if wav.is_file() and (not is_labeled or timeline_path.is_file()):
            continue
        song = render_demo_song(spec)
        song.write_wav(wav)
        if not is_labeled:
            continue
        opened = open_song(wav, cache_dir=song_cache_dir)
        spans = [(p.start_s, p.end_s) for p in opened.phrases]
        choreography = Choreography.from_dance_ids(
            arrange(song, spans, library, seed), scorer="demo expert rules", decoder="manual"
        )
        write_timeline(timeline_path, choreography, opened.analysis, opened.phrases, library,
                       song_name=name)
    progress(1.0, "demo set written")
    return labeled_dir, unlabeled_dir


if __name__ == "__main__":
    import sys

    from choreo_studio.training.commands.train import main_stage

    sys.exit(main_stage("demo-data"))
