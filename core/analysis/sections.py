"""Long fragments (sections) by spectral clustering of a beat-synchronous recurrence graph.

This is McFee & Ellis' Laplacian segmentation (as in librosa's example, paper §3.1 step 1):
beat-synchronous chroma and timbre, a recurrence (repetition) graph plus a sequence graph, the
first eigenvectors of its normalised Laplacian clustered with k-means. Beats in the same cluster
are the same material, so repeated choruses share a label. Section boundaries are then snapped
to downbeats and sections shorter than two bars are merged into their neighbour.
"""

from __future__ import annotations

import numpy as np
from choreo_studio.core.analysis.music_analysis import Section
from choreo_studio.core.audio.spectral import Spectra
from choreo_studio.core.numeric import (
    convolve2d,
    kmeans_pp,
    median_filter1d,
    rotate_quintic,
    smallest_eigh,
)

MIN_CLUSTERS = 2
MIN_CLUSTERS_LONG = 3  # songs of 24+ bars nearly always have 3+ kinds of material, 64+ bars 4+
MAX_CLUSTERS = 6
MIN_SECTION_BARS = 4
N_MFCC = 13
MEMORY_BARS = 4  # each bar is compared with its context of this many bars (a phrase)
_SEQUENCE_WEIGHT = 0.5  # mu in McFee & Ellis: balance of repetition vs. sequence links


def find_sections(
    spectra: Spectra,
    beats_s: np.ndarray,
    downbeats: np.ndarray,
    duration_s: float,
) -> list[Section]:
    """Sections covering [0, duration_s], starting on downbeats, labelled A, B, C… by material."""
    if beats_s.size < 8 or downbeats.size < 2 * MIN_SECTION_BARS:
        return [Section(0.0, float(duration_s), "A")]
    bar_labels = _cluster_bars(spectra, beats_s, downbeats)
    labels = bar_labels[np.clip(np.searchsorted(downbeats, np.arange(beats_s.size), "right") - 1,
                                0, downbeats.size - 1)]
    starts = _snap_to_downbeats(labels, downbeats)
    starts = _merge_short(starts, downbeats)
    return _label_sections(starts, labels, beats_s, duration_s)


def _bar_features(
    spectra: Spectra, beats_s: np.ndarray, downbeats: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Bar-synchronous (chroma + timbre, z-scored) and timbre-only features, [dims, bars]."""
    frames = np.clip(np.round(beats_s[downbeats] * spectra.fps).astype(int), 0,
                     spectra.n_frames - 1)
    mfcc = (_dct_matrix(spectra.logmel_db.shape[0], N_MFCC) @ spectra.logmel_db).astype(
        np.float32)
    bounds = np.unique(np.concatenate([[0], frames[1:], [spectra.n_frames]]))
    chroma_sync = _bar_means(spectra.chroma, bounds)
    mfcc_sync = _bar_means(mfcc, bounds)

    def _z(x: np.ndarray) -> np.ndarray:
        return (x - x.mean(axis=1, keepdims=True)) / (x.std(axis=1, keepdims=True) + 1e-9)

    both = np.vstack([_z(chroma_sync), _z(mfcc_sync)])
    return both, mfcc_sync


def _dct_matrix(n_in: int, n_out: int) -> np.ndarray:
    """[n_out, n_in] orthonormal DCT-II: MFCCs of log-mel frames (librosa.feature.mfcc's)."""
    basis = np.cos(np.pi / n_in * (np.arange(n_in) + 0.5)[None, :] * np.arange(n_out)[:, None])
    basis *= np.sqrt(2.0 / n_in)
    basis[0] /= np.sqrt(2.0)
    return basis


def _bar_means(x: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """[dims, bars] mean of ``x`` over the frames [bounds[i], bounds[i+1]) of each bar."""
    out = np.empty((x.shape[0], bounds.size - 1), dtype=x.dtype)
    for i in range(bounds.size - 1):
        out[:, i] = x[:, bounds[i] : bounds[i + 1]].mean(axis=1)
    return out


def _recurrence(feats: np.ndarray, width: int) -> np.ndarray:
    """[bars, bars] symmetric k-nearest-neighbour affinity of bars at least ``width`` apart,
    exp(-distance / median k-th distance): librosa.segment.recurrence_matrix(mode='affinity',
    sym=True)."""
    x = feats.T.astype(np.float64)
    n = x.shape[0]
    k = int(2 * np.ceil(np.sqrt(n - 2 * width + 1)))
    sq = np.einsum("ij,ij->i", x, x)
    dist = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2.0 * (x @ x.T), 0.0))
    dist = np.minimum(dist, dist.T)
    idx = np.arange(n)
    # librosa's candidates: each bar's k + 2·width nearest others (exact repeats included), of
    # which those at least ``width`` away and not identical are kept, then the k nearest of them
    others = np.where(idx[:, None] == idx[None, :], np.inf, dist)
    candidate = _nearest_mask(others, min(n - 1, k + 2 * width))
    usable = candidate & (np.abs(idx[:, None] - idx[None, :]) >= width) & (dist > 0)
    linked = _nearest_mask(np.where(usable, dist, np.inf), k) & usable
    linked &= linked.T
    kth = np.where(linked.any(axis=1), np.where(linked, dist, -np.inf).max(axis=1), np.nan)
    bandwidth = float(np.nanmedian(kth))
    return np.where(linked, np.exp(-dist / bandwidth), 0.0)


def _nearest_mask(ranked: np.ndarray, count: int) -> np.ndarray:
    """[n, n] True at the ``count`` smallest entries of each row of ``ranked``."""
    n = ranked.shape[0]
    count = min(count, n)
    mask = np.zeros(ranked.shape, dtype=bool)
    if count > 0:
        columns = np.argpartition(ranked, count - 1, axis=1)[:, :count]
        mask[np.arange(n)[:, None], columns] = True
    return mask


def _path_enhance(rec: np.ndarray, window: int) -> np.ndarray:
    """Smooth ``rec`` along diagonals of slopes 1/2…2 (the max over 7 oriented Hann filters):
    librosa.segment.path_enhance(rec, window)."""
    smooth = None
    for ratio in np.logspace(np.log2(0.5), np.log2(2.0), num=7, base=2):
        out = convolve2d(rec, _diagonal_filter(window, float(ratio)))
        smooth = out if smooth is None else np.maximum(smooth, out)
    return np.clip(smooth, 0.0, None)


def _diagonal_filter(window: int, slope: float) -> np.ndarray:
    """A ``window``-point symmetric Hann along a line of ``slope``, summing to 1
    (librosa.filters.diagonal_filter)."""
    hann = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(window) / (window - 1))
    win = np.diag(hann)
    angle = np.arctan(slope)
    if not np.isclose(angle, np.pi / 4):
        win = rotate_quintic(win, 45.0 - angle * 180.0 / np.pi)
    win = np.clip(win, 0.0, None)
    return win / win.sum()


