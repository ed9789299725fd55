"""Top-k accuracy of dance-phrase retrieval on held-out songs, with the two baselines.

The paper's index accuracy (Table 1): a music phrase counts as a hit at k when the expert's
dance phrase is among the k highest-scored of the K library phrases. Baselines: chance (k/K)
and the most-frequent classifier, which always proposes the k dance phrases used most often in
the training labels. Runs as ``python -m training.evaluate`` (``choreo train evaluate``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def topk_hits(scores: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Boolean [N]: is ``labels[i]`` among the ``k`` largest ``scores[i]``? (ties: lower index)"""
    scores = np.asarray(scores)
    labels = np.asarray(labels, dtype=np.int64)
    k = min(k, scores.shape[1])
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return (top == labels[:, None]).any(axis=1)


def topk_accuracy(scores: np.ndarray, labels: np.ndarray, ks: Sequence[int]) -> dict[int, float]:
    """Fraction of rows whose label is in the top k, for each k."""
    if len(labels) == 0:
        return {k: float("nan") for k in ks}
    return {k: float(topk_hits(scores, labels, k).mean()) for k in ks}


def chance_topk(n_dances: int, ks: Sequence[int]) -> dict[int, float]:
    """Expected top-k accuracy of a uniformly random ranking of K phrases."""
    return {k: min(k, n_dances) / n_dances for k in ks}


def most_frequent_topk(
    train_labels: np.ndarray, test_labels: np.ndarray, n_dances: int, ks: Sequence[int]
) -> dict[int, float]:
    """Top-k accuracy of always proposing the k most frequent training labels."""
    counts = np.bincount(np.asarray(train_labels, dtype=np.int64), minlength=n_dances)
    scores = np.broadcast_to(counts.astype(np.float64), (len(test_labels), n_dances))
    return topk_accuracy(scores, test_labels, ks)


def accuracy_report(
    scores: np.ndarray,
    test_labels: np.ndarray,
    train_labels: np.ndarray,
    n_dances: int,
    ks: Sequence[int] = (1, 5, 10),
) -> dict[str, dict[str, float]]:
    """Model, chance and most-frequent top-k on the held-out phrases, keyed ``top1`` …"""

    def named(values: dict[int, float]) -> dict[str, float]:
        return {f"top{k}": v for k, v in values.items()}

    return {
        "model": named(topk_accuracy(scores, test_labels, ks)),
        "chance": named(chance_topk(n_dances, ks)),
        "most_frequent": named(most_frequent_topk(train_labels, test_labels, n_dances, ks)),
        "n_test_phrases": {"count": float(len(test_labels))},
    }


def format_report(report: dict[str, dict[str, float]]) -> str:
    """A small fixed-width table of a report from :func:`accuracy_report`."""
    keys = [k for k in report["model"]]
    lines = [f"{'':16}" + "".join(f"{k:>9}" for k in keys)]
    for row in ("model", "most_frequent", "chance"):
        lines.append(f"{row:16}" + "".join(f"{100 * report[row][k]:8.1f}%" for k in keys))
    lines.append(f"held-out phrases: {int(report['n_test_phrases']['count'])}")
    return "\n".join(lines)



# --- the real-data protocol: split by song, genre and own-phrase retrieval, song bootstrap ---


def song_folds(groups: Sequence[str], styles: Sequence[str], n_folds: int | None,
               seed: int = 0) -> list[np.ndarray]:
    """Test-song indices of each fold: leave-one-song-out (``n_folds`` None) or ``n_folds``
    folds dealt round-robin inside each style (hash order), so every fold mixes genres; a
    song (its ``group``) is in exactly one fold."""
    import hashlib

    keys = sorted(set(groups))
    if n_folds is None or n_folds >= len(keys):
        folds = [[k] for k in keys]
    else:
        style_of = {g: s for g, s in zip(groups, styles, strict=True)}
        ranked = sorted(keys, key=lambda g: (style_of[g], hashlib.sha256(
            f"{seed}:{g}".encode()).hexdigest()))
        folds = [ranked[i::n_folds] for i in range(n_folds)]
    groups = np.asarray(groups)
    return [np.flatnonzero(np.isin(groups, f)) for f in folds if f]


