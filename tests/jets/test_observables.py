"""Tests of caloml.jets.observables against hand-computed answers (paper 001, Eq. 9)."""

import numpy as np
import pytest

from caloml.errors import InputError, UsageError
from caloml.jets import observables as ob

PIXEL = 0.05  # rad
R0 = 0.8


def _pixel_position(i, j, h, w):
    return (i - 0.5 * (h - 1)) * PIXEL, (j - 0.5 * (w - 1)) * PIXEL


def _brute_force(pt, eta, phi, r0=R0):
    """Observables of one list of massless constituents straight from Eq. 9."""
    px, py = pt * np.cos(phi), pt * np.sin(phi)
    pz, e = pt * np.sinh(eta), pt * np.cosh(eta)
    mass2 = e.sum() ** 2 - px.sum() ** 2 - py.sum() ** 2 - pz.sum() ** 2
    y_jet = np.arctanh(pz.sum() / e.sum())
    phi_jet = np.arctan2(py.sum(), px.sum())
    girth = (pt * np.hypot(eta - y_jet, phi - phi_jet)).sum() / pt.sum()
    dr = np.hypot(eta[:, None] - eta[None, :], phi[:, None] - phi[None, :])
    c02 = (pt[:, None] * pt[None, :] * dr**0.2).sum() / pt.sum() ** 2
    if len(pt) == 1:  # a massless particle on its own axis, without pair partners
        mass2 = girth = c02 = 0.0
    return {
        "pt": np.hypot(px.sum(), py.sum()),
        "mass": np.sqrt(max(mass2, 0.0)),
        "girth": girth,
        "c02": c02,
        "tau1": girth / r0,
    }


def _exclusive_kt_taus(pt, eta, phi, n_axes, r0=R0):
    """τ_N with axes from a naive exclusive-kT clustering (E-scheme), independent of FastJet."""
    vectors = [
        np.array([p * np.cos(f), p * np.sin(f), p * np.sinh(h), p * np.cosh(h)])
        for p, h, f in zip(pt, eta, phi, strict=True)
    ]

    def coords(v):
        return (
            np.hypot(v[0], v[1]),
            0.5 * np.log((v[3] + v[2]) / (v[3] - v[2])),
            np.arctan2(v[1], v[0]),
        )

    while len(vectors) > n_axes:
        best = None
        for a in range(len(vectors)):
            for b in range(a + 1, len(vectors)):
                pa, ya, fa = coords(vectors[a])
                pb, yb, fb = coords(vectors[b])
                dphi = (fa - fb + np.pi) % (2 * np.pi) - np.pi
                d = min(pa, pb) ** 2 * ((ya - yb) ** 2 + dphi**2)
                if best is None or d < best[0]:
                    best = (d, a, b)
        _, a, b = best
        merged = vectors[a] + vectors[b]
        vectors = [v for k, v in enumerate(vectors) if k not in (a, b)] + [merged]
    axes = [coords(v) for v in vectors]
    dr = np.array(
        [[np.hypot(h - y, f - fa) for _, y, fa in axes] for h, f in zip(eta, phi, strict=True)]
    )
    return (pt * dr.min(axis=1)).sum() / (pt.sum() * r0)


def _images_from_lists(shape, pixels):
    """Images ``[len(pixels), H, W]`` from lists of ``(i, j, pt)``."""
    images = np.zeros((len(pixels),) + shape)
    for k, entries in enumerate(pixels):
        for i, j, value in entries:
            images[k, i, j] = value
    return images


def _random_jets(rng, n, shape=(32, 32), spread=4.0, count=(8, 40)):
    h, w = shape
    images = np.zeros((n,) + shape)
    for k in range(n):
        m = rng.integers(*count)
        i = np.clip(np.round(rng.normal(h / 2, spread, m)).astype(int), 0, h - 1)
        j = np.clip(np.round(rng.normal(w / 2, spread, m)).astype(int), 0, w - 1)
        np.add.at(images[k], (i, j), rng.uniform(0.5, 50.0, m))
    return images