def _normalized_laplacian(graph: np.ndarray) -> np.ndarray:
    """I - D^-1/2 A D^-1/2 of a graph without self-loops (scipy's csgraph.laplacian(normed))."""
    adj = np.array(graph, dtype=np.float64)
    np.fill_diagonal(adj, 0.0)
    degree = adj.sum(axis=0)
    isolated = degree == 0
    root = np.where(isolated, 1.0, np.sqrt(degree))
    adj /= root
    adj /= root[:, None]
    adj *= -1.0
    np.fill_diagonal(adj, 1.0 - isolated)
    return adj


def _cluster_bars(spectra: Spectra, beats_s: np.ndarray, downbeats: np.ndarray) -> np.ndarray:
    """Cluster label per bar (k chosen by the largest eigengap of the Laplacian)."""
    feats, mfcc = _bar_features(spectra, beats_s, downbeats)
    n = feats.shape[1]
    width = max(2, min(MEMORY_BARS, n // 8))
    rec = _path_enhance(_recurrence(feats, width), MEMORY_BARS + 1)
    path_dist = np.sum(np.diff(mfcc, axis=1) ** 2, axis=0)
    sigma = np.median(path_dist) + 1e-9
    path_sim = np.exp(-path_dist / sigma)
    seq = np.diag(path_sim, k=1) + np.diag(path_sim, k=-1)
    deg_path = seq.sum(axis=1)
    deg_rec = rec.sum(axis=1)
    mu = deg_path.dot(deg_path + deg_rec) / (np.sum((deg_path + deg_rec) ** 2) + 1e-9)
    mu = float(np.clip(mu, 0.2, 0.8)) if np.isfinite(mu) else _SEQUENCE_WEIGHT
    graph = mu * rec + (1 - mu) * seq
    # only the first MAX_CLUSTERS + 1 eigenpairs are read: a partial solver, not a full eigh
    evals, evecs = smallest_eigh(_normalized_laplacian(graph), MAX_CLUSTERS + 1)
    evecs = median_filter1d(evecs, 3, axis=0)
    gaps = np.diff(evals[: MAX_CLUSTERS + 1])
    k_min = MIN_CLUSTERS if n < 24 else (MIN_CLUSTERS_LONG if n < 64 else MIN_CLUSTERS_LONG + 1)
    k = int(np.argmax(gaps[k_min - 1 : MAX_CLUSTERS]) + k_min)
    cum = np.cumsum(evecs**2, axis=1) ** 0.5
    x = evecs[:, :k] / (cum[:, k - 1 : k] + 1e-9)
    return kmeans_pp(x, k, np.random.default_rng(0), iters=30)


def _snap_to_downbeats(labels: np.ndarray, downbeats: np.ndarray) -> list[int]:
    """Section start beats: each label change moved to the nearest downbeat (deduplicated)."""
    changes = np.flatnonzero(np.diff(labels)) + 1
    starts = {0}
    for c in changes:
        starts.add(int(downbeats[int(np.argmin(np.abs(downbeats - c)))]))
    if downbeats[0] in starts and downbeats[0] != 0:
        starts.discard(int(downbeats[0]))
    return sorted(starts)


def _merge_short(starts: list[int], downbeats: np.ndarray) -> list[int]:
    """Drop section starts that leave a section shorter than MIN_SECTION_BARS bars."""
    merged = [starts[0]]
    for s in starts[1:]:
        bars = int(np.count_nonzero((downbeats >= merged[-1]) & (downbeats < s)))
        if bars >= MIN_SECTION_BARS:
            merged.append(s)
    if len(merged) > 1:
        tail_bars = int(np.count_nonzero(downbeats >= merged[-1]))
        if tail_bars < MIN_SECTION_BARS:
            merged.pop()
    return merged


def _label_sections(
    starts: list[int], labels: np.ndarray, beats_s: np.ndarray, duration_s: float
) -> list[Section]:
    """Name each section by its majority cluster; letters in order of first appearance."""
    names: dict[int, str] = {}
    sections: list[Section] = []
    ends = starts[1:] + [labels.size]
    for k, (a, b) in enumerate(zip(starts, ends, strict=True)):
        cluster = int(np.bincount(labels[a:b]).argmax())
        name = names.setdefault(cluster, chr(ord("A") + len(names)))
        start_s = 0.0 if k == 0 else float(beats_s[a])
        end_s = float(duration_s) if b >= labels.size else float(beats_s[b])
        if sections and sections[-1].label == name:
            sections[-1] = Section(sections[-1].start_s, end_s, name)
        else:
            sections.append(Section(start_s, end_s, name))
    return sections