def own_dance_mask(test_groups: Sequence[str], library_groups: Sequence[str]) -> np.ndarray:
    """Boolean [N, K]: library phrase k comes from the dance of test phrase i's song."""
    return np.asarray(test_groups)[:, None] == np.asarray(library_groups)[None, :]


def genre_precision(scores: np.ndarray, exclude: np.ndarray, library_styles: Sequence[str],
                    true_styles: Sequence[str], ks: Sequence[int]) -> np.ndarray:
    """[N, len(ks)]: share of the k best library phrases (``exclude`` removed) whose genre is
    the phrase's; chance is the genre's share of the remaining library."""
    masked = np.where(exclude, -np.inf, np.asarray(scores, np.float64))
    order = np.argsort(-masked, axis=1, kind="stable")
    right = np.asarray(library_styles)[order] == np.asarray(true_styles)[:, None]
    return np.stack([right[:, :k].mean(axis=1) for k in ks], axis=1)


def genre_chance(exclude: np.ndarray, library_styles: Sequence[str],
                 true_styles: Sequence[str]) -> np.ndarray:
    """[N]: the phrase's genre share of the library left after ``exclude``."""
    same = np.asarray(library_styles)[None, :] == np.asarray(true_styles)[:, None]
    kept = ~exclude
    return (same & kept).sum(axis=1) / np.maximum(kept.sum(axis=1), 1)


def own_phrase_hits(scores: np.ndarray, labels: np.ndarray, ks: Sequence[int]) -> np.ndarray:
    """[N, len(ks)] 0/1: the time-aligned own phrase is among the k best of the whole library."""
    return np.stack([topk_hits(scores, labels, k) for k in ks], axis=1).astype(np.float64)


def balanced_mean(values: np.ndarray, styles: np.ndarray, genres: Sequence[str]) -> np.ndarray:
    """Mean over ``genres`` of each genre's mean row (NaN where a genre has no row)."""
    per = [values[styles == g].mean(axis=0) for g in genres if np.any(styles == g)]
    return np.mean(per, axis=0) if per else np.full(values.shape[1:], np.nan)


def cluster_bootstrap(values: np.ndarray, songs: np.ndarray, styles: np.ndarray,
                      genres: Sequence[str], n_boot: int = 1000, seed: int = 0
                      ) -> tuple[np.ndarray, np.ndarray]:
    """95 % interval of the balanced mean, resampling songs (with replacement) inside each
    genre: phrases of one song move together."""
    rng = np.random.default_rng(seed)
    by_genre = {g: [np.flatnonzero(songs == s) for s in np.unique(songs[styles == g])]
                for g in genres if np.any(styles == g)}
    stats = []
    for _ in range(n_boot):
        rows, row_styles = [], []
        for g, clusters in by_genre.items():
            pick = rng.integers(0, len(clusters), len(clusters))
            idx = np.concatenate([clusters[i] for i in pick])
            rows.append(values[idx])
            row_styles += [g] * idx.size
        stats.append(balanced_mean(np.concatenate(rows), np.array(row_styles), list(by_genre)))
    stats = np.asarray(stats)
    return np.nanpercentile(stats, 2.5, axis=0), np.nanpercentile(stats, 97.5, axis=0)


SONG_POOLING = 1.0
"""β of :func:`song_genre_pooling` in the protocol (1: the phrase's posterior times the song's
genre posterior; not tuned — 0 is reported too, as phrase by phrase)."""


