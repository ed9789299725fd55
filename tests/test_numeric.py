"""core.numeric gives scipy's and librosa's numbers (the analysis path imports neither), and the
analysis path of `choreo analyze` imports no scipy, librosa, numba or sklearn."""

import subprocess
import sys

import numpy as np
import pytest
from choreo_studio.core import numeric

scipy_ndimage = pytest.importorskip("scipy.ndimage")


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def test_uniform_filter_is_scipys_bit_for_bit(rng):
    for x in (rng.random(20_000), rng.random(5_000).astype(np.float32)):
        for size, mode in ((43, "nearest"), (8, "reflect")):
            want = scipy_ndimage.uniform_filter1d(x, size, mode=mode)
            got = numeric.uniform_filter1d(x, size, mode)
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got, want)


def test_gaussian_filter_is_scipys_bit_for_bit(rng):
    x = rng.random(3_000)
    for sigma in (0.7, 2.0):
        np.testing.assert_array_equal(numeric.gaussian_filter1d(x, sigma),
                                      scipy_ndimage.gaussian_filter1d(x, sigma))


@pytest.mark.parametrize(("size", "origin"), [(3, -1), (3, 0), (4, 0), (4, -1), (86, 0)])
def test_maximum_filter_is_scipys(rng, size, origin):
    x = rng.random(2_000)
    np.testing.assert_array_equal(
        numeric.maximum_filter1d(x, size, "nearest", origin),
        scipy_ndimage.maximum_filter1d(x, size, mode="nearest", origin=origin))


def test_median_filter_is_scipys(rng):
    ints = rng.integers(0, 50, 1_000)
    flags = (rng.random(1_000) > 0.5).astype(np.uint8)
    np.testing.assert_array_equal(numeric.median_filter1d(ints, 5),
                                  scipy_ndimage.median_filter(ints, size=5))
    np.testing.assert_array_equal(numeric.median_filter1d(flags, 5),
                                  scipy_ndimage.median_filter(flags, size=5))
    columns = rng.standard_normal((200, 7))
    np.testing.assert_array_equal(numeric.median_filter1d(columns, 3, axis=0),
                                  scipy_ndimage.median_filter(columns, size=(3, 1)))


@pytest.mark.parametrize("shape", [(5, 5), (6, 6), (4, 7)])
def test_convolve2d_is_scipys(rng, shape):
    image, kernel = rng.random((40, 50)), rng.random(shape)
    image[rng.random(image.shape) < 0.9] = 0.0  # mostly zero, like a recurrence matrix
    kernel[rng.random(shape) < 0.3] = 0.0
    want = scipy_ndimage.convolve(image, kernel)
    np.testing.assert_allclose(numeric.convolve2d(image, kernel), want, rtol=0, atol=1e-13)


def test_rotate_quintic_is_scipys():
    win = np.diag([0.0, 0.5, 1.0, 0.5, 0.0])
    for angle in (18.43, 6.56, 0.0, -12.79, 30.0):
        want = scipy_ndimage.rotate(win, angle, order=5, prefilter=False)
        got = numeric.rotate_quintic(win, angle)
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_sparse_rows_matmul_is_csr_matmul(rng):
    sparse = pytest.importorskip("scipy.sparse")
    rows, cols = np.divmod(np.sort(rng.choice(30 * 100, 300, replace=False)), 100)
    vals = rng.random(rows.size).astype(np.float32)
    dense = rng.random((100, 400)).astype(np.float32)
    want = sparse.csr_matrix((vals, (rows, cols)), shape=(30, 100), dtype=np.float32) @ dense
    np.testing.assert_array_equal(numeric.sparse_rows_matmul(rows, cols, vals, 30, dense), want)


def test_kmeans_pp_is_scipys_kmeans2(rng):
    vq = pytest.importorskip("scipy.cluster.vq")
    data = np.concatenate([rng.standard_normal((100, 4)) + c for c in (0.0, 3.0, -3.0)])
    for seed in range(4):
        _, want = vq.kmeans2(data, 3, iter=30, minit="++", seed=np.random.default_rng(seed))
        np.testing.assert_array_equal(
            numeric.kmeans_pp(data, 3, np.random.default_rng(seed), 30), want)


