"""Landau energy-loss fluctuations of charged particles crossing thin layers.

A charged particle crossing a layer loses energy in many small collisions and a few large ones
(δ-rays): the loss follows Landau's distribution, with a sharp peak at the most probable value
Δ_p and a long tail to high losses (PDG, "Passage of particles through matter", §34.2.9):

    Δ = Δ_p + ξ·(λ + 0.22278),    λ ~ Landau(0, 1)   (mode of λ at −0.22278)

with ξ = (K/2)(Z/A)(ρx)/β² the width parameter and λ distributed as Landau's φ(λ) (mode at
−0.22278, full width at half maximum 4.018). λ is drawn with the Chambers–Mallows–Stuck
transformation of two uniform draws, which gives the stable law of index 1 and skewness 1 in
Nolan's S1 form X (scipy's ``scipy.stats.landau``, mode −0.4293, FWHM 2.558); φ's variable is
λ = (π/2)·X + ln(π/2) (tested against both). Vectorised and ~20x faster than an inverse CDF.

The Landau tail has no mean. Real losses are bounded (the largest energy transfer to one
electron, and δ-rays of high energy leave a thin layer), so the variate is truncated at
``max_lambda``: draws above it are redrawn.
"""

from __future__ import annotations

import numpy as np

# Offset between the location of the standard Landau density and its mode (PDG §34.2.9).
MODE = -0.22278


def standard(size, rng: np.random.Generator, max_lambda: float | None = None) -> np.ndarray:
    """Landau variates λ of the density φ(λ) (PDG convention, mode −0.22278), float64.

    Args:
        size: output shape.
        rng: random generator.
        max_lambda: redraw variates above this value (None: no truncation).
    """
    half_pi = np.pi / 2
    out = np.empty(size, np.float64)
    flat = out.reshape(-1)
    todo = np.arange(flat.size)
    while todo.size:
        u = rng.uniform(-half_pi, half_pi, todo.size)
        w = rng.exponential(1.0, todo.size)
        stable = (2.0 / np.pi) * (
            (half_pi + u) * np.tan(u) - np.log(half_pi * w * np.cos(u) / (half_pi + u))
        )  # scipy.stats.landau (S1)
        flat[todo] = half_pi * stable + np.log(half_pi)
        if max_lambda is None:
            break
        todo = todo[flat[todo] > max_lambda]
    return out


def energy_loss(
    most_probable: np.ndarray,
    width: np.ndarray,
    rng: np.random.Generator,
    max_lambda: float | None = None,
) -> np.ndarray:
    """Landau-distributed energy losses ``Δ_p + ξ(λ + 0.22278)``, clipped at zero.

    Args:
        most_probable: Δ_p, the most probable loss (any energy unit; broadcast shape).
        width: ξ, the Landau width parameter in the same unit.
        rng: random generator.
        max_lambda: truncation of λ (see :func:`standard`).
    """
    mpv, xi = np.broadcast_arrays(np.asarray(most_probable, np.float64),
                                  np.asarray(width, np.float64))
    lam = standard(mpv.shape, rng, max_lambda)
    return np.maximum(mpv + xi * (lam - MODE), 0.0)


def pdf(lam: np.ndarray) -> np.ndarray:
    """Landau's density φ(λ) = (2/π)·f_S1((λ − ln(π/2))·2/π), f_S1 = ``scipy.stats.landau``."""
    from scipy import stats

    return (2.0 / np.pi) * stats.landau.pdf((np.asarray(lam) - np.log(np.pi / 2)) * 2.0 / np.pi)


def truncated_mean(max_lambda: float, num: int = 400_001) -> float:
    """Mean of φ(λ) truncated at ``max_lambda`` (numerical, for calibration)."""
    grid = np.linspace(-4.0, max_lambda, num)
    pdf_values = pdf(grid)
    return float(np.trapezoid(grid * pdf_values, grid) / np.trapezoid(pdf_values, grid))
