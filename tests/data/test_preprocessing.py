"""Tests of caloml.data.preprocessing (SR-GAN for SR-γ, paper 000, section 2)."""

from __future__ import annotations

import numpy as np
import pytest

from caloml.data import preprocessing as pp


def downsample(hr: np.ndarray, factor: int = 4) -> np.ndarray:
    """LR images as exact factor x factor sums of HR images [N, H, W]."""
    n, height, width = hr.shape
    return hr.reshape(n, height // factor, factor, width // factor, factor).sum(axis=(2, 4))


def random_showers(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sparse random HR images [n, 96, 96] (GeV) with one blob each, and their LR sums."""
    rng = np.random.default_rng(seed)
    hr = np.zeros((n, 96, 96), dtype=np.float32)
    for i in range(n):
        row, col = rng.integers(0, 80, size=2)
        hr[i, row : row + 16, col : col + 16] = rng.gamma(0.5, 1.0, size=(16, 16))
        hr[i] += rng.uniform(0.0, 1e-3, size=(96, 96)) * (rng.uniform(size=(96, 96)) < 0.05)
    return downsample(hr), hr


def brute_force_origin(lr: np.ndarray, size: int) -> np.ndarray:
    """Reference window search with Python loops (first maximum in row-major order)."""
    origins = []
    for image in lr.astype(np.float64):
        sums = [
            [image[r : r + size, c : c + size].sum() for c in range(image.shape[1] - size + 1)]
            for r in range(image.shape[0] - size + 1)
        ]
        origins.append(np.unravel_index(np.argmax(sums), np.shape(sums)))
    return np.array(origins)


def test_constants_follow_the_paper():
    assert (pp.WINDOW_SIZE, pp.UPSCALE, pp.POWER) == (6, 4, 0.3)


def test_known_block_is_found_with_matching_hr_window():
    hr = np.zeros((3, 96, 96), dtype=np.float32)
    # Example 0: a 6x6-crystal shower at LR (5, 7) beats a single brighter crystal elsewhere.
    hr[0, 20:44, 28:52] = np.arange(24 * 24, dtype=np.float32).reshape(24, 24) / 100.0
    hr[0, 0:4, 88:92] = 50.0
    # Example 1: in the bottom-right corner, the last position fully inside the image.
    hr[1, 72:96, 72:96] = 1.0
    # Example 2: a shower cut by the top-left edge: the window stays inside, at (0, 0).
    hr[2, 0:8, 0:8] = 2.0
    lr = downsample(hr)

    lr_window, hr_window, origin = pp.select_window(lr, hr)

    np.testing.assert_array_equal(origin, [[5, 7], [18, 18], [0, 0]])
    assert origin.dtype.kind == "i"
    assert lr_window.shape == (3, 6, 6) and hr_window.shape == (3, 24, 24)
    for i, (row, col) in enumerate(origin):
        np.testing.assert_array_equal(lr_window[i], lr[i, row : row + 6, col : col + 6])
        np.testing.assert_array_equal(
            hr_window[i], hr[i, 4 * row : 4 * row + 24, 4 * col : 4 * col + 24]
        )
    np.testing.assert_array_equal(downsample(hr_window), lr_window)


def test_matches_brute_force_search():
    lr, hr = random_showers(20, seed=1)
    _, _, origin = pp.select_window(lr, hr)
    np.testing.assert_array_equal(origin, brute_force_origin(lr, 6))
    _, _, origin_4 = pp.select_window(lr, hr, size=4)
    np.testing.assert_array_equal(origin_4, brute_force_origin(lr, 4))


def test_ties_go_to_first_position_in_row_major_order():
    rng = np.random.default_rng(6)
    # Two identical showers over a faint background, with energies spanning 11 decades (more
    # than float64 resolves in a running sum): the summed-area table ranks the later one
    # higher by a few ulp, which must still count as a tie.
    block = rng.uniform(0.1, 3.0, size=(6, 6)) * 10.0 ** rng.integers(-9, 2, size=(6, 6))
    background = rng.uniform(0, 1e-3, size=(24, 24)) * 10.0 ** rng.integers(-9, 0, (24, 24))
    lr = np.zeros((2, 24, 24), dtype=np.float32)
    lr[0] = background
    lr[0, 3:9, 15:21] = block
    lr[0, 12:18, 2:8] = block
    sums = pp._window_sums(lr[:1], 6)[0]
    assert sums[12, 2] > sums[3, 15]  # the rounding this test is about
    lr[1, 10:16, 4:10] = 1.0
    lr[1, 10:16, 17:23] = 1.0

    _, hr_window, origin = pp.select_window(lr, None)

    assert hr_window is None
    np.testing.assert_array_equal(origin, [[3, 15], [10, 4]])


def test_all_zero_images():
    lr = np.zeros((2, 24, 24), dtype=np.float32)
    hr = np.zeros((2, 96, 96), dtype=np.float32)
    lr_window, hr_window, origin = pp.select_window(lr, hr)
    np.testing.assert_array_equal(origin, [[0, 0], [0, 0]])
    lr_n, hr_n, window_sum = pp.normalise(lr_window, hr_window)
    for array in (lr_n, hr_n, window_sum):
        assert np.all(array == 0)
    out = pp.preprocess_srgamma(lr, hr)
    for key, array in out.items():
        assert np.all(np.isfinite(array)), key
        assert np.all(array == 0), key
    back = pp.postprocess_srgamma(out["hr"], out["window_sum_gev"])
    assert np.all(back == 0)


def test_normalise_is_exact():
    lr_window = np.zeros((2, 6, 6), dtype=np.float32)
    lr_window[0, 1, 1], lr_window[0, 2, 3] = 6.0, 2.0  # sum 8
    lr_window[1, 0, :4] = 0.5  # sum 2
    hr_window = np.zeros((2, 24, 24), dtype=np.float32)
    hr_window[0, 4:8, 4:8] = 6.0 / 16  # the HR cells of the LR crystals above
    hr_window[0, 8, 12] = 2.0
    hr_window[1, 0, :16] = 0.125

    lr_n, hr_n, window_sum = pp.normalise(lr_window, hr_window)

    np.testing.assert_array_equal(window_sum, [8.0, 2.0])
    assert window_sum.dtype == np.float32
    np.testing.assert_array_equal(lr_n[0, 1, 1], 0.75)
    np.testing.assert_array_equal(lr_n[0, 2, 3], 0.25)
    np.testing.assert_array_equal(lr_n[1, 0, :4], 0.25)
    np.testing.assert_array_equal(hr_n[0, 4:8, 4:8], 0.75 / 16)
    np.testing.assert_array_equal(hr_n[1, 0, :16], 0.0625)
    np.testing.assert_array_equal(lr_n.sum(axis=(1, 2)), [1.0, 1.0])
    np.testing.assert_array_equal(hr_n.sum(axis=(1, 2)), [1.0, 1.0])
    assert lr_n.dtype == hr_n.dtype == np.float32


def test_normalised_windows_sum_to_one():
    lr, hr = random_showers(8, seed=2)
    lr_n, hr_n, window_sum = pp.normalise(*pp.select_window(lr, hr)[:2])
    np.testing.assert_allclose(lr_n.sum(axis=(1, 2)), 1.0, rtol=1e-5)
    np.testing.assert_allclose(hr_n.sum(axis=(1, 2)), 1.0, rtol=1e-5)
    assert np.all(window_sum <= lr.sum(axis=(1, 2)) * (1 + 1e-6))


def test_power_scale_values_and_round_trip():
    np.testing.assert_array_equal(pp.power_scale(np.array([2.0**-10]), p=0.5), [2.0**-5])
    np.testing.assert_array_equal(pp.power_scale(np.array([0.0, -1.0, 1.0])), [0.0, 0.0, 1.0])
    np.testing.assert_allclose(pp.power_scale(np.array([0.5])), [0.5**0.3])
    x = np.random.default_rng(4).uniform(0.0, 1.0, size=(3, 6, 6)).astype(np.float32)
    for p in (0.1, 0.3, 1.0):
        y = pp.power_scale(x, p)
        assert y.dtype == np.float32 and y.shape == x.shape
        np.testing.assert_allclose(pp.inverse_power_scale(y, p), x, rtol=2e-5, atol=1e-7)
    np.testing.assert_array_equal(pp.power_scale(x, 1.0), x)
    np.testing.assert_array_equal(pp.inverse_power_scale(np.array([-0.2, 0.0])), [0.0, 0.0])
    assert pp.power_scale(np.array([1, 4]), p=0.5).dtype == np.float32


@pytest.mark.parametrize("p", [0.0, -0.3, 1.5, float("nan")])
def test_bad_power_raises(p):
    x = np.ones((1, 6, 6), dtype=np.float32)
    for function in (pp.power_scale, pp.inverse_power_scale):
        with pytest.raises(ValueError, match="p="):
            function(x, p)
    lr, hr = random_showers(1, seed=0)
    with pytest.raises(ValueError, match="p="):
        pp.preprocess_srgamma(lr, hr, p=p)
    with pytest.raises(ValueError, match="p="):
        pp.postprocess_srgamma(x, np.ones(1), p=p)


@pytest.mark.parametrize(
    ("lr_shape", "hr_shape", "kwargs", "name"),
    [
        ((2, 24, 24), (2, 96, 95), {}, "hr"),
        ((2, 24, 24), (3, 96, 96), {}, "hr"),
        ((2, 24, 24), (2, 48, 48), {}, "hr"),
        ((24, 24), (96, 96), {}, "lr"),
        ((2, 24, 24, 1), (2, 96, 96, 1), {}, "lr"),
        ((2, 24, 24), (2, 96, 96), {"size": 25}, "size"),
        ((2, 24, 24), (2, 96, 96), {"size": 0}, "size"),
        ((2, 24, 24), (2, 96, 96), {"factor": 0}, "factor"),
    ],
)
def test_bad_shapes_raise(lr_shape, hr_shape, kwargs, name):
    with pytest.raises(ValueError, match=f"^{name} must"):
        pp.select_window(np.zeros(lr_shape), np.zeros(hr_shape), **kwargs)


def test_postprocess_shape_mismatch_raises():
    with pytest.raises(ValueError, match="window_sum_gev"):
        pp.postprocess_srgamma(np.zeros((3, 24, 24)), np.ones(2))


def test_preprocess_outputs():
    lr, hr = random_showers(5, seed=5)
    out = pp.preprocess_srgamma(lr, hr)
    assert sorted(out) == ["hr", "lr", "origin", "window_sum_gev"]
    assert out["lr"].shape == (5, 6, 6) and out["lr"].dtype == np.float32
    assert out["hr"].shape == (5, 24, 24) and out["hr"].dtype == np.float32
    assert out["window_sum_gev"].shape == (5,) and out["window_sum_gev"].dtype == np.float32
    assert out["origin"].shape == (5, 2) and out["origin"].dtype == np.int32
    for key in ("lr", "hr"):
        assert np.all((out[key] >= 0) & (out[key] <= 1))
    # Inference: the LR branch does not depend on the HR image.
    lr_only = pp.preprocess_srgamma(lr, None)
    assert "hr" not in lr_only
    for key in ("lr", "window_sum_gev", "origin"):
        np.testing.assert_array_equal(lr_only[key], out[key])


def test_postprocess_inverts_preprocess():
    lr, hr = random_showers(6, seed=6)
    out = pp.preprocess_srgamma(lr, hr)
    _, hr_window, origin = pp.select_window(lr, hr)
    np.testing.assert_array_equal(origin, out["origin"])
    hr_gev = pp.postprocess_srgamma(out["hr"], out["window_sum_gev"])
    assert hr_gev.dtype == np.float32
    np.testing.assert_allclose(hr_gev, hr_window, rtol=1e-4, atol=1e-6)
    lr_gev = pp.postprocess_srgamma(out["lr"], out["window_sum_gev"])
    np.testing.assert_allclose(lr_gev, downsample(hr_window), rtol=1e-4, atol=1e-6)
    # Network outputs with a channel axis.
    channels = pp.postprocess_srgamma(out["hr"][..., None], out["window_sum_gev"])
    np.testing.assert_allclose(channels[..., 0], hr_window, rtol=1e-4, atol=1e-6)


def test_empty_batch():
    out = pp.preprocess_srgamma(np.zeros((0, 24, 24)), np.zeros((0, 96, 96)))
    assert out["lr"].shape == (0, 6, 6) and out["hr"].shape == (0, 24, 24)
    assert out["origin"].shape == (0, 2)