@pytest.mark.parametrize("n", [60, 900])
def test_smallest_eigh_finds_the_smallest_eigenpairs(rng, n):
    # a connected graph's normalised Laplacian: a chain plus sparse random links
    adj = np.where(rng.random((n, n)) > 0.97, rng.random((n, n)), 0.0)
    adj = np.triu(adj, 1) + np.triu(adj, 1).T + np.diag(np.full(n - 1, 0.5), 1) + np.diag(
        np.full(n - 1, 0.5), -1)
    d = adj.sum(axis=0) ** -0.5
    lap = np.eye(n) - d[:, None] * adj * d[None, :]
    values, vectors = numeric.smallest_eigh(lap, 7)
    want_values, want_vectors = np.linalg.eigh(lap)
    np.testing.assert_allclose(values, want_values[:7], atol=1e-10)
    np.testing.assert_allclose(np.abs(vectors), np.abs(want_vectors[:, :7]), atol=1e-7)
    np.testing.assert_allclose(lap @ vectors, vectors * values, atol=1e-9)


def test_peak_pick_is_librosas(rng):
    librosa = pytest.importorskip("librosa")
    for trial in range(6):
        x = rng.random(3_000).astype(np.float32)
        if trial % 2:  # ties, where the float32 threshold arithmetic decides
            x = np.round(x * 4).astype(np.float32) / 4
        for windows in ((1, 1, 4, 5, 0.07, 1), (3, 2, 7, 3, 0.2, 4)):
            pre_max, post_max, pre_avg, post_avg, delta, wait = windows
            want = librosa.util.peak_pick(x, pre_max=pre_max, post_max=post_max,
                                          pre_avg=pre_avg, post_avg=post_avg, delta=delta,
                                          wait=wait)
            np.testing.assert_array_equal(numeric.peak_pick(x, *windows), want)


def test_onsets_are_librosas_onset_detect():
    librosa = pytest.importorskip("librosa")
    from audio_fixtures import drum_track
    from choreo_studio.core.analysis.analyzer import ONSET_DELTA, detect_onsets
    from choreo_studio.core.analysis.beat_tracking import ONSET_LATENCY_S
    from choreo_studio.core.audio.spectral import compute_spectra

    spectra = compute_spectra(drum_track(118.0, n_bars=8)[0])
    env = spectra.onset_env / (float(np.percentile(spectra.onset_env, 99)) + 1e-9)
    want = librosa.onset.onset_detect(onset_envelope=env, sr=spectra.sr, hop_length=spectra.hop,
                                      delta=ONSET_DELTA, units="frames", normalize=False)
    assert want.size > 20
    np.testing.assert_array_equal(detect_onsets(spectra),
                                  want / spectra.fps + ONSET_LATENCY_S)


def test_analysis_imports_no_scipy_or_librosa(tmp_path):
    code = (
        "import sys; sys.path.insert(0, 'tests');"
        "from audio_fixtures import drum_track;"
        "from choreo_studio.core.audio.load import Audio;"
        "from choreo_studio.core.phrases.song import open_song;"
        "song = Audio.from_array(drum_track(120.0, n_bars=24)[0], 22050);"
        f"open_song(song, cache_dir={str(tmp_path)!r});"
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'scipy', 'librosa', 'numba', 'sklearn', 'torch'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_section_graph_is_librosas(rng):
    librosa = pytest.importorskip("librosa")
    csgraph = pytest.importorskip("scipy.sparse.csgraph")
    from choreo_studio.core.analysis import sections

    feats = np.repeat(rng.standard_normal((25, 12)), 6, axis=1) + 0.3 * rng.standard_normal(
        (25, 72))  # 12 kinds of bar, each repeated: a recurrence graph with structure
    want = librosa.segment.recurrence_matrix(feats, width=4, mode="affinity", sym=True)
    got = sections._recurrence(feats, 4)
    np.testing.assert_allclose(got, want.toarray() if hasattr(want, "toarray") else want,
                               atol=1e-12)
    np.testing.assert_allclose(sections._path_enhance(got, 5),
                               librosa.segment.path_enhance(got, 5), atol=1e-12)
    graph = got + np.diag(np.full(71, 0.3), 1) + np.diag(np.full(71, 0.3), -1)
    np.testing.assert_allclose(sections._normalized_laplacian(graph),
                               csgraph.laplacian(graph, normed=True), atol=1e-14)
    logmel = rng.normal(-40.0, 10.0, (128, 50)).astype(np.float32)
    np.testing.assert_allclose(sections._dct_matrix(128, 13) @ logmel,
                               librosa.feature.mfcc(S=logmel, n_mfcc=13), rtol=1e-5, atol=1e-3)
