"""Tests of caloml.observables.statistics against analytic answers."""

import numpy as np
import pytest
import scipy.linalg
import scipy.stats

from caloml.observables import statistics


def test_ks_identical_and_disjoint():
    rng = np.random.default_rng(0)
    a = rng.normal(size=1000)
    assert statistics.ks_statistic(a, a.copy()) == 0.0
    assert statistics.ks_statistic(a, a + 100.0) == 1.0
    # Hand-computed: {0, 1} vs {0.5}: F_a(0.5) = 1/2, F_b(0.5) = 1 → 1/2.
    assert statistics.ks_statistic([0.0, 1.0], [0.5]) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="empty"):
        statistics.ks_statistic([], a)


def test_overlap_identical_and_disjoint():
    rng = np.random.default_rng(1)
    a = rng.exponential(size=2000)
    assert statistics.histogram_overlap(a, a.copy(), 30) == pytest.approx(1.0)
    assert statistics.histogram_overlap(a, a + 1000.0, 30) == 0.0
    # Explicit edges: entries outside are ignored; a sample with none inside overlaps nothing.
    edges = np.array([0.0, 1.0, 2.0])
    assert statistics.histogram_overlap([0.5, 0.5, 1.5, 9.0], [0.5, 1.5], edges) == pytest.approx(
        min(2 / 3, 1 / 2) + min(1 / 3, 1 / 2)
    )
    assert statistics.histogram_overlap([5.0], [0.5], edges) == 0.0
    with pytest.raises(ValueError):
        statistics.histogram_overlap(a, a, np.array([1.0, 0.0]))


@pytest.mark.parametrize("shift_sigma", [0.5, 1.0, 2.0])
def test_overlap_of_gaussians(shift_sigma):
    rng = np.random.default_rng(2)
    a = rng.normal(0.0, 1.0, size=400_000)
    b = rng.normal(shift_sigma, 1.0, size=400_000)
    edges = np.linspace(-6.0, 8.0, 281)  # 0.05 σ bins
    expected = 2.0 * scipy.stats.norm.cdf(-shift_sigma / 2.0)
    assert statistics.histogram_overlap(a, b, edges) == pytest.approx(expected, abs=0.01)


def test_default_width_bins():
    edges = statistics.default_width_bins(np.array([0.01, 0.02]), np.array([[0.05], [np.nan]]),
                                          num=4)
    np.testing.assert_allclose(edges, [0.01, 0.02, 0.03, 0.04, 0.05])
    np.testing.assert_allclose(statistics.default_width_bins([2.0, 2.0], num=2), [1.5, 2.0, 2.5])
    with pytest.raises(ValueError):
        statistics.default_width_bins([np.nan])


def test_select_epoch():
    assert statistics.select_epoch([0.5, 0.2, 0.3], [0.5, 0.3, 0.1]) == 3  # means .5 .25 .2
    assert statistics.select_epoch([np.nan, 0.4, 0.4], [0.0, 0.2, 0.2]) == 2  # tie → earlier
    with pytest.raises(ValueError):
        statistics.select_epoch([], [])


def _uniform_scores(num_signal=501, num_background=1000):
    # Signal (photons) on a uniform grid over [0, 0.5], background (pi0) on [0, 1]; the
    # e-quantile of the signal is then exactly 0.5 e and FPR = 0.5 e.
    signal = np.linspace(0.0, 0.5, num_signal)
    background = (np.arange(num_background) + 0.5) / num_background
    return signal, background


def test_rejection_uniform_scores():
    signal, background = _uniform_scores()
    eff = np.array([0.5, 0.6, 0.8, 1.0])
    rejection, err, thresholds = statistics.rejection_at_efficiency(
        signal, np.random.default_rng(0).permutation(background), eff
    )
    np.testing.assert_allclose(thresholds, 0.5 * eff)
    np.testing.assert_allclose(rejection, 2.0 / eff)
    fpr = 0.5 * eff
    np.testing.assert_allclose(err, np.sqrt(fpr * (1 - fpr) / 1000) / fpr**2)
    # Scalar efficiency → scalars.
    r, e, t = statistics.rejection_at_efficiency(signal, background, 0.8)
    assert np.shape(r) == () and r == pytest.approx(2.5) and t == pytest.approx(0.4)
    assert e == pytest.approx(np.sqrt(0.4 * 0.6 / 1000) / 0.16)


def test_rejection_zero_and_full_fpr():
    signal = np.array([0.1, 0.2, 0.3, 0.4])
    background = np.array([0.5, 0.6, 0.9])
    rejection, err, thresholds = statistics.rejection_at_efficiency(signal, background, [0.5])
    assert rejection[0] == np.inf and np.isnan(err[0])
    np.testing.assert_allclose(thresholds, [0.25])
    # Everything selected: FPR = 1, rejection 1, no binomial spread.
    rejection, err, _ = statistics.rejection_at_efficiency([0.95, 1.0], background, [1.0])
    np.testing.assert_array_equal(rejection, [1.0])
    np.testing.assert_array_equal(err, [0.0])
    # Ties at the threshold are selected (score <= threshold).
    rejection, _, _ = statistics.rejection_at_efficiency([0.5, 0.5], [0.5, 0.7], [0.5])
    np.testing.assert_array_equal(rejection, [2.0])
    for bad in ([0.0], [1.01], [np.nan]):
        with pytest.raises(ValueError, match="efficiencies"):
            statistics.rejection_at_efficiency(signal, background, bad)


def test_rejection_curve():
    signal, background = _uniform_scores()
    eff, rejection, err = statistics.rejection_curve(signal, background)
    np.testing.assert_allclose(eff, np.linspace(0.5, 0.99, 50))
    np.testing.assert_allclose(rejection, 2.0 / eff, rtol=1e-2)  # FPR rounded to 1/1000
    assert np.all(np.diff(rejection) < 0) and err.shape == (50,)


