"""Pre-processing of the SR-GAN for SR-γ calorimeter images (paper 000, section 2).

Two steps turn a simulated ``lr`` [N, 24, 24] / ``hr`` [N, 96, 96] pair into network inputs:

1. the 6×6 LR sub-image with the largest energy sum and the matching 24×24 HR sub-image are
   selected (about 99 % of the energy, since a 22 mm crystal is about one Molière radius);
2. every cell is divided by the energy sum of the selected window and power-scaled with
   ``E**p``, ``p = 0.3``, to reduce the sparsity of the images.

:func:`postprocess_srgamma` inverts step 2 for network outputs. Pure numpy, no TensorFlow.
"""

from __future__ import annotations

import numpy as np

from caloml.sim import srgamma as srgamma_geometry

# Paper 000, section 2: "we select the 6×6 sub-image that contains the largest sum of energy
# within our LR simulation of 24×24 crystals".
WINDOW_SIZE = 6
# Paper 000, section 2: the HR segmentation is "4×4 finer" than the LR crystals.
UPSCALE = srgamma_geometry.SEGMENTATION
# The networks' windows: 6 × 6 LR crystals and the 24 × 24 HR (or SR) cells covering them.
HR_WINDOW_SIZE = WINDOW_SIZE * UPSCALE
WINDOW_MM = WINDOW_SIZE * srgamma_geometry.CRYSTAL_MM
# Paper 000, section 2: "choosing p = 0.3 leads to a notable improvement".
POWER = 0.3

# Window sums differing by less than this fraction of the image's total |energy| are ties:
# the summed-area table subtracts large partial sums, so exact ties can come out a few ulp apart.
_TIE_RTOL = 1e-9


def _check_images(lr: np.ndarray, hr: np.ndarray | None, size: int, factor: int) -> None:
    if lr.ndim != 3:
        raise ValueError(f"lr must have shape [N, height, width], got shape {lr.shape}")
    if not isinstance(factor, (int, np.integer)) or factor < 1:
        raise ValueError(f"factor must be a positive integer, got {factor!r}")
    if not isinstance(size, (int, np.integer)) or not 1 <= size <= min(lr.shape[1:]):
        raise ValueError(
            f"size must be an integer in [1, {min(lr.shape[1:])}] for lr of shape {lr.shape}, "
            f"got {size!r}"
        )
    if hr is not None:
        expected = (lr.shape[0], lr.shape[1] * factor, lr.shape[2] * factor)
        if hr.shape != expected:
            raise ValueError(
                f"hr must have shape {list(expected)} (factor={factor} times lr {lr.shape}), "
                f"got shape {hr.shape}"
            )


def _window_sums(lr: np.ndarray, size: int) -> np.ndarray:
    """Energy sums of every ``size``×``size`` window of ``lr`` [N, H, W] via a summed-area table.

    Returns:
        float64 [N, H - size + 1, W - size + 1]; entry (i, j) is ``lr[:, i:i+size, j:j+size]``
        summed.
    """
    n, height, width = lr.shape
    table = np.zeros((n, height + 1, width + 1), dtype=np.float64)
    table[:, 1:, 1:] = lr.astype(np.float64).cumsum(axis=1).cumsum(axis=2)
    return (
        table[:, size:, size:]
        - table[:, :-size, size:]
        - table[:, size:, :-size]
        + table[:, :-size, :-size]
    )


def _gather(images: np.ndarray, origin: np.ndarray, size: int) -> np.ndarray:
    """Returns ``images[n, r:r+size, c:c+size]`` for every example, with (r, c) = origin[n]."""
    offsets = np.arange(size)
    rows = origin[:, 0, None] + offsets  # [N, size]
    cols = origin[:, 1, None] + offsets
    examples = np.arange(len(images))[:, None, None]
    return images[examples, rows[:, :, None], cols[:, None, :]]