def song_genre_pooling(probs: np.ndarray, exclude: np.ndarray, songs: Sequence[str],
                       library_styles: Sequence[str], beta: float = SONG_POOLING) -> np.ndarray:
    """Log-scores [N, K]: log P(d | u) renormalised over the library left after ``exclude``,
    plus β × the mean over the phrase's song of log P(genre of d | u) — genre is a property
    of the song, so its phrases vote (blind: only the song's own phrases' scores)."""
    logp = np.log(np.maximum(np.asarray(probs, np.float64), 1e-300))
    logp = np.where(exclude, -np.inf, logp)
    logp -= logp.max(axis=1, keepdims=True)
    total = np.exp(logp).sum(axis=1, keepdims=True)
    logp -= np.log(total)
    p = np.exp(logp)
    if beta == 0:
        return logp
    styles = np.asarray(library_styles)
    member = (np.unique(styles)[:, None] == styles[None, :]).astype(np.float64)  # [G, K]
    log_genre = np.log(p @ member.T + 1e-9)  # [N, G]
    songs = np.asarray(songs)
    pooled = np.zeros_like(log_genre)
    for song in np.unique(songs):
        rows = songs == song
        pooled[rows] = log_genre[rows].mean(axis=0)
    return logp + beta * pooled @ member


def most_frequent_scores(train_labels: np.ndarray, n_test: int, n_dances: int) -> np.ndarray:
    """Scores of the most-frequent baseline: each library phrase's count in the training labels."""
    counts = np.bincount(np.asarray(train_labels, np.int64), minlength=n_dances).astype(float)
    return np.broadcast_to(counts, (n_test, n_dances))


def protocol_report(
    methods: dict[str, np.ndarray],
    labels: np.ndarray,
    songs: Sequence[str],
    styles: Sequence[str],
    library_styles: Sequence[str],
    library_groups: Sequence[str],
    octave_error: np.ndarray,
    ks: Sequence[int] = (1, 5, 10),
    n_boot: int = 1000,
    pooling: float = SONG_POOLING,
    differences: Sequence[tuple[str, str]] = (),
) -> dict:
    """Genre precision@k (own dance removed) per genre and balanced over the genres with two
    or more dances (the others apart), own-phrase recall@k, each with a song-clustered 95 %
    interval, per method plus chance; the same split by the analysis' tempo-octave errors.

    ``methods`` give probabilities [N, K]; every method is ranked after the same
    :func:`song_genre_pooling` (β = ``pooling``), against the library without the song's own
    dance for genre and the whole library for the own phrase; the phrase-by-phrase genre
    figures (β = 0) are kept as ``genre_phrase``. For each (a, b) of ``differences`` the
    paired difference a − b over the same phrases, with its song-clustered interval (over all
    phrases), is in ``report["differences"]``."""
    songs, styles = np.asarray(songs), np.asarray(styles)
    octave_error = np.asarray(octave_error, bool)
    exclude = own_dance_mask(songs, library_groups)
    lib_groups, lib_styles = np.asarray(library_groups), np.asarray(library_styles)
    dances_of = {g: np.unique(lib_groups[lib_styles == g]).size for g in np.unique(styles)}
    genres = sorted(g for g in np.unique(styles) if dances_of[g] >= 2)
    apart = sorted(set(np.unique(styles)) - set(genres))
    chance_genre = np.repeat(genre_chance(exclude, library_styles, styles)[:, None], len(ks), 1)
    chance_own = np.tile([min(k, len(library_styles)) / len(library_styles) for k in ks],
                         (len(labels), 1))
    none = np.zeros_like(exclude)
    tables = {name: (genre_precision(song_genre_pooling(s, exclude, songs, library_styles,
                                                        pooling), exclude, library_styles,
                                     styles, ks),
                     own_phrase_hits(song_genre_pooling(s, none, songs, library_styles, pooling),
                                     labels, ks),
                     genre_precision(s, exclude, library_styles, styles, ks))
              for name, s in methods.items()}
    tables["chance"] = (chance_genre, chance_own, chance_genre)
    report: dict = {"ks": list(ks), "genres": genres, "apart": apart, "methods": {},
                    "n_phrases": int(len(labels)), "n_songs": int(np.unique(songs).size),
                    "octave_error_songs": sorted(set(songs[octave_error].tolist()))}
    for name, (genre, own, phrase) in tables.items():
        entry = {}
        for label, rows in (("all", np.ones(len(labels), bool)), ("octave_ok", ~octave_error),
                            ("octave_error", octave_error)):
            if not rows.any():
                continue
            g, o, s, st = genre[rows], own[rows], songs[rows], styles[rows]
            lo, hi = cluster_bootstrap(np.concatenate([g, o], 1), s, st, genres, n_boot)
            n = len(ks)
            entry[label] = {
                "genre_balanced": _interval(balanced_mean(g, st, genres), lo[:n], hi[:n], ks),
                "own_recall": _interval(balanced_mean(o, st, genres), lo[n:], hi[n:], ks),
                "genre_phrase": _values(balanced_mean(phrase[rows], st, genres), ks),
                "per_genre": {x: _values(g[st == x].mean(axis=0), ks)
                              for x in genres + apart if np.any(st == x)},
                "n_phrases": int(rows.sum()),
            }
        report["methods"][name] = entry
    report["differences"] = {}
    n = len(ks)
    for a, b in differences:
        diff = np.concatenate([tables[a][0] - tables[b][0], tables[a][1] - tables[b][1]], 1)
        lo, hi = cluster_bootstrap(diff, songs, styles, genres, n_boot)
        value = balanced_mean(diff, styles, genres)
        report["differences"][f"{a} - {b}"] = {
            "genre_balanced": _interval(value[:n], lo[:n], hi[:n], ks),
            "own_recall": _interval(value[n:], lo[n:], hi[n:], ks)}
    return report