def test_two_pixels_by_hand():
    a, b = 30.0, 10.0
    shape = (16, 16)
    images = _images_from_lists(shape, [[(5, 6, a), (9, 11, b)]])
    obs = ob.jet_observables(images, PIXEL, r0=R0)
    eta_a, phi_a = _pixel_position(5, 6, *shape)
    eta_b, phi_b = _pixel_position(9, 11, *shape)
    deta, dphi = 4 * PIXEL, 5 * PIXEL
    d = np.hypot(deta, dphi)
    np.testing.assert_allclose(obs["mass"] ** 2, 2 * a * b * (np.cosh(deta) - np.cos(dphi)))
    jet_px = a * np.cos(phi_a) + b * np.cos(phi_b)
    jet_py = a * np.sin(phi_a) + b * np.sin(phi_b)
    np.testing.assert_allclose(obs["pt"], np.hypot(jet_px, jet_py))
    # Jet axis: rapidity and azimuth of the summed four-momentum.
    y_jet = 0.5 * np.log(
        (a * np.exp(eta_a) + b * np.exp(eta_b)) / (a * np.exp(-eta_a) + b * np.exp(-eta_b))
    )
    phi_jet = np.arctan2(jet_py, jet_px)
    girth = (
        a * np.hypot(eta_a - y_jet, phi_a - phi_jet) + b * np.hypot(eta_b - y_jet, phi_b - phi_jet)
    ) / (a + b)
    np.testing.assert_allclose(obs["girth"], girth)
    np.testing.assert_allclose(obs["tau1"], girth / R0)
    # Ordered pairs (1, 2) and (2, 1).
    np.testing.assert_allclose(obs["c02"], 2 * a * b * d**0.2 / (a + b) ** 2)
    np.testing.assert_array_equal(obs["tau2"], [0.0])
    np.testing.assert_array_equal(obs["tau3"], [0.0])
    np.testing.assert_array_equal(obs["tau21"], [0.0])
    assert np.isnan(obs["tau32"][0])
    np.testing.assert_array_equal(obs["num_constituents"], [2.0])


def test_symmetric_pair_girth_and_c02():
    """Two equal pixels in one η row: the axis is their midpoint, so w_pf = d/2."""
    separation = 6
    images = _images_from_lists((20, 20), [[(10, 7, 25.0), (10, 7 + separation, 25.0)]])
    obs = ob.jet_observables(images, PIXEL, r0=0.4)
    d = separation * PIXEL
    np.testing.assert_allclose(obs["girth"], d / 2)
    np.testing.assert_allclose(obs["tau1"], d / 2 / 0.4)
    np.testing.assert_allclose(obs["c02"], d**0.2 / 2)
    np.testing.assert_allclose(obs["mass"], 50.0 * np.sin(d / 2))
    np.testing.assert_allclose(obs["pt"], 50.0 * np.cos(d / 2))


def test_three_pixels_tau2_by_hand():
    """Two 20 GeV pixels one pixel apart merge first in kT; the 5 GeV one is its own axis."""
    images = _images_from_lists((32, 32), [[(16, 15, 20.0), (16, 16, 20.0), (16, 26, 5.0)]])
    obs = ob.jet_observables(images, PIXEL, r0=R0)
    # Each 20 GeV pixel is half a pixel from the axis of the pair.
    np.testing.assert_allclose(obs["tau2"], 20.0 * PIXEL / (45.0 * R0))
    np.testing.assert_array_equal(obs["tau3"], [0.0])
    np.testing.assert_array_equal(obs["tau32"], [0.0])
    np.testing.assert_allclose(obs["tau21"], obs["tau2"] / obs["tau1"])


def test_random_jets_against_brute_force():
    rng = np.random.default_rng(1)
    shape = (24, 28)
    # Tie-free jets: with tied kT distances the merge order would rest on rounding.
    images = _images_from_lists(shape, [_tie_free_jet(rng, shape, m) for m in (1, 2, 3, 4, 6, 9)])
    obs = ob.jet_observables(images, PIXEL, r0=R0, chunk=4)
    for k in range(len(images)):
        i, j = np.nonzero(images[k])
        pt = images[k, i, j]
        eta, phi = _pixel_position(i, j, *shape)
        expected = _brute_force(pt, eta, phi)
        for name, value in expected.items():
            np.testing.assert_allclose(obs[name][k], value, rtol=1e-9, err_msg=name)
        for n_axes, name in ((2, "tau2"), (3, "tau3")):
            expected_tau = _exclusive_kt_taus(pt, eta, phi, n_axes) if len(pt) > n_axes else 0.0
            np.testing.assert_allclose(obs[name][k], expected_tau, rtol=1e-9, err_msg=name)
        assert obs["num_constituents"][k] == len(pt)


