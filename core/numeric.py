"""The few scipy routines the analysis path needs, in numpy (any scipy import costs ~1 s).

Each follows scipy's definition (boundary modes, window origins, summation order where it is
cheap to keep) and is tested against scipy: ``ndimage``'s 1-D uniform, Gaussian, maximum and
median filters, a 2-D ``convolve`` and an order-5 ``rotate`` without prefilter, a CSR-style
sparse × dense product, ``cluster.vq.kmeans2`` with k-means++ seeding, and the few smallest
eigenpairs of a symmetric matrix (``linalg.eigh(subset_by_index=…)``) by Lanczos iteration.
"""

from __future__ import annotations

import numpy as np

_PAD_MODES = {"reflect": "symmetric", "nearest": "edge", "mirror": "reflect"}
"""scipy.ndimage boundary modes -> numpy.pad modes."""


def _windows(x: np.ndarray, size: int, origin: int, mode: str) -> np.ndarray:
    """[n, size] sliding windows of 1-D ``x``, placed as scipy.ndimage places a filter."""
    left = size // 2 + origin
    padded = np.pad(x, (left, size - 1 - left), mode=_PAD_MODES[mode])
    return np.lib.stride_tricks.sliding_window_view(padded, size)


def uniform_filter1d(x: np.ndarray, size: int, mode: str = "reflect") -> np.ndarray:
    """Moving mean over ``size`` samples, as scipy.ndimage's (its float64 running sum: the first
    window's sum, then each step adds entering - leaving; each sum divided by ``size``)."""
    n = np.asarray(x).size
    left = size // 2
    padded = np.pad(np.asarray(x, dtype=np.float64), (left, size - 1 - left),
                    mode=_PAD_MODES[mode])
    first = np.cumsum(padded[:size])[-1]
    steps = padded[size : size + n - 1] - padded[: n - 1]
    return (np.cumsum(np.concatenate(([first], steps))) / size).astype(np.asarray(x).dtype)


def gaussian_filter1d(x: np.ndarray, sigma: float, truncate: float = 4.0) -> np.ndarray:
    """Gaussian smoothing (float64, 'reflect' boundary, radius truncate·sigma), as scipy's
    (same taps, and its symmetric-kernel sum: centre, then mirrored pairs from the outside)."""
    radius = int(truncate * float(sigma) + 0.5)
    taps = np.exp(-0.5 / (sigma * sigma) * np.arange(-radius, radius + 1) ** 2)
    taps = taps / taps.sum()
    n = np.asarray(x).size
    padded = np.pad(np.asarray(x, dtype=np.float64), radius, mode="symmetric")
    out = padded[radius : radius + n] * taps[radius]
    for j in range(radius, 0, -1):
        out += (padded[radius - j : radius - j + n] + padded[radius + j : radius + j + n]) * taps[
            radius - j]
    return out


def maximum_filter1d(x: np.ndarray, size: int, mode: str = "reflect",
                     origin: int = 0) -> np.ndarray:
    """Moving maximum over ``size`` samples shifted by ``origin``, as scipy.ndimage's."""
    return _windows(np.asarray(x), size, origin, mode).max(axis=1)


def median_filter1d(x: np.ndarray, size: int, axis: int = -1) -> np.ndarray:
    """Moving median of an odd ``size`` along ``axis`` ('reflect' boundary), as scipy.ndimage's
    ``median_filter`` with a window that is 1 along every other axis."""
    if size % 2 == 0:
        raise ValueError("median_filter1d needs an odd window")
    moved = np.moveaxis(np.asarray(x), axis, -1)
    half = size // 2
    pad = [(0, 0)] * (moved.ndim - 1) + [(half, half)]
    windows = np.lib.stride_tricks.sliding_window_view(np.pad(moved, pad, mode="symmetric"),
                                                       size, axis=-1)
    return np.moveaxis(np.partition(windows, half, axis=-1)[..., half], -1, axis)


