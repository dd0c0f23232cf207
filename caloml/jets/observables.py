"""Jet observables of jet images (paper 001, Eq. 9, Figs. 4–7 and 11).

Jet images are ``[N, H, W]`` arrays of pixel pT in GeV, axis 1 = η, axis 2 = φ, with square
pixels of ``pixel_size`` rad (caloml's 160×160 HR grid: 2π/640; a low-resolution image
sum-pooled by ``f`` has ``f · pixel_size``). Every pixel above ``threshold_gev`` is a massless
constituent at its pixel centre, at ``(i - (H - 1) / 2, j - (W - 1) / 2) · pixel_size`` from
the image centre. Only differences of (pseudo)rapidity and azimuth enter the observables, so
they are invariant under moving the image content (a longitudinal boost or a rotation about
the beam) and need no absolute jet position.

Observables (:func:`jet_observables`, all per jet):

* ``pt``: transverse momentum of the summed four-momentum (GeV);
* ``mass``: ``m_jet = sqrt((Σ p_i)^2)`` (GeV);
* ``girth``: ``w_pf = Σ pT_i ΔR_(i,jet) / Σ pT_i``, the jet axis being the rapidity and
  azimuth of the summed four-momentum (FastJet's convention: ``ΔR`` in ``(y, φ)``, which for
  the massless constituents is ``(η, φ)``);
* ``c02``: ``C_0.2 = Σ_(i,j) pT_i pT_j ΔR_ij^0.2 / (Σ pT_i)^2`` over *all ordered pairs*
  ``(i, j)`` (``i = j`` contributes 0; the sum over ``i < j`` is half of it);
* ``tau1``, ``tau2``, ``tau3``: N-subjettiness ``τ_N = Σ_k pT_k min_a ΔR_(a,k) / (Σ_k pT_k R0)``
  with the axes ``a`` the exclusive-kT subjets (E-scheme) of FastJet clustered down to ``N``
  jets; ``τ_N = 0`` when a jet has at most ``N`` constituents (each is its own axis). One
  exclusive-kT jet is the summed four-momentum, so ``τ1 = w_pf / R0``. On a pixel grid a soft
  pixel is often equally far from two harder ones; the kT distances then tie and FastJet
  resolves the tie by rounding, so ``τ2``, ``τ3`` of such a jet may change slightly when its
  content is moved by whole pixels (every other observable is exactly invariant);
* ``tau21 = τ2/τ1`` and ``tau32 = τ3/τ2``, NaN where the denominator is 0;
* ``num_constituents``: the number of active pixels (above the threshold).

A jet with no pixel above threshold has ``pt = mass = num_constituents = 0`` and NaN girth,
``C_0.2`` and ``τ_N`` (all divide by ``Σ pT = 0``); a jet of one pixel has exactly 0 mass,
girth, ``C_0.2`` and ``τ_N`` (and so NaN ratios). A jet image holding a NaN or infinite
pixel (a diverged network's output) gets NaN for every observable: it must never pass for a
real jet.

Image-level tools for the paper's comparisons: :func:`leading_constituents` (the ``E_1 …
E_15`` spectra of Fig. 4), :func:`sum_pool` (HR → LR), :func:`average_patch` (the average
``f × f`` patches of Fig. 4), :func:`relative_difference` (Eq. 10), :func:`closer_fraction`
(the ``p`` of Fig. 7) and :func:`wasserstein_leading` (Fig. 11).
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.fft
import scipy.stats

from caloml.errors import InputError, UsageError

# Jets per chunk of jet_observables: bounds the [chunk, K] constituent temporaries.
_CHUNK = 512
# Constituent slots (jets × K) processed at once, whatever `chunk` says (~32 MB per array).
_CONSTITUENT_ELEMENTS = 1 << 22
# Elements per batch of the C_0.2 Fourier transforms (~32 MB of complex128 per batch).
_FFT_ELEMENTS = 1 << 21
# The exclusive-kT clustering for the N-subjettiness axes uses FastJet's largest allowed R
# (JetDefinition::max_allowable_R, as fastjet-contrib's Nsubjettiness ExclusiveJetAxes) so no
# constituent is ever merged with the beam before all pairwise merges.
_KT_R = 1000.0

OBSERVABLE_LABELS: dict[str, str] = {
    "pt": "p_T,jet [GeV]",
    "mass": "m_jet [GeV]",
    "girth": "w_pf",
    "c02": "C_0.2",
    "tau1": "τ₁",
    "tau2": "τ₂",
    "tau3": "τ₃",
    "tau21": "τ₂/τ₁",
    "tau32": "τ₃/τ₂",
    "num_constituents": "active pixels",
}


def _as_images(images: np.ndarray, name: str = "images") -> np.ndarray:
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 3:
        raise InputError(f"{name} must have shape [N, H, W], got shape {images.shape}")
    return images


def _check_positive(value: float, name: str) -> None:
    if not (np.isfinite(value) and value > 0):
        raise InputError(f"{name} must be a positive number, got {value}")


def _check_threshold(threshold_gev: float) -> None:
    if not (np.isfinite(threshold_gev) and threshold_gev >= 0):
        raise InputError(f"threshold_gev must be a finite number >= 0, got {threshold_gev}")


def _wrap(dphi: np.ndarray) -> np.ndarray:
    """Azimuth differences mapped into [-π, π)."""
    return (dphi + np.pi) % (2.0 * np.pi) - np.pi


def _rapidity(e_plus_pz: np.ndarray, e_minus_pz: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return 0.5 * np.log(e_plus_pz / e_minus_pz)


def pixel_constituents(
    images: np.ndarray,
    pixel_size: float,
    threshold_gev: float = 0.0,
    max_constituents: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The active pixels of each image as a padded list of massless constituents.

    Args:
        images: ``[N, H, W]`` pixel pT in GeV (axis 1 = η, axis 2 = φ); finite values only.
        pixel_size: pixel side in rad.
        threshold_gev: pixels with pT ``<= threshold_gev`` are dropped.
        max_constituents: keep at most this many (the hardest) per jet; None keeps all.

    Returns:
        ``(pt, deta, dphi, mask)``, each ``[N, K]`` with ``K`` the largest number of kept
        constituents of any jet: pT in GeV sorted descending (ties in pixel order), the pixel
        centre's η and φ relative to the image centre in rad, and True for real entries.
        Padding entries are 0 (False in ``mask``).

    Raises:
        InputError: if the images are not 3-D or hold non-finite pixels, or an argument is out
            of range.
    """
    images = _as_images(images)
    _check_positive(pixel_size, "pixel_size")
    _check_threshold(threshold_gev)
    if max_constituents is not None and max_constituents < 1:
        raise InputError(f"max_constituents must be a positive integer, got {max_constituents}")
    if not np.isfinite(images).all():
        raise InputError("images hold NaN or infinite pixels; pixel_constituents needs finite pT")
    n, h, w = images.shape
    flat = images.reshape(n, h * w)
    rows, cols = np.nonzero(flat > threshold_gev)
    values = flat[rows, cols]
    order = np.lexsort((cols, -values, rows))
    rows, cols, values = rows[order], cols[order], values[order]
    counts = np.bincount(rows, minlength=n)
    k = int(counts.max()) if n else 0
    if max_constituents is not None:
        k = min(k, int(max_constituents))
    position = np.arange(rows.size) - (np.cumsum(counts) - counts)[rows]
    keep = position < k
    rows, cols, values, position = rows[keep], cols[keep], values[keep], position[keep]
    pt = np.zeros((n, k))
    deta = np.zeros((n, k))
    dphi = np.zeros((n, k))
    mask = np.zeros((n, k), dtype=bool)
    pt[rows, position] = values
    deta[rows, position] = (cols // w - 0.5 * (h - 1)) * pixel_size
    dphi[rows, position] = (cols % w - 0.5 * (w - 1)) * pixel_size
    mask[rows, position] = True
    return pt, deta, dphi, mask


def _c02(images: np.ndarray, pixel_size: float) -> np.ndarray:
    """``Σ_(i,j) pT_i pT_j ΔR_ij^0.2`` over all ordered pixel pairs, ``[N]``.

    ΔR between two pixels depends only on their offset, so the pair sum is the image's
    autocorrelation weighted by ``ΔR(offset)^0.2``; by Parseval it is evaluated in Fourier
    space, which costs the same for sparse HR and dense SR images.
    """
    n, h, w = images.shape
    ph = scipy.fft.next_fast_len(2 * h - 1, real=True)
    pw = scipy.fft.next_fast_len(2 * w - 1, real=True)
    # Signed offsets of the zero-padded (non-wrapping) autocorrelation.
    di = np.fft.fftfreq(ph, 1.0 / ph)
    dj = np.fft.fftfreq(pw, 1.0 / pw)
    weight = (pixel_size * np.hypot(di[:, None], dj[None, :])) ** 0.2
    # The weight is even in the offset, so its transform is real.
    weight_hat = scipy.fft.rfft2(weight).real
    # rfft2 keeps half of the last axis: the other half mirrors columns 1 … ceil(pw/2) - 1.
    multiplicity = np.full(weight_hat.shape[1], 2.0)
    multiplicity[0] = 1.0
    if pw % 2 == 0:
        multiplicity[-1] = 1.0
    weight_hat *= multiplicity / (ph * pw)
    batch = max(1, _FFT_ELEMENTS // (ph * pw))
    out = np.empty(n)
    for start in range(0, n, batch):
        spectrum = scipy.fft.rfft2(images[start : start + batch], s=(ph, pw))
        power = spectrum.real**2 + spectrum.imag**2
        out[start : start + batch] = np.einsum("nij,ij->n", power, weight_hat)
    return out


def _subjettiness(
    pt: np.ndarray,
    deta: np.ndarray,
    dphi: np.ndarray,
    mask: np.ndarray,
    sum_pt: np.ndarray,
    r0: float,
) -> tuple[np.ndarray, np.ndarray]:
    """``τ2``, ``τ3`` ``[N]`` with exclusive-kT axes from FastJet (0 where ``N >= count``)."""
    import awkward as ak
    import fastjet

    n = pt.shape[0]
    counts = mask.sum(axis=1)
    taus = {2: np.zeros(n), 3: np.zeros(n)}
    # With at most N constituents every constituent is its own axis: τ_N = 0.
    selected = np.flatnonzero(counts > 2)
    if selected.size == 0:
        return taus[2], taus[3]
    pt_s, deta_s, dphi_s = pt[selected], deta[selected], dphi[selected]
    valid = mask[selected]
    particles = ak.zip(
        {
            "px": (pt_s * np.cos(dphi_s))[valid],
            "py": (pt_s * np.sin(dphi_s))[valid],
            "pz": (pt_s * np.sinh(deta_s))[valid],
            "E": (pt_s * np.cosh(deta_s))[valid],
        }
    )
    events = ak.unflatten(particles, counts[selected])
    sequence = fastjet.ClusterSequence(events, fastjet.JetDefinition(fastjet.kt_algorithm, _KT_R))
    for n_axes in (2, 3):
        with warnings.catch_warnings():
            # fastjet 3.5.2's awkward interface compares the JetDefinition with algorithm
            # enums and so warns about the kt algorithm too.
            warnings.filterwarnings("ignore", "dcut and exclusive jets", UserWarning)
            axes = sequence.exclusive_jets(n_jets=n_axes)
        ax_px, ax_py, ax_pz, ax_e = (
            ak.to_numpy(ak.flatten(axes[field])).reshape(-1, n_axes)
            for field in ("px", "py", "pz", "E")
        )
        ax_y = _rapidity(ax_e + ax_pz, ax_e - ax_pz)
        ax_phi = np.arctan2(ax_py, ax_px)
        dr = np.hypot(
            deta_s[:, :, None] - ax_y[:, None, :], _wrap(dphi_s[:, :, None] - ax_phi[:, None, :])
        ).min(axis=2)
        taus[n_axes][selected] = (pt_s * dr).sum(axis=1) / (sum_pt[selected] * r0)
        # Exactly 0, not rounding noise, when every constituent is its own axis.
        taus[n_axes][counts <= n_axes] = 0.0
    return taus[2], taus[3]


def _observables_chunk(
    images: np.ndarray, pixel_size: float, threshold_gev: float, r0: float
) -> dict[str, np.ndarray]:
    pt, deta, dphi, mask = pixel_constituents(images, pixel_size, threshold_gev)
    counts = mask.sum(axis=1)
    sum_pt = pt.sum(axis=1)
    px = (pt * np.cos(dphi)).sum(axis=1)
    py = (pt * np.sin(dphi)).sum(axis=1)
    # E ± pz of a massless constituent is pT·exp(±η): m² = (E + pz)(E − pz) − pT² and the
    # rapidity y = ½ ln((E + pz)/(E − pz)) follow from two sums.
    e_plus_pz = (pt * np.exp(deta)).sum(axis=1)
    e_minus_pz = (pt * np.exp(-deta)).sum(axis=1)
    mass2 = e_plus_pz * e_minus_pz - px**2 - py**2
    axis_y = _rapidity(e_plus_pz, e_minus_pz)
    axis_phi = np.arctan2(py, px)
    dr_axis = np.hypot(deta - axis_y[:, None], _wrap(dphi - axis_phi[:, None]))
    with np.errstate(divide="ignore", invalid="ignore"):
        girth = np.where(mask, pt * dr_axis, 0.0).sum(axis=1) / sum_pt
        thresholded = np.where(images > threshold_gev, images, 0.0)
        c02 = _c02(thresholded, pixel_size) / sum_pt**2
        # Clustering all constituents into one exclusive-kT jet (E-scheme) gives the summed
        # four-momentum, i.e. the girth's jet axis: τ1 = w_pf / R0.
        tau1 = np.where(counts > 1, girth / r0, 0.0)
        tau2, tau3 = _subjettiness(pt, deta, dphi, mask, sum_pt, r0)
    # A lone constituent is its own axis and has no pair partner: exactly 0, not rounding noise.
    girth[counts == 1] = 0.0
    c02[counts == 1] = 0.0
    for value in (girth, c02, tau1, tau2, tau3):
        value[counts == 0] = np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        tau21 = np.where(tau1 > 0, tau2 / tau1, np.nan)
        tau32 = np.where(tau2 > 0, tau3 / tau2, np.nan)
    return {
        "pt": np.hypot(px, py),
        # A lone massless constituent: exactly 0 rather than the root of rounding noise.
        "mass": np.where(counts > 1, np.sqrt(np.maximum(mass2, 0.0)), 0.0),
        "girth": girth,
        "c02": c02,
        "tau1": tau1,
        "tau2": tau2,
        "tau3": tau3,
        "tau21": tau21,
        "tau32": tau32,
        "num_constituents": counts.astype(np.float64),
    }


def jet_observables(
    images: np.ndarray,
    pixel_size: float,
    threshold_gev: float = 0.0,
    r0: float = 0.8,
    chunk: int = _CHUNK,
) -> dict[str, np.ndarray]:
    """The high-level jet observables of paper 001, Eq. 9, for every jet image.

    Args:
        images: ``[N, H, W]`` pixel pT in GeV (axis 1 = η, axis 2 = φ).
        pixel_size: pixel side in rad (2π/640 for caloml's 160×160 HR images).
        threshold_gev: pixels with pT ``<= threshold_gev`` are dropped (e.g. to remove the
            soft noise of network outputs).
        r0: the jet radius ``R0`` normalising ``τ_N`` (Eq. 9).
        chunk: at most this many jets are processed at once; fewer when jets have so many
            constituents ``K`` that ``chunk × K`` arrays would not fit a fixed memory budget.

    Returns:
        ``{name: [N] float64}`` for the names of :data:`OBSERVABLE_LABELS` (see the module
        docstring for definitions, empty jets and non-finite images).

    Raises:
        InputError: if the images are not 3-D or an argument is out of range.
    """
    images = _as_images(images)
    _check_positive(pixel_size, "pixel_size")
    _check_positive(r0, "r0")
    _check_threshold(threshold_gev)
    if int(chunk) < 1:
        raise InputError(f"chunk must be a positive integer, got {chunk}")
    n = images.shape[0]
    out = {name: np.empty(n) for name in OBSERVABLE_LABELS}
    for start in range(0, n, int(chunk)):
        block = images[start : start + int(chunk)]
        broken = ~np.isfinite(block).all(axis=(1, 2))
        if broken.any():
            block = np.where(broken[:, None, None], 0.0, block)
        # Dense images (unthresholded network outputs) have up to H·W constituents per jet:
        # fewer jets at once keep the [jets, K] temporaries bounded.
        most = max(1, int((block > threshold_gev).sum(axis=(1, 2)).max(initial=0)))
        step = max(1, min(len(block), _CONSTITUENT_ELEMENTS // most))
        for offset in range(0, len(block), step):
            values = _observables_chunk(
                block[offset : offset + step], pixel_size, threshold_gev, r0
            )
            for name, value in values.items():
                value[broken[offset : offset + step]] = np.nan
                out[name][start + offset : start + offset + len(value)] = value
    return out


def leading_constituents(images: np.ndarray, n: int = 15) -> np.ndarray:
    """The ``n`` largest pixel values of each image (the ``E_1 … E_n`` spectra of Fig. 4).

    Args:
        images: ``[N, H, W]`` pixel pT in GeV.
        n: number of leading pixels.

    Returns:
        ``[N, n]`` pixel values sorted descending; an image with fewer than ``n`` pixels is
        filled up with 0 (as is one with fewer than ``n`` non-zero pixels, naturally).
    """
    images = _as_images(images)
    if int(n) < 1:
        raise InputError(f"n must be a positive integer, got {n}")
    n = int(n)
    flat = images.reshape(images.shape[0], -1)
    if flat.shape[1] < n:
        flat = np.concatenate([flat, np.zeros((flat.shape[0], n - flat.shape[1]))], axis=1)
    top = np.partition(flat, flat.shape[1] - n, axis=1)[:, flat.shape[1] - n :]
    return np.sort(top, axis=1)[:, ::-1]


def sum_pool(images: np.ndarray, factor: int) -> np.ndarray:
    """Sum over non-overlapping ``factor × factor`` blocks (HR → LR, pT conserved).

    Args:
        images: ``[N, H, W]`` pixel pT.
        factor: the linear down-sampling factor ``f``; must divide ``H`` and ``W``.

    Returns:
        ``[N, H / f, W / f]`` block sums.

    Raises:
        UsageError: if ``factor`` is not a positive integer dividing both image sides.
    """
    images = _as_images(images)
    n, h, w = images.shape
    if int(factor) != factor or factor < 1 or h % factor or w % factor:
        raise UsageError(
            f"factor must be a positive integer dividing the image size {h}×{w}, got {factor}"
        )
    f = int(factor)
    return images.reshape(n, h // f, f, w // f, f).sum(axis=(2, 4))


def average_patch(hr_images: np.ndarray, factor: int, threshold_gev: float = 0.0) -> np.ndarray:
    """The average ``f × f`` patch of unit sum (the patches of paper 001, Fig. 4).

    Every aligned ``f × f`` block (the pixels one LR pixel splits into) whose pT sum is above 0
    after dropping pixels ``<= threshold_gev`` is normalised to unit sum; the normalised blocks
    are averaged over all blocks of all images.

    Args:
        hr_images: ``[N, H, W]`` pixel pT in GeV of high-resolution (or SR) images.
        factor: patch side ``f``; must divide ``H`` and ``W``.
        threshold_gev: pixels with pT ``<= threshold_gev`` count as empty.

    Returns:
        ``[f, f]`` mean pT fraction per position in the patch (sums to 1); NaN everywhere when
        no patch is active.

    Raises:
        UsageError: if ``factor`` does not divide the image size.
    """
    images = _as_images(hr_images, "hr_images")
    _check_threshold(threshold_gev)
    images = np.where(images > threshold_gev, images, 0.0)
    pooled = sum_pool(images, factor)
    n, h, w = images.shape
    f = int(factor)
    patches = images.reshape(n, h // f, f, w // f, f).transpose(0, 1, 3, 2, 4).reshape(-1, f, f)
    sums = pooled.reshape(-1)
    active = sums > 0
    if not active.any():
        return np.full((f, f), np.nan)
    return (patches[active] / sums[active, None, None]).mean(axis=0)


def relative_difference(reference: np.ndarray, other: np.ndarray) -> np.ndarray:
    """``(reference − other) / reference`` (paper 001, Eq. 10: ``(HR − LR)/HR``, ``(HR − SR)/HR``).

    Args:
        reference: ``[N]`` per-jet observable of the HR truth.
        other: ``[N]`` the same observable of the LR or SR version of the same jets.

    Returns:
        ``[N]`` relative differences; NaN where ``reference`` is 0 or either value is NaN.
    """
    reference = np.asarray(reference, dtype=np.float64)
    other = np.asarray(other, dtype=np.float64)
    if reference.shape != other.shape:
        raise InputError(f"reference and other differ in shape: {reference.shape}, {other.shape}")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(reference != 0, (reference - other) / reference, np.nan)


def closer_fraction(hr: np.ndarray, lr: np.ndarray, sr: np.ndarray) -> float:
    """Fraction of jets whose SR value is closer to the HR truth than the LR value (Fig. 7 ``p``).

    Args:
        hr: ``[N]`` per-jet observable of the HR images.
        lr: ``[N]`` the same for the LR images of the same jets.
        sr: ``[N]`` the same for the SR images of the same jets.

    Returns:
        The fraction, among jets with all three values finite, with ``|HR − SR| < |HR − LR|``
        (ties count as not closer); NaN if no jet has three finite values.
    """
    hr, lr, sr = (np.asarray(x, dtype=np.float64) for x in (hr, lr, sr))
    if not hr.shape == lr.shape == sr.shape:
        raise InputError(f"hr, lr and sr differ in shape: {hr.shape}, {lr.shape}, {sr.shape}")
    finite = np.isfinite(hr) & np.isfinite(lr) & np.isfinite(sr)
    if not finite.any():
        return float("nan")
    hr, lr, sr = hr[finite], lr[finite], sr[finite]
    return float(np.mean(np.abs(hr - sr) < np.abs(hr - lr)))


def wasserstein_leading(hr_images: np.ndarray, sr_images: np.ndarray, n: int = 15) -> np.ndarray:
    """1-D Wasserstein distances of the k-th leading pixel's pT, HR vs SR (paper 001, Fig. 11).

    Args:
        hr_images: ``[N, H, W]`` high-resolution pixel pT in GeV.
        sr_images: ``[M, H', W']`` super-resolved pixel pT in GeV (any sample size and grid).
        n: number of leading pixels.

    Returns:
        ``[n]`` distances in GeV, entry ``k - 1`` for the k-th leading pixel.
    """
    hr = leading_constituents(hr_images, n)
    sr = leading_constituents(sr_images, n)
    if hr.shape[0] == 0 or sr.shape[0] == 0:
        raise InputError("wasserstein_leading needs at least one HR and one SR image")
    return np.array([scipy.stats.wasserstein_distance(hr[:, k], sr[:, k]) for k in range(n)])