@pytest.mark.parametrize("shape", [(5, 8), (7, 6), (20, 20)])
def test_c02_fourier_sum_matches_pair_sum(shape):
    """Both odd and even padded widths of the real Fourier transform."""
    rng = np.random.default_rng(2)
    images = rng.uniform(0.0, 3.0, (3,) + shape) * (rng.uniform(size=(3,) + shape) < 0.6)
    obs = ob.jet_observables(images, PIXEL)
    for k in range(3):
        i, j = np.nonzero(images[k])
        eta, phi = _pixel_position(i, j, *shape)
        expected = _brute_force(images[k, i, j], eta, phi)["c02"]
        np.testing.assert_allclose(obs["c02"][k], expected, rtol=1e-10)


def _spray(rng, shape, images, count=60, max_gev=0.3):
    i = rng.integers(0, shape[0], (len(images), count))
    j = rng.integers(0, shape[1], (len(images), count))
    for k in range(len(images)):
        np.add.at(images[k], (i[k], j[k]), rng.uniform(0.05, max_gev, count))
    return images


def test_prong_counting():
    rng = np.random.default_rng(3)
    shape = (32, 32)
    one = _images_from_lists(shape, [[(16, 16, 300.0)]] * 4)
    two = _images_from_lists(shape, [[(12, 12, 150.0), (20, 21, 150.0)]] * 4)
    three = _images_from_lists(shape, [[(10, 16, 100.0), (20, 10, 100.0), (21, 22, 100.0)]] * 4)
    obs = {
        name: ob.jet_observables(_spray(rng, shape, images), PIXEL)
        for name, images in (("one", one), ("two", two), ("three", three))
    }
    assert np.all(obs["three"]["tau32"] < 0.2)
    assert np.all(obs["one"]["tau32"] > 0.5)
    assert np.all(obs["two"]["tau21"] < 0.2)
    assert np.all(obs["one"]["tau21"] > 0.5)
    # The three-prong jet is not two-prong-like.
    assert np.all(obs["three"]["tau21"] > 0.5)


