"""Compound-Poisson shower fluctuations."""

import numpy as np
import pytest

from caloml.sim import noise


@pytest.mark.parametrize("sparse", [True, False], ids=["scattered", "inverted"])
def test_poisson_counts_have_poisson_moments_for_small_and_large_means(sparse):
    lam = np.array([0.0, 0.003, 0.2, 1.0, 1.99, 2.0, 7.5, 400.0])
    expected = np.tile(lam, (40_000, 1))
    counts = noise.poisson_counts(expected, np.random.default_rng(0),
                                  direct_above=1.0 if sparse else 0.0)
    assert counts.dtype == np.float32
    assert (counts == np.round(counts)).all()
    assert (counts[:, 0] == 0).all()
    sem = np.sqrt(lam / len(counts))
    np.testing.assert_array_less(np.abs(counts.mean(0) - lam), 5 * sem + 1e-12)
    np.testing.assert_allclose(counts.var(0)[2:], lam[2:], rtol=0.05)
    for column, mean in ((2, 0.2), (4, 1.99)):
        for k in range(4):
            p = np.exp(-mean) * mean**k / np.prod(np.arange(1, k + 1))
            assert (counts[:, column] == k).mean() == pytest.approx(p, abs=0.01)


def test_counts_stay_in_their_row():
    expected = np.zeros((3, 5))
    expected[1, 2] = 1.5
    counts = noise.poisson_counts(np.tile(expected, (1000, 1)), np.random.default_rng(1))
    assert counts.sum() > 0
    mask = np.tile(expected, (1000, 1)) == 0
    assert counts[mask].sum() == 0


@pytest.mark.parametrize("shape", [0.7, 1.0, 50.0])
def test_compound_gamma_has_the_deposit_moments_exact_zeros_and_no_lattice(shape):
    rng = np.random.default_rng(2)
    mu = np.tile(np.array([[5.0, 1.0, 0.1, 0.0]]), (40_000, 1))
    quantum = np.full(40_000, 0.05)
    cells = noise.mixed_compound_gamma([mu], [quantum], [shape], rng)
    assert cells.dtype == np.float32 and (cells >= 0).all()
    np.testing.assert_allclose(cells.mean(0), mu[0], rtol=0.02, atol=1e-3)
    # Var = q(1 + 1/k)·μ; a cell is empty when no deposit lands: P = exp(−μ/q).
    np.testing.assert_allclose(cells.var(0)[:3], 0.05 * (1 + 1 / shape) * mu[0, :3], rtol=0.05)
    assert (cells[:, 2] == 0).mean() == pytest.approx(np.exp(-0.1 / 0.05), abs=0.01)
    assert (cells[:, 3] == 0).all()
    # Continuous values: no cell is a multiple of one quantum per event.
    nonzero = cells[:, 2][cells[:, 2] > 0]
    assert len(np.unique(nonzero)) > 0.99 * len(nonzero)
    assert not np.allclose(nonzero / 0.05, np.round(nonzero / 0.05), atol=1e-3)


def test_keep_sums_rescales_rows_and_returns_empty_rows_energy():
    noisy = np.array([[1.0, 3.0], [0.0, 0.0], [2.0, 0.0]], np.float32)
    scaled, empty = noise.keep_sums(noisy, np.array([2.0, 0.5, 1.0]))
    np.testing.assert_allclose(scaled, [[0.5, 1.5], [0.0, 0.0], [1.0, 0.0]])
    np.testing.assert_allclose(empty, [0.0, 0.5, 0.0])


def test_mixed_kinds_have_the_summed_moments_and_the_joint_empty_probability():
    rng = np.random.default_rng(4)
    rows = 40_000
    core = np.tile(np.array([[2.0, 0.2, 0.0, 0.0]]), (rows, 1))
    halo = np.tile(np.array([[0.05, 0.01, 0.003, 0.0]]), (rows, 1))
    quanta = [np.full(rows, 0.04), np.full(rows, 0.001)]
    shapes = [1.0, 0.7]
    cells = noise.mixed_compound_gamma([core, halo], quanta, shapes, rng)
    assert cells.dtype == np.float32 and (cells >= 0).all()
    mean = core[0] + halo[0]
    variance = core[0] * 0.04 * 2.0 + halo[0] * 0.001 * (1 + 1 / 0.7)
    np.testing.assert_allclose(cells.mean(0)[:3], mean[:3], rtol=0.02)
    np.testing.assert_allclose(cells.var(0)[:3], variance[:3], rtol=0.06)
    rate = core[0] / 0.04 + halo[0] / 0.001
    np.testing.assert_allclose((cells == 0).mean(0)[1:3], np.exp(-rate[1:3]), atol=0.01)
    assert (cells[:, 3] == 0).all()