def select_window(
    lr: np.ndarray,
    hr: np.ndarray | None,
    size: int = WINDOW_SIZE,
    factor: int = UPSCALE,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Selects the LR window with the largest energy sum and the matching HR window.

    The window lies fully inside the LR image. Ties go to the first position in row-major
    order (for an all-zero image: the top-left corner).

    Args:
        lr: LR images [N, H, W] in GeV.
        hr: HR images [N, H * factor, W * factor] in GeV, or None at inference time, when only
            the LR image exists.
        size: LR window size in crystals.
        factor: HR cells per LR crystal along each axis.

    Returns:
        ``(lr_window, hr_window, origin)``: ``lr_window`` [N, size, size], ``hr_window``
        [N, size * factor, size * factor] (None if ``hr`` is None), both in the input dtype,
        and ``origin`` [N, 2] int64, the (row, col) of the LR window's first crystal. The HR
        window starts at ``factor * origin``.

    Raises:
        ValueError: if the shapes do not fit (naming ``lr``, ``hr``, ``size`` or ``factor``).
    """
    lr = np.asarray(lr)
    hr = None if hr is None else np.asarray(hr)
    _check_images(lr, hr, size, factor)
    n = lr.shape[0]
    positions_per_row = lr.shape[2] - size + 1
    sums = _window_sums(lr, size).reshape(n, (lr.shape[1] - size + 1) * positions_per_row)
    if n:
        tolerance = _TIE_RTOL * np.abs(lr.astype(np.float64)).sum(axis=(1, 2))
        # argmax of a boolean array returns its first True: the first tie in row-major order.
        best = np.argmax(sums >= sums.max(axis=1, keepdims=True) - tolerance[:, None], axis=1)
    else:
        best = np.zeros(0, dtype=np.int64)
    origin = np.stack([best // positions_per_row, best % positions_per_row], axis=1).astype(
        np.int64
    )
    lr_window = _gather(lr, origin, size)
    hr_window = None if hr is None else _gather(hr, origin * factor, size * factor)
    return lr_window, hr_window, origin


def normalise(
    lr_window: np.ndarray, hr_window: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Divides the windows by the energy sum of the selected LR window (paper 000, section 2).

    The LR window sum is used for both images: it is the same energy as the HR window sum (LR
    crystals are sums of HR cells), and it is the only one known when super-resolving data.
    Windows without energy stay zero and report a sum of 0 (no NaN or inf).

    Args:
        lr_window: [N, h, w] in GeV.
        hr_window: [N, h * factor, w * factor] in GeV, or None.

    Returns:
        ``(lr_n, hr_n, window_sum_gev)``: the normalised windows (float32; ``hr_n`` is None if
        ``hr_window`` is) and the window sums [N] float32 in GeV.
    """
    lr_window = np.asarray(lr_window)
    if lr_window.ndim < 2:
        raise ValueError(f"lr_window must have shape [N, ...], got shape {lr_window.shape}")
    if hr_window is not None and len(hr_window) != len(lr_window):
        raise ValueError(f"hr_window has {len(hr_window)} examples, lr_window has {len(lr_window)}")
    window_sum = lr_window.astype(np.float64).sum(axis=tuple(range(1, lr_window.ndim)))
    positive = window_sum > 0
    scale = np.divide(1.0, window_sum, out=np.zeros_like(window_sum), where=positive)
    window_sum = np.where(positive, window_sum, 0.0)

    def apply(images: np.ndarray) -> np.ndarray:
        images = np.asarray(images, dtype=np.float64)
        return (images * scale.reshape(-1, *([1] * (images.ndim - 1)))).astype(np.float32)

    hr_n = None if hr_window is None else apply(hr_window)
    return apply(lr_window), hr_n, window_sum.astype(np.float32)


def _check_power(p: float) -> None:
    if not 0 < p <= 1:
        raise ValueError(f"power p must be in (0, 1], got p={p!r}")


def _as_float(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float32)


def power_scale(x: np.ndarray, p: float = POWER) -> np.ndarray:
    """Returns ``max(x, 0) ** p``, elementwise (paper 000, section 2).

    Args:
        x: normalised energies, any shape. Negative values (never physical) clamp to 0.
        p: exponent in (0, 1].

    Returns:
        Array of the shape of ``x``, in its float dtype (float32 for integer input).
    """
    _check_power(p)
    x = _as_float(x)
    return np.power(np.maximum(x, 0), p, dtype=x.dtype)


def inverse_power_scale(y: np.ndarray, p: float = POWER) -> np.ndarray:
    """Inverse of :func:`power_scale`: ``max(y, 0) ** (1 / p)``, elementwise.

    Negative values, which a network may output, clamp to 0.
    """
    _check_power(p)
    y = _as_float(y)
    return np.power(np.maximum(y, 0), 1.0 / p, dtype=y.dtype)


def preprocess_srgamma(
    lr: np.ndarray,
    hr: np.ndarray | None,
    p: float = POWER,
    size: int = WINDOW_SIZE,
) -> dict[str, np.ndarray]:
    """Window selection, normalisation and power scaling of SR-γ images (paper 000, section 2).

    Args:
        lr: LR images [N, 24, 24] in GeV.
        hr: HR images [N, 96, 96] in GeV, or None when only LR images exist (inference).
        p: power-scaling exponent in (0, 1].
        size: LR window size in crystals; the HR window is ``UPSCALE * size`` cells wide.

    Returns:
        Dict with ``lr`` [N, size, size] and ``hr`` [N, 4 * size, 4 * size] (normalised and
        power-scaled, float32; no ``hr`` key if ``hr`` is None), ``window_sum_gev`` [N]
        float32 (energy of the selected LR window) and ``origin`` [N, 2] int32 (row, col of
        the LR window).
    """
    _check_power(p)
    lr_window, hr_window, origin = select_window(lr, hr, size=size, factor=UPSCALE)
    lr_n, hr_n, window_sum_gev = normalise(lr_window, hr_window)
    out = {
        "lr": power_scale(lr_n, p),
        "window_sum_gev": window_sum_gev,
        "origin": origin.astype(np.int32),
    }
    if hr_n is not None:
        out["hr"] = power_scale(hr_n, p)
    return out


def postprocess_srgamma(
    images: np.ndarray, window_sum_gev: np.ndarray, p: float = POWER
) -> np.ndarray:
    """Maps power-scaled, normalised images (network outputs or inputs) back to GeV.

    Args:
        images: [N, ...], e.g. SR images [N, 24, 24] or [N, 24, 24, 1].
        window_sum_gev: [N], the ``window_sum_gev`` of :func:`preprocess_srgamma`.
        p: the exponent used in pre-processing.

    Returns:
        float32 [N, ...] in GeV: ``max(images, 0) ** (1 / p) * window_sum_gev``.
    """
    images = np.asarray(images, dtype=np.float32)
    window_sum_gev = np.asarray(window_sum_gev, dtype=np.float32)
    if window_sum_gev.shape != images.shape[:1]:
        raise ValueError(
            f"window_sum_gev must have shape [{len(images)}] to match images {images.shape}, "
            f"got shape {window_sum_gev.shape}"
        )
    scale = window_sum_gev.reshape(-1, *([1] * (images.ndim - 1)))
    return inverse_power_scale(images, p) * scale
