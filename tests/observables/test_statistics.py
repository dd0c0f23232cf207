"""Tests of caloml.observables.statistics against analytic answers."""

import numpy as np
import pytest
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
