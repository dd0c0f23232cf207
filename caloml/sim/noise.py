"""Shower fluctuations as compound-Poisson noise on expected images.

Given the expected image μ (GeV per cell) of one kind of deposit and the mean energy q of one
deposit, a cell holds n ~ Poisson(μ/q) deposits (PHYSICS.md §8, "expected image +
compound-Poisson noise") whose energies are Gamma-distributed: the same mean and variance per
cell as explicit spots, at a cost independent of the energy, with continuous cell values
(:func:`mixed_compound_gamma`, for several kinds of deposit at once). Which deposits a shower
is made of: :mod:`caloml.sim.cells`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Cells with fewer expected hits than this are sampled together: one Poisson count per row for
# their sum, scattered over them in proportion to their expectation (exactly equivalent to
# independent Poisson draws, and much cheaper when most cells are nearly empty) ...
SCATTER_BELOW = 2.0
# ... unless they expect more than this many hits per cell on average: then every cell is drawn
# by inversion (measured: faster from ~0.003 on).
DIRECT_ABOVE = 0.003
# Cells per block of rows drawn at once by mixed_compound_gamma (1 MB of float32; measured
# fastest among 2^16-2^20 for 96 × 96 images).
BLOCK_CELLS = 1 << 18
# Rows of fluctuated cells holding less than this in all are empty (keep_sums).
EMPTY_BELOW_GEV = 1e-20


def small_poisson(expected: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Poisson draws of small means (≲ 2) by inversion of the CDF, float32.

    One uniform per cell, compared with the cumulative probabilities e^{−λ}·Σ_{j≤k} λ^j/j!,
    which are built only for the cells still above them (a shrinking set): ~25% faster than
    numpy's sampler for means below 2.
    """
    lam = np.asarray(expected, np.float32).ravel()
    u = rng.random(lam.size, np.float32)
    term = np.exp(-lam)
    counts = np.zeros(lam.size, np.float32)
    active = np.flatnonzero(u > term)
    cdf = term[active]
    term = term[active]
    k = 0
    while active.size:
        k += 1
        term = term * lam[active] / k
        cdf = cdf + term
        counts[active] = k
        # Rounding can leave the float32 CDF just below a uniform near 1: stop at a count whose
        # probability is negligible for these means.
        more = (u[active] > cdf) & (term > 1e-12)
        active, cdf, term = active[more], cdf[more], term[more]
    return counts.reshape(np.shape(expected))


def poisson_counts(expected: np.ndarray, rng: np.random.Generator,
                   direct_above: float = DIRECT_ABOVE) -> np.ndarray:
    """Independent Poisson draws with means ``expected`` ([N, cells], ≥ 0), as float32.

    Cells with large means use numpy's Poisson sampler. The rest, when they expect more than
    ``direct_above`` hits per cell on average, are drawn one by one (:func:`small_poisson`);
    otherwise per row as a Poisson total distributed multinomially over the cells, which has the
    same law.
    """
    lam = np.asarray(expected, np.float32)
    rows, cells = lam.shape
    high = lam >= SCATTER_BELOW
    low = np.where(high, np.float32(0.0), lam).ravel()
    if low.sum(dtype=np.float64) > direct_above * low.size:
        # Many hits among the low cells: scattering them costs more than drawing every cell.
        counts = small_poisson(low.reshape(lam.shape), rng)
        counts[high] = rng.poisson(lam[high])
        return counts
    counts = np.zeros(lam.shape, np.float32)
    counts[high] = rng.poisson(lam[high])

    cumulative = np.cumsum(low, dtype=np.float64)
    row_end = cumulative[cells - 1 :: cells]
    row_start = np.concatenate([[0.0], row_end[:-1]])
    per_row = rng.poisson(row_end - row_start)
    total = int(per_row.sum())
    if total:
        row_of_hit = np.repeat(np.arange(rows), per_row)
        position = row_start[row_of_hit] + rng.random(total) * (row_end - row_start)[row_of_hit]
        flat = np.searchsorted(cumulative, position, side="right")
        # Keep each hit inside its own row even if rounding lands on a boundary.
        flat = np.clip(flat, row_of_hit * cells, row_of_hit * cells + cells - 1)
        counts += np.bincount(flat, minlength=rows * cells).reshape(rows, cells)
    return counts


