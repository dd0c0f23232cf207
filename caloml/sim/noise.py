"""Shower fluctuations as compound-Poisson noise on expected images.

GFlash deposits a shower as N_spot equal-energy spots. Given the expected image μ (GeV per
cell) and the spot energy e, the number of spots in a cell is Poisson(μ/e) and the cell holds
e times that (PHYSICS.md §8, "expected image + compound-Poisson noise"): the same mean and
variance per cell as the spot picture, at a cost independent of the energy.
"""

from __future__ import annotations

import numpy as np

# Cells with fewer expected spots than this are sampled together: one Poisson count for their
# sum, scattered over them in proportion to their expectation (exactly equivalent to independent
# Poisson draws, and ~5x cheaper than drawing each of the mostly empty cells).
SCATTER_BELOW = 2.0


def poisson_counts(expected: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Independent Poisson draws with means ``expected`` ([N, cells], ≥ 0), as float32.

    Cells with large means use numpy's Poisson sampler; the rest are drawn per row as a
    Poisson total distributed multinomially over the cells, which has the same law.
    """
    lam = np.asarray(expected, np.float64)
    rows, cells = lam.shape
    counts = np.zeros(lam.shape, np.float32)
    high = lam >= SCATTER_BELOW
    counts[high] = rng.poisson(lam[high])

    low = np.where(high, 0.0, lam).ravel()
    cumulative = np.cumsum(low)
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


def add_shower_noise(
    image_gev: np.ndarray, spot_energy_gev: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Replaces expected images by fluctuating ones with the same total in each image.

    Args:
        image_gev: [N, cells] expected energies.
        spot_energy_gev: [N] spot energy of each shower.

    Returns:
        [N, cells] float32: ``e·Poisson(μ/e)``, rescaled so each image keeps its expected sum
        (the conditional multinomial of PHYSICS.md §8.5: a homogeneous total-absorption
        calorimeter's in-window deposit fluctuates through leakage, which the expected image
        already carries, not through the spot count).
    """
    spot = np.asarray(spot_energy_gev, np.float64)[:, None]
    counts = poisson_counts(image_gev / spot, rng)
    expected_sum = image_gev.sum(axis=1, dtype=np.float64)
    count_sum = counts.sum(axis=1, dtype=np.float64)
    scale = np.divide(expected_sum, count_sum, out=np.zeros_like(expected_sum),
                      where=count_sum > 0)
    noisy = counts * scale[:, None].astype(np.float32)
    # A shower with no spot at all inside the window keeps its (tiny) expected image.
    empty = count_sum == 0
    noisy[empty] = image_gev[empty]
    return noisy