def _tie_free_jet(rng, shape, count):
    """Pixels whose squared pixel distances are all different, so no two kT distances tie."""
    positions, distances = [], set()
    while len(positions) < count:
        candidate = tuple(rng.integers(shape[0] // 2 - 8, shape[0] // 2 + 8, 2))
        new = [(candidate[0] - i) ** 2 + (candidate[1] - j) ** 2 for i, j in positions]
        if 0 not in new and len(set(new)) == len(new) and not distances & set(new):
            positions.append(candidate)
            distances |= set(new)
    return [
        (i, j, value) for (i, j), value in zip(positions, rng.uniform(1, 50, count), strict=True)
    ]


def test_shift_invariance():
    rng = np.random.default_rng(4)
    shape = (48, 48)
    images = _random_jets(rng, 5, shape, spread=3.0)
    images = np.concatenate(
        [images, _images_from_lists(shape, [_tie_free_jet(rng, shape, 9) for _ in range(5)])]
    )
    shifted = np.roll(images, (3, -5), axis=(1, 2))
    assert shifted.sum() == pytest.approx(images.sum())
    a = ob.jet_observables(images, PIXEL)
    b = ob.jet_observables(shifted, PIXEL)
    for name in ob.OBSERVABLE_LABELS:
        # Random pixel jets have tied kT distances, which FastJet breaks by rounding.
        rows = slice(5, None) if name in ("tau2", "tau3", "tau21", "tau32") else slice(None)
        np.testing.assert_allclose(
            b[name][rows], a[name][rows], rtol=1e-9, atol=1e-12, err_msg=name
        )
    # The content really moved: the leading pixel's position differs.
    assert not np.array_equal(
        ob.pixel_constituents(images, PIXEL)[1], ob.pixel_constituents(shifted, PIXEL)[1]
    )


def test_threshold_drops_soft_pixels():
    rng = np.random.default_rng(5)
    hard = _random_jets(rng, 4, (32, 32))
    hard[hard < 1.0] = 0.0
    soft = np.where(rng.uniform(size=hard.shape) < 0.3, 0.5, 0.0) * (hard == 0)
    noisy = hard + soft
    cut = ob.jet_observables(noisy, PIXEL, threshold_gev=1.0)
    clean = ob.jet_observables(hard, PIXEL)
    all_pixels = ob.jet_observables(noisy, PIXEL)
    for name in ob.OBSERVABLE_LABELS:
        np.testing.assert_allclose(cut[name], clean[name], rtol=1e-12, err_msg=name)
    np.testing.assert_array_equal(
        all_pixels["num_constituents"], (noisy > 0).sum(axis=(1, 2)).astype(float)
    )
    assert np.all(all_pixels["num_constituents"] > cut["num_constituents"])


def test_empty_and_broken_jets():
    images = np.zeros((3, 16, 16))
    images[1, 8, 8] = 40.0
    images[1, 8, 10] = 10.0
    images[2, 3, 3] = np.nan
    images[0, 2, 2] = 0.4  # below the threshold
    obs = ob.jet_observables(images, PIXEL, threshold_gev=0.5)
    assert obs["pt"][0] == 0.0 and obs["mass"][0] == 0.0 and obs["num_constituents"][0] == 0
    for name in ("girth", "c02", "tau1", "tau2", "tau3", "tau21", "tau32"):
        assert np.isnan(obs[name][0]), name
    for name in ob.OBSERVABLE_LABELS:
        assert np.isnan(obs[name][2]), name
    alone = ob.jet_observables(images[1:2], PIXEL)
    for name in ob.OBSERVABLE_LABELS:
        np.testing.assert_array_equal(obs[name][1:2], alone[name], err_msg=name)


def test_single_pixel_jet():
    images = _images_from_lists((8, 8), [[(2, 5, 12.0)]])
    obs = ob.jet_observables(images, PIXEL)
    assert obs["pt"][0] == pytest.approx(12.0)
    assert obs["mass"][0] == 0.0
    for name in ("girth", "c02", "tau1", "tau2", "tau3"):
        assert obs[name][0] == pytest.approx(0.0, abs=1e-12), name
    assert np.isnan(obs["tau21"][0]) and np.isnan(obs["tau32"][0])


def test_chunking_does_not_change_results(monkeypatch):
    rng = np.random.default_rng(6)
    images = _random_jets(rng, 11, (24, 24))
    images[4] = 0.0
    images[7, 0, 0] = np.inf
    whole = ob.jet_observables(images, PIXEL)
    chunked = ob.jet_observables(images, PIXEL, chunk=3)
    # A small constituent budget splits each chunk further (down to one jet at a time).
    monkeypatch.setattr(ob, "_CONSTITUENT_ELEMENTS", 60)
    split = ob.jet_observables(images, PIXEL, chunk=5)
    assert set(whole) == set(ob.OBSERVABLE_LABELS)
    for name in ob.OBSERVABLE_LABELS:
        np.testing.assert_allclose(chunked[name], whole[name], rtol=1e-12, err_msg=name)
        np.testing.assert_allclose(split[name], whole[name], rtol=1e-12, err_msg=name)
        assert np.isnan(whole[name][7]) and not np.isnan(whole[name][6]), name


def test_pixel_constituents():
    shape = (4, 6)
    images = _images_from_lists(
        shape, [[(0, 0, 2.0), (3, 5, 7.0), (1, 2, 2.0), (2, 2, 0.1)], [(1, 1, 3.0)], []]
    )
    pt, deta, dphi, mask = ob.pixel_constituents(images, PIXEL, threshold_gev=0.1)
    np.testing.assert_array_equal(pt, [[7.0, 2.0, 2.0], [3.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(mask, pt > 0)
    # Ties keep pixel order: (0, 0) before (1, 2).
    np.testing.assert_allclose(deta[0], np.array([1.5, -1.5, -0.5]) * PIXEL)
    np.testing.assert_allclose(dphi[0], np.array([2.5, -2.5, -0.5]) * PIXEL)
    np.testing.assert_allclose([deta[1, 0], dphi[1, 0]], [-0.5 * PIXEL, -1.5 * PIXEL])
    np.testing.assert_array_equal(deta[1:, 1:], 0.0)
    pt2, _, _, mask2 = ob.pixel_constituents(images, PIXEL, max_constituents=2)
    np.testing.assert_array_equal(pt2, [[7.0, 2.0], [3.0, 0.0], [0.0, 0.0]])
    assert mask2.sum() == 3
    with pytest.raises(InputError, match="non-finite|NaN"):
        ob.pixel_constituents(np.full((1, 2, 2), np.nan), PIXEL)
    with pytest.raises(InputError, match="shape"):
        ob.pixel_constituents(np.zeros((2, 2)), PIXEL)
    with pytest.raises(InputError, match="pixel_size"):
        ob.jet_observables(images, 0.0)
    with pytest.raises(InputError, match="threshold_gev"):
        ob.jet_observables(images, PIXEL, threshold_gev=-1.0)


def test_leading_constituents():
    images = np.zeros((2, 3, 3))
    images[0] = [[1, 9, 0], [4, 0, 0], [0, 2, 0]]
    images[1, 1, 1] = 5.0
    leading = ob.leading_constituents(images, n=5)
    np.testing.assert_array_equal(leading, [[9, 4, 2, 1, 0], [5, 0, 0, 0, 0]])
    tiny = ob.leading_constituents(np.array([[[3.0, 1.0], [2.0, 4.0]]]), n=6)
    np.testing.assert_array_equal(tiny, [[4, 3, 2, 1, 0, 0]])


def test_sum_pool():
    rng = np.random.default_rng(7)
    images = rng.integers(0, 100, (3, 8, 12)).astype(float)
    pooled = ob.sum_pool(images, 4)
    assert pooled.shape == (3, 2, 3)
    for k in range(3):
        for a in range(2):
            for b in range(3):
                assert pooled[k, a, b] == images[k, 4 * a : 4 * a + 4, 4 * b : 4 * b + 4].sum()
    np.testing.assert_array_equal(pooled.sum(axis=(1, 2)), images.sum(axis=(1, 2)))
    for bad in (3, 0, 2.5):
        with pytest.raises(UsageError, match="factor"):
            ob.sum_pool(images, bad)


def test_average_patch():
    images = np.zeros((2, 4, 4))
    images[0, 0:2, 0:2] = [[3.0, 1.0], [0.0, 0.0]]
    images[0, 2:4, 2:4] = [[0.0, 0.0], [0.0, 2.0]]
    images[1, 0:2, 2:4] = [[0.05, 0.0], [0.0, 0.0]]  # dropped by the threshold below
    np.testing.assert_allclose(
        ob.average_patch(images, 2, threshold_gev=0.1), [[0.375, 0.125], [0.0, 0.5]]
    )
    np.testing.assert_allclose(
        ob.average_patch(images, 2), [[(0.75 + 1.0) / 3, 0.25 / 3], [0.0, 1.0 / 3]]
    )
    assert np.isnan(ob.average_patch(np.zeros((1, 4, 4)), 2)).all()
    with pytest.raises(UsageError):
        ob.average_patch(images, 3)


def test_relative_difference():
    reference = np.array([2.0, 0.0, np.nan, 4.0])
    other = np.array([1.0, 1.0, 1.0, np.nan])
    result = ob.relative_difference(reference, other)
    assert result[0] == 0.5
    assert np.isnan(result[1:]).all()


def test_closer_fraction():
    hr = np.array([1.0, 1.0, 1.0, 1.0, np.nan, 1.0])
    lr = np.array([2.0, 2.0, 1.5, 1.0, 5.0, np.inf])
    sr = np.array([1.1, 3.0, 1.2, 1.0, 1.0, 1.0])
    # Closer: jets 0 and 2; jet 1 further, jet 3 a tie; jets 4 and 5 not finite.
    assert ob.closer_fraction(hr, lr, sr) == 0.5
    assert np.isnan(ob.closer_fraction(hr[4:5], lr[4:5], sr[4:5]))


def test_wasserstein_leading():
    rng = np.random.default_rng(8)
    hr = rng.exponential(3.0, (50, 8, 8))
    np.testing.assert_allclose(ob.wasserstein_leading(hr, hr.copy(), n=15), np.zeros(15))
    distances = ob.wasserstein_leading(hr, hr + 0.5, n=4)
    np.testing.assert_allclose(distances, np.full(4, 0.5), rtol=1e-12)
    # Scaling moves harder pixels further: distances follow the leading-pixel means.
    scaled = ob.wasserstein_leading(hr, 1.1 * hr, n=3)
    np.testing.assert_allclose(scaled, 0.1 * ob.leading_constituents(hr, 3).mean(axis=0))


def test_labels_cover_observables():
    obs = ob.jet_observables(np.zeros((1, 4, 4)), PIXEL)
    assert list(obs) == list(ob.OBSERVABLE_LABELS)
    assert ob.OBSERVABLE_LABELS["mass"] == "m_jet [GeV]"
    assert ob.OBSERVABLE_LABELS["tau32"] == "τ₃/τ₂"