def _values(v: np.ndarray, ks: Sequence[int]) -> dict[str, float]:
    return {f"top{k}": round(float(x), 4) for k, x in zip(ks, v, strict=True)}


def _interval(v: np.ndarray, lo: np.ndarray, hi: np.ndarray, ks: Sequence[int]) -> dict:
    return {f"top{k}": [round(float(a), 4), round(float(b), 4), round(float(c), 4)]
            for k, a, b, c in zip(ks, v, lo, hi, strict=True)}


def format_protocol(report: dict, subset: str = "all") -> str:
    """Balanced genre precision and own-phrase recall with intervals, one row per method."""
    ks = report["ks"]
    head = "".join(f"{'genre@' + str(k):>20}" for k in ks) + "".join(
        f"{'own@' + str(k):>20}" for k in ks)
    lines = [f"{'method':22}{head}"]
    for name, entry in report["methods"].items():
        if subset not in entry:
            continue
        cells = [entry[subset][part][f"top{k}"] for part in ("genre_balanced", "own_recall")
                 for k in ks]
        lines.append(f"{name:22}" + "".join(f"{100 * v:6.1f} [{100 * a:4.1f},{100 * b:5.1f}]"
                                            for v, a, b in cells))
    lines.append("genre phrase by phrase (no song pooling), genre@1: " + ", ".join(
        f"{name} {100 * e[subset]['genre_phrase']['top1']:.1f}"
        for name, e in report["methods"].items() if subset in e and "genre_phrase" in e[subset]))
    lines.append(f"balanced over {', '.join(report['genres'])} ({subset}); reported apart: "
                 f"{', '.join(report['apart']) or 'none'}; {report['n_phrases']} phrases of "
                 f"{report['n_songs']} songs; tempo-octave errors of the analysis in: "
                 f"{', '.join(report['octave_error_songs']) or 'none'}")
    if subset == "all":
        for name, d in report.get("differences", {}).items():
            g, o = d["genre_balanced"]["top1"], d["own_recall"][f"top{ks[-1]}"]
            lines.append(f"paired difference {name} (same phrases, songs resampled): genre@1 "
                         f"{100 * g[0]:+.1f} [{100 * g[1]:+.1f}, {100 * g[2]:+.1f}], "
                         f"own@{ks[-1]} {100 * o[0]:+.1f} [{100 * o[1]:+.1f}, {100 * o[2]:+.1f}]")
    for name, entry in report["methods"].items():
        if subset in entry:
            per = entry[subset]["per_genre"]
            lines.append(f"  {name} top-1 genre per genre: " + ", ".join(
                f"{g} {100 * v['top1']:.1f}%" for g, v in per.items()))
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    from choreo_studio.training.commands.train import main_stage

    sys.exit(main_stage("evaluate"))