def mixed_compound_gamma(
    expected_gev: Sequence[np.ndarray], quanta_gev: Sequence[np.ndarray],
    shapes: Sequence[float], rng: np.random.Generator,
) -> np.ndarray:
    """Cells holding deposits of several kinds, drawn in one pass.

    Kind i has expected energy μ_i per cell and deposits of mean q_i with Gamma shape k_i. The
    number of deposits of all kinds is Poisson(λ), λ = Σ μ_i/q_i, exactly (so is the chance
    e^{−λ} of an empty cell); the energy of the n deposits of a cell is drawn as a Gamma with the
    mean and variance of n draws from the mixture of the kinds, whose single-deposit mean is
    m = Σμ_i/λ and second moment Σ μ_i q_i(1 + 1/k_i)/λ: the cell's mean (Σμ_i) and variance
    (Σ μ_i q_i (1 + 1/k_i)) are those of independent compound-Poisson kinds, and where one kind
    fills a cell its n deposits are exactly ``Gamma(n·k, q/k)``. One Poisson and one Gamma draw
    per cell instead of one per kind.

    Args:
        expected_gev: K arrays [N, cells].
        quanta_gev: K arrays [N]: mean deposit energy of each kind per row.
        shapes: K Gamma shapes.

    Returns:
        [N, cells] float32.
    """
    rows, cells = np.shape(expected_gev[0])
    block = max(1, BLOCK_CELLS // cells)
    if rows > block:
        # Blocks of rows small enough for the CPU caches: the ~20 passes over the cells then
        # run from cache instead of memory (≈15% faster for 96 × 96 images, and two worker
        # processes compete less for memory bandwidth).
        return np.concatenate([
            mixed_compound_gamma([mu[start:start + block] for mu in expected_gev],
                                 [q[start:start + block] for q in quanta_gev], shapes, rng)
            for start in range(0, rows, block)])
    mus = [np.asarray(mu, np.float32) for mu in expected_gev]
    quanta = [np.asarray(q, np.float32) for q in quanta_gev]
    rate = mus[0] / quanta[0][:, None]
    for mu, q in zip(mus[1:], quanta[1:], strict=True):
        rate += mu / q[:, None]
    counts = poisson_counts(rate, rng)
    rows, cells = counts.shape
    hit = np.flatnonzero(counts)
    row = hit // cells
    # The cell's mean and second moment, Σμ_i and Σ μ_i q_i (1 + 1/k_i), at the hit cells only.
    total = np.zeros(hit.size, np.float32)
    second = np.zeros(hit.size, np.float32)
    for mu, q, k in zip(mus, quanta, shapes, strict=True):
        values = mu.ravel()[hit]
        total += values
        second += values * (q[row] * np.float32(1.0 + 1.0 / k))
    lam = rate.ravel()[hit]
    mean = total / lam
    variance = np.maximum(second / lam - mean**2, np.float32(1e-12) * mean**2)
    out = np.zeros(rows * cells, np.float32)
    out[hit] = rng.standard_gamma(counts.ravel()[hit] * (mean**2 / variance),
                                  dtype=np.float32) * (variance / mean)
    return out.reshape(rows, cells)


def keep_sums(noisy_gev: np.ndarray, target_gev: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rescales each row of ``noisy_gev`` to sum to ``target_gev`` (total-absorption readout).

    In a calorimeter that reads all deposited energy, the fluctuations of a shower move energy
    between cells, not out of the layer (that is leakage, which the expected image already
    carries): for independent Gamma cells the rescaled shares are exactly Dirichlet. A row
    without any deposit stays empty.

    Returns:
        (rescaled rows [N, cells] float32, [N] target energy of the empty rows (0 elsewhere),
        which the caller books as leakage).
    """
    total = noisy_gev.sum(axis=1, dtype=np.float64)
    target = np.asarray(target_gev, np.float64)
    # Gamma draws of small shape can be denormal float32 numbers: a row holding less than
    # EMPTY_BELOW_GEV in all counts as empty (its scale would overflow float32).
    filled = total > EMPTY_BELOW_GEV
    scale = np.divide(target, total, out=np.zeros_like(total), where=filled)
    noisy = np.where(filled[:, None], noisy_gev, np.float32(0.0))
    return noisy * scale[:, None].astype(np.float32), np.where(filled, 0.0, target)