def convolve2d(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """2-D convolution with a small kernel, 'reflect' boundary, as scipy.ndimage.convolve, for
    a mostly-zero image: each nonzero sample (of the padded image) stamps the kernel, so the
    cost follows the nonzeros (a recurrence matrix's few links per row), not the area."""
    flipped = np.asarray(kernel, dtype=np.float64)[::-1, ::-1]
    kh, kw = flipped.shape
    top, left = kh // 2 - (1 - kh % 2), kw // 2 - (1 - kw % 2)
    padded = np.pad(np.asarray(image, dtype=np.float64),
                    ((top, kh - 1 - top), (left, kw - 1 - left)), mode="symmetric")
    rows, cols = image.shape
    src_r, src_c = np.nonzero(padded)
    values = padded[src_r, src_c]
    targets, weights = [], []
    for a, b in zip(*np.nonzero(flipped), strict=True):
        r, c = src_r - a, src_c - b  # out[r, c] += w[a, b] * padded[r + a, c + b]
        keep = (r >= 0) & (r < rows) & (c >= 0) & (c < cols)
        targets.append(r[keep] * cols + c[keep])
        weights.append(flipped[a, b] * values[keep])
    if not targets:
        return np.zeros((rows, cols))
    return np.bincount(np.concatenate(targets), np.concatenate(weights),
                       minlength=rows * cols).reshape(rows, cols)


def _bspline5(x: np.ndarray) -> np.ndarray:
    """The centred quintic B-spline."""
    x = np.abs(x)
    return (np.maximum(3.0 - x, 0.0) ** 5 - 6.0 * np.maximum(2.0 - x, 0.0) ** 5
            + 15.0 * np.maximum(1.0 - x, 0.0) ** 5) / 120.0


def _mirror_index(idx: np.ndarray, n: int) -> np.ndarray:
    """Indices outside [0, n) reflected about the end samples (…c b | a b c | b a…)."""
    if n <= 1:
        return np.zeros_like(idx)
    period = 2 * n - 2
    idx = np.mod(idx, period)
    return np.where(idx >= n, period - idx, idx)


def rotate_quintic(image: np.ndarray, angle_deg: float) -> np.ndarray:
    """``image`` rotated by ``angle_deg`` into a grid that holds all of it, quintic B-spline of
    the raw samples, zero outside: scipy.ndimage.rotate(order=5, prefilter=False)."""
    c, s = np.cos(np.deg2rad(angle_deg)), np.sin(np.deg2rad(angle_deg))
    rot = np.array([[c, s], [-s, c]])
    in_shape = np.asarray(image.shape)
    bounds = rot @ [[0, 0, in_shape[0], in_shape[0]], [0, in_shape[1], 0, in_shape[1]]]
    out_shape = (np.ptp(bounds, axis=1) + 0.5).astype(int)
    offset = (in_shape - 1) / 2 - rot @ ((out_shape - 1) / 2)
    grid = np.indices(out_shape).reshape(2, -1).astype(np.float64)
    coords = rot @ grid + offset[:, None]
    out = np.zeros(coords.shape[1])
    inside = np.all((coords >= -1e-9) & (coords <= (in_shape - 1)[:, None] + 1e-9), axis=0)
    for p in np.flatnonzero(inside):
        weights = []
        for d in range(2):
            start = int(np.floor(coords[d, p])) - 2
            taps = np.arange(start, start + 6)
            weights.append((_mirror_index(taps, int(in_shape[d])),
                            _bspline5(coords[d, p] - taps)))
        (ri, rw), (ci, cw) = weights
        out[p] = rw @ image[np.ix_(ri, ci)] @ cw
    return out.reshape(out_shape)


def sparse_rows_matmul(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, n_rows: int,
                       dense: np.ndarray) -> np.ndarray:
    """(sparse [n_rows, dense rows] given as (row, col, value) entries) @ ``dense``, summing
    each row's entries in the order given, in the dtype of ``vals`` and ``dense``: scipy's
    ``csr_matrix((vals, (rows, cols))) @ dense``."""
    order = np.argsort(rows, kind="stable")
    rows, cols, vals = rows[order], cols[order], vals[order]
    counts = np.bincount(rows, minlength=n_rows)
    slot = np.arange(rows.size) - (np.cumsum(counts) - counts)[rows]
    out = np.zeros((n_rows, dense.shape[1]), dtype=np.result_type(vals, dense))
    for k in range(int(counts.max(initial=0))):
        pick = slot == k
        out[rows[pick]] += vals[pick, None] * dense[cols[pick]]
    return out


def kmeans_pp(data: np.ndarray, k: int, rng: np.random.Generator, iters: int) -> np.ndarray:
    """Cluster label per row of ``data``: k-means++ seeding then ``iters`` Lloyd steps, drawing
    from ``rng`` as scipy.cluster.vq.kmeans2(data, k, iter=iters, minit='++', rng=rng) does."""
    data = np.asarray(data, dtype=np.float64)
    centres = np.empty((k, data.shape[1]))
    for i in range(k):
        if i == 0:
            index = int(rng.integers(data.shape[0]))
        else:
            d2 = (((data[None, :, :] - centres[:i, None, :]) ** 2).sum(axis=2)).min(axis=0)
            index = int(np.searchsorted(np.cumsum(d2 / d2.sum()), rng.uniform()))
        centres[i] = data[index]
    labels = np.zeros(data.shape[0], dtype=np.int64)
    for _ in range(iters):
        labels = np.argmin(((data[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2), axis=1)
        sums = np.zeros_like(centres)
        np.add.at(sums, labels, data)
        counts = np.bincount(labels, minlength=k)
        has = counts > 0
        centres[has] = sums[has] / counts[has, None]
    return labels


_DENSE_EIGH_MAX = 400
"""Up to this size a full dense eigh is as fast as the iteration."""


def smallest_eigh(matrix: np.ndarray, k: int, tol: float = 1e-12) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` smallest eigenvalues (ascending) and eigenvectors [n, k] of a symmetric matrix
    whose smallest eigenvalue is simple (a connected graph's Laplacian).

    Small matrices use a dense eigh; larger ones a Lanczos basis with full re-orthogonalisation,
    grown until every wanted Ritz pair's residual is below ``tol``·‖matrix‖ (n² per step instead
    of eigh's n³), with the dense eigh as the fallback if it never converges.
    """
    n = matrix.shape[0]
    if n <= max(_DENSE_EIGH_MAX, 4 * k):
        values, vectors = np.linalg.eigh(matrix)
        return values[:k], vectors[:, :k]
    scale = float(np.abs(matrix).sum(axis=1).max()) or 1.0
    basis = np.zeros((n, n))  # row m: the m-th Lanczos vector
    start = np.random.default_rng(0).standard_normal(n)
    basis[0] = start / np.linalg.norm(start)
    alphas: list[float] = []
    betas: list[float] = []
    target, exhausted = min(n, max(10 * k, 60)), False
    while not exhausted:
        while len(alphas) < target and not exhausted:
            m = len(alphas)
            w = matrix @ basis[m]
            alphas.append(float(basis[m] @ w))
            for _ in range(2):  # full re-orthogonalisation, twice (Kahan's rule)
                w -= (basis[: m + 1] @ w) @ basis[: m + 1]
            betas.append(float(np.linalg.norm(w)))
            exhausted = m + 1 == n or betas[-1] < 1e-12 * scale
            if not exhausted:
                basis[m + 1] = w / betas[-1]
        m = len(alphas)
        tri = np.diag(alphas) + np.diag(betas[:-1], 1) + np.diag(betas[:-1], -1)
        theta, s = np.linalg.eigh(tri)
        if m >= k and np.all(np.abs(betas[-1] * s[-1, :k]) <= tol * scale):
            vectors = basis[:m].T @ s[:, :k]
            return theta[:k], vectors / np.linalg.norm(vectors, axis=0)
        target = min(n, 2 * m)
    values, vectors = np.linalg.eigh(matrix)
    return values[:k], vectors[:, :k]


def peak_pick(x: np.ndarray, pre_max: int, post_max: int, pre_avg: int, post_avg: int,
              delta: float, wait: int) -> np.ndarray:
    """Indices of the peaks of 1-D ``x``: the maximum of x[n - pre_max : n + post_max], at least
    ``delta`` above the mean of x[n - pre_avg : n + post_avg] (windows cut at the ends), and
    more than ``wait`` samples after the previous peak — librosa.util.peak_pick (its sums run
    in ``x``'s dtype and ``delta`` is float32: kept, so thresholds compare identically)."""
    x = np.asarray(x)
    n = x.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    window_max = _windows_cut(x, pre_max, post_max, np.max)
    window_sum = _windows_cut(x, pre_avg, post_avg, _sequential_sum)
    counts = (np.minimum(np.arange(n) + post_avg, n) - np.maximum(np.arange(n) - pre_avg, 0))
    mean = (window_sum.astype(np.float64) / counts).astype(x.dtype)
    candidates = np.flatnonzero((x == window_max) & (x >= mean + np.float32(delta)))
    peaks: list[int] = []
    for c in candidates.tolist():
        if not peaks or c > peaks[-1] + wait:
            peaks.append(c)
    return np.asarray(peaks, dtype=np.int64)


def _sequential_sum(windows: np.ndarray, axis: int) -> np.ndarray:
    """Left-to-right sum along the last axis, in the windows' dtype."""
    total = np.zeros(windows.shape[0], dtype=windows.dtype)
    for j in range(windows.shape[axis]):
        total += windows[:, j]
    return total


def _windows_cut(x: np.ndarray, before: int, after: int, reduce) -> np.ndarray:
    """``reduce`` over x[n - before : n + after] for every n, the windows cut at both ends
    (padding that cannot change a max or a sum: -inf for max, 0 for sums)."""
    fill = -np.inf if reduce is np.max else 0
    padded = np.concatenate([np.full(before, fill, x.dtype), x,
                             np.full(max(after - 1, 0), fill, x.dtype)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, before + after)
    return reduce(windows, axis=1)