def test_ks_of_a_sample_with_nan_is_nan():
    """A NaN width (a diverged generator's image) must not pass for a distribution."""
    a = np.linspace(0.0, 1.0, 50)
    assert np.isnan(statistics.ks_statistic(np.append(a, np.nan), a))
    assert np.isnan(statistics.ks_statistic(a, np.append(a, np.inf)))


def test_fit_resolution_recovers_known_terms():
    energy = np.array([5.0, 10.0, 50.0, 100.0, 400.0])
    sigma = np.sqrt(0.15**2 / energy + 0.01**2)
    a, b = statistics.fit_resolution(energy, sigma)
    assert a == pytest.approx(0.15, rel=1e-4) and b == pytest.approx(0.01, rel=1e-3)


def test_compare_samples_names_the_two_samples_and_separates_disjoint_ones():
    reference, other = np.arange(100.0), np.arange(100.0) + 1000.0
    metrics, histogram = statistics.compare_samples(reference, other, names=("hr", "sr"))
    assert metrics["separation_power"] == pytest.approx(1.0)
    assert metrics["hr"]["mean"] == pytest.approx(49.5)
    assert metrics["sr"]["mean"] == pytest.approx(1049.5)
    assert histogram["hr"].sum() == 100 and histogram["sr"].sum() == 100
    default, _ = statistics.compare_samples(reference, reference)
    assert default["separation_power"] == pytest.approx(0.0)
    assert set(default) == {"separation_power", "simulator", "gan"}


def test_chi2_distance_hand_computed():
    edges = np.array([0.0, 1.0, 2.0])
    # Counts a = (2, 1), A = 3; b = (1, 3), B = 4:
    # chi2 = [(4*2 - 3*1)^2 / 3 + (4*1 - 3*3)^2 / 4] / (3*4) = (25/3 + 25/4) / 12.
    a, b = [0.5, 0.5, 1.5], [0.5, 1.5, 1.5, 1.5]
    assert statistics.chi2_distance(a, b, edges) == pytest.approx((25 / 3 + 25 / 4) / 12)
    assert statistics.chi2_distance(b, a, edges) == pytest.approx((25 / 3 + 25 / 4) / 12)
    # Equal totals: sum (a - b)^2 / (a + b) = 1/3 + 1/3; empty bins and NaN (no jet) ignored.
    three = np.array([0.0, 1.0, 2.0, 3.0])
    assert statistics.chi2_distance([0.5, 0.5, 1.5, np.nan], [0.5, 1.5, 1.5], three) == (
        pytest.approx(2 / 3))
    assert statistics.chi2_distance(a, list(a), edges) == 0.0
    # Beyond the edges: counted in the end bins.
    assert statistics.chi2_distance([-5.0], [0.5], edges) == 0.0
    assert np.isnan(statistics.chi2_distance([np.nan], b, edges))
    with pytest.raises(ValueError, match="bins"):
        statistics.chi2_distance(a, b, np.array([1.0, 0.0]))


def test_chi2_distance_of_one_distribution_follows_its_degrees_of_freedom():
    rng = np.random.default_rng(5)
    values = [statistics.chi2_distance(rng.normal(size=5000), rng.normal(size=4000), 20)
              for _ in range(40)]
    # 20 shared bins (all filled): chi2 with 19 degrees of freedom; its mean over 40 draws.
    assert np.mean(values) == pytest.approx(19.0, abs=4.0)
    assert statistics.chi2_distance(rng.normal(size=5000), rng.normal(0.3, size=5000), 20) > 100


def test_frechet_distance_of_gaussians():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(4000, 3))
    assert statistics.frechet_distance(x, x.copy()) == pytest.approx(0.0, abs=1e-9)
    # Two samples of one Gaussian: only the sampling noise (about D(D+3)/2N per sample) is left.
    assert statistics.frechet_distance(x, rng.normal(size=(4000, 3))) < 0.02
    shift = np.array([1.0, -2.0, 0.5])
    assert statistics.frechet_distance(x, x + shift) == pytest.approx(np.sum(shift**2))
    # One dimension: (sigma_a - sigma_b)^2 + (mu_a - mu_b)^2, with sigma_b = 2 sigma_a.
    a = rng.normal(1.0, 0.5, size=300)
    b = 2.0 * a + 3.0
    sigma_a = np.std(a, ddof=1)
    expected = sigma_a**2 + (np.mean(b) - np.mean(a)) ** 2
    assert statistics.frechet_distance(a, b) == pytest.approx(expected)
    assert statistics.frechet_distance(a[:, None], b[:, None]) == pytest.approx(expected)


def test_frechet_distance_matches_the_matrix_square_root_and_survives_singular_covariances():
    rng = np.random.default_rng(7)
    a = rng.normal(size=(500, 4)) @ rng.normal(size=(4, 4))
    b = rng.normal(0.2, 1.5, size=(400, 4))
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    reference = (np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(cov_a + cov_b)
                 - 2.0 * np.trace(scipy.linalg.sqrtm(cov_a @ cov_b).real))
    assert statistics.frechet_distance(a, b) == pytest.approx(reference, rel=1e-8)
    # Fewer samples than features and a constant feature (ReLU features): singular covariances.
    few = rng.normal(size=(5, 10))
    few[:, 3] = 0.0
    distance = statistics.frechet_distance(few, rng.normal(size=(6, 10)))
    assert np.isfinite(distance) and distance > 0
    with pytest.raises(ValueError, match="N >= 2"):
        statistics.frechet_distance(few[:1], few)
    with pytest.raises(ValueError, match="dimension"):
        statistics.frechet_distance(few, few[:, :4])
