"""Expert (high-level) features of an ECAL + HCAL shower, as used by BDT baselines.

The feature set is that of the Triforce_CaloML ``addFeatures.py`` (Zhang et al., "Calorimetry
with deep learning: particle simulation and reconstruction for collider physics", EPJC 80, 688
(2020), appendix C, and its Ref. [25]), computed on calorimeter windows ``[N, X, Y, Z]`` with
``Z`` the depth (layer 0 first), plus the two shower widths of the paper's regression baseline
(appendix D):

* ``ECAL_E``, ``HCAL_E``: window sums (the files' units).
* ``ECAL_nHits``, ``HCAL_nHits``: cells above a threshold (Triforce: 0.1 in the files' units).
* ``HCAL_ECAL_ERatio``, ``HCAL_ECAL_nHitsRatio``: HCAL over ECAL.
* ``{E,H}CAL_ratioFirstLayerToTotalE``, ``{E,H}CAL_ratioFirstLayerToSecondLayerE``.
* ``{E,H}CALmoment{X,Y,Z}{1..6}``: moment 1 is the energy-weighted mean cell index along the
  axis, ``m1 = Σ_i E_i·i / Σ_i E_i`` (index 0 first, so it is not centred on the window);
  moment ``k ≥ 2`` is the central moment ``Σ_i E_i·(i − m1)^k / Σ_i E_i`` in cells^k, not
  divided by any power of the width (as ``addFeatures.py``), on the projection of the whole
  window onto the axis.
* ``R9``: the largest sum of a 3 × 3 block of cells (blocks inside the window only) over the
  total of the z-summed ECAL ``[N, X, Y]``.
* ``ECAL_rmsX_cells``: ``√ECALmomentX2``, the RMS of the ECAL shower along x (appendix D).
* ``HCAL_rmsXY_cells``: ``√(HCALmomentX2 + HCALmomentY2)``, the RMS distance of the HCAL energy
  from its barycentre in the (x, y) plane (appendix D). (Triforce's ``train_xgb_features.py``
  used ``√(X2² + Y2²)``, which is no width; the paper's words are followed here.)

The means along z the regression baseline uses are ``ECALmomentZ1`` and ``HCALmomentZ1``.

A ratio or moment whose denominator is zero (an empty window or layer, no ECAL hits) is 0, as
``addFeatures.py``'s ``safeDivide`` makes it, without a warning or NaN; so are ``R9`` and the
widths of an empty window. Sums accumulate in float64; windows are processed in chunks of
events, so float32 inputs (or h5py datasets) are never copied whole.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from caloml.errors import InputError

# addFeatures.py counts a cell as a hit above 0.1 in the files' units (raw energy x 50).
DEFAULT_HIT_THRESHOLD = 0.1
# Orders of the per-axis moments (addFeatures.py writes moments 1 to 6).
MOMENT_ORDERS = 6
# Side of the square block of R9 (paper 003, appendix C: "a 3x3 window").
R9_BLOCK_CELLS = 3
# Events per chunk: a float32 chunk of 256 CLIC windows is 67 MB; the temporaries are smaller.
DEFAULT_CHUNK_EVENTS = 256

_AXES = "XYZ"


def _moment_names(calorimeter: str) -> tuple[str, ...]:
    return tuple(f"{calorimeter}moment{axis}{order}" for axis in _AXES
                 for order in range(1, MOMENT_ORDERS + 1))


# The features of addFeatures.py, in its order: the BDT classification baseline's inputs.
CLASSIFICATION_FEATURE_NAMES: tuple[str, ...] = (
    "ECAL_E", "ECAL_nHits", "HCAL_E", "HCAL_nHits",
    "ECAL_ratioFirstLayerToTotalE", "ECAL_ratioFirstLayerToSecondLayerE",
    "HCAL_ECAL_ERatio", "HCAL_ECAL_nHitsRatio",
    "HCAL_ratioFirstLayerToTotalE", "HCAL_ratioFirstLayerToSecondLayerE",
    *_moment_names("ECAL"), *_moment_names("HCAL"),
    "R9",
)
# The widths of the regression baseline (paper 003, appendix D) that addFeatures.py lacks.
WIDTH_FEATURE_NAMES: tuple[str, ...] = ("ECAL_rmsX_cells", "HCAL_rmsXY_cells")
# Every key of expert_features' result, in order.
FEATURE_NAMES: tuple[str, ...] = CLASSIFICATION_FEATURE_NAMES + WIDTH_FEATURE_NAMES


def safe_divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator`` in float64, 0 where the denominator is 0 (no warning).

    Args:
        numerator: ``[...]`` array.
        denominator: array broadcastable to ``numerator``.

    Returns:
        float64 array of the broadcast shape.
    """
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    nonzero = denominator != 0
    out = np.zeros(np.broadcast_shapes(numerator.shape, denominator.shape))
    np.divide(numerator, denominator, out=out, where=nonzero)
    return out


def axis_moments(projection: np.ndarray, orders: int = MOMENT_ORDERS) -> np.ndarray:
    """Energy-weighted moments of a shower's projection onto one axis.

    Args:
        projection: ``[N, n]`` energy per cell index ``i = 0 … n − 1`` along the axis.
        orders: number of moments.

    Returns:
        float64 ``[N, orders]``: column 0 the mean index ``Σ E_i·i / Σ E_i`` (cells), column
        ``k − 1`` the central moment ``Σ E_i·(i − mean)^k / Σ E_i`` (cells^k); all 0 for a
        projection that sums to 0.
    """
    projection = np.asarray(projection, dtype=np.float64)
    if projection.ndim != 2:
        raise InputError(f"axis_moments expects a projection [N, n], got shape {projection.shape}")
    total = projection.sum(axis=1)
    index = np.arange(projection.shape[1], dtype=np.float64)
    mean = safe_divide(projection @ index, total)
    offset = index[None, :] - mean[:, None]  # [N, n]
    moments = np.empty((len(projection), orders))
    moments[:, 0] = mean
    power = offset.copy()
    for order in range(2, orders + 1):
        power *= offset
        moments[:, order - 1] = safe_divide(np.einsum("ni,ni->n", projection, power), total)
    return moments


def r9(ecal_xy: np.ndarray) -> np.ndarray:
    """R9: the largest 3 × 3 block sum over the total of a z-summed image.

    Blocks lie wholly inside the image (no padding), as ``skimage``'s ``view_as_windows`` in
    ``addFeatures.py``; an image whose total is not positive has R9 = 0.

    Args:
        ecal_xy: ``[N, X, Y]`` energy per cell summed over the layers, ``X, Y ≥ 3``.

    Returns:
        float64 ``[N]``, in [0, 1] for non-negative cells.
    """
    image = np.asarray(ecal_xy, dtype=np.float64)
    if image.ndim != 3 or min(image.shape[1:]) < R9_BLOCK_CELLS:
        raise InputError(f"r9 expects z-summed images [N, X, Y] with X, Y >= {R9_BLOCK_CELLS}, "
                         f"got shape {image.shape}")
    b = R9_BLOCK_CELLS
    nx, ny = image.shape[1] - b + 1, image.shape[2] - b + 1
    blocks = np.zeros((len(image), nx, ny))
    for dx in range(b):
        for dy in range(b):
            blocks += image[:, dx:dx + nx, dy:dy + ny]
    total = image.sum(axis=(1, 2))
    largest = blocks.reshape(len(image), -1).max(axis=1)
    return np.where(total > 0, safe_divide(largest, total), 0.0)


def _check_windows(name: str, window, minimum_xy: int) -> None:
    shape = getattr(window, "shape", None)
    if shape is None or len(shape) != 4:
        raise InputError(f"expert_features: {name} must be an array [N, X, Y, Z], got shape "
                         f"{shape}")
    if shape[3] < 2 or min(shape[1:3]) < minimum_xy:
        raise InputError(f"expert_features: {name} of shape {tuple(shape)} needs at least 2 "
                         f"layers and {minimum_xy} cells along x and y")


def _calorimeter_features(prefix: str, window: np.ndarray, hit_threshold: float,
                          out: dict[str, np.ndarray], rows: slice) -> None:
    """Fills ``prefix``'s sums, hits, layer ratios and moments of one chunk into ``out``."""
    # Projections onto each axis; np.sum with dtype float64 casts in buffers, never whole.
    projections = (window.sum(axis=(2, 3), dtype=np.float64),  # [n, X]
                   window.sum(axis=(1, 3), dtype=np.float64),  # [n, Y]
                   window.sum(axis=(1, 2), dtype=np.float64))  # [n, Z], z into the calorimeter
    energy = projections[2].sum(axis=1)
    out[f"{prefix}_E"][rows] = energy
    out[f"{prefix}_nHits"][rows] = np.count_nonzero(
        window.reshape(len(window), -1) > hit_threshold, axis=1)
    first, second = projections[2][:, 0], projections[2][:, 1]
    out[f"{prefix}_ratioFirstLayerToTotalE"][rows] = safe_divide(first, energy)
    out[f"{prefix}_ratioFirstLayerToSecondLayerE"][rows] = safe_divide(first, second)
    for axis, projection in zip(_AXES, projections, strict=True):
        moments = axis_moments(projection)
        for order in range(1, MOMENT_ORDERS + 1):
            out[f"{prefix}moment{axis}{order}"][rows] = moments[:, order - 1]


def expert_features(
    ecal,
    hcal,
    *,
    hit_threshold: float = DEFAULT_HIT_THRESHOLD,
    chunk_events: int = DEFAULT_CHUNK_EVENTS,
) -> dict[str, np.ndarray]:
    """The expert features of N showers (names and definitions: module docstring).

    Args:
        ecal: ``[N, X, Y, Z]`` ECAL cell energies (e.g. the CLIC files' ``[N, 51, 51, 25]``, raw
            energy × 50), ``X, Y ≥ 3``, ``Z ≥ 2``; a numpy array or anything sliced like one
            (an h5py dataset).
        hcal: ``[N, X', Y', Z']`` HCAL cell energies (CLIC: ``[N, 11, 11, 60]``), ``Z' ≥ 2``.
        hit_threshold: a cell counts as a hit when its energy is above this, in the windows'
            units (Triforce: 0.1).
        chunk_events: events processed at once (bounds the temporaries).

    Returns:
        ``{name: float64 [N]}`` for every name of :data:`FEATURE_NAMES` (hit counts too).

    Raises:
        InputError: for windows of the wrong rank or size, or different numbers of events.
    """
    _check_windows("ecal", ecal, R9_BLOCK_CELLS)
    _check_windows("hcal", hcal, 1)
    n = ecal.shape[0]
    if hcal.shape[0] != n:
        raise InputError(f"expert_features: ecal has {n} events but hcal {hcal.shape[0]}")
    if chunk_events < 1:
        raise InputError(f"expert_features: chunk_events must be at least 1, got {chunk_events}")
    out = {name: np.zeros(n) for name in FEATURE_NAMES}
    for start in range(0, n, chunk_events):
        rows = slice(start, min(start + chunk_events, n))
        ecal_chunk = np.asarray(ecal[rows])
        _calorimeter_features("ECAL", ecal_chunk, hit_threshold, out, rows)
        _calorimeter_features("HCAL", np.asarray(hcal[rows]), hit_threshold, out, rows)
        out["R9"][rows] = r9(ecal_chunk.sum(axis=3, dtype=np.float64))
    out["HCAL_ECAL_ERatio"] = safe_divide(out["HCAL_E"], out["ECAL_E"])
    out["HCAL_ECAL_nHitsRatio"] = safe_divide(out["HCAL_nHits"], out["ECAL_nHits"])
    # Central second moments are >= 0 for non-negative cells; the clip guards rounding only.
    out["ECAL_rmsX_cells"] = np.sqrt(np.maximum(out["ECALmomentX2"], 0.0))
    out["HCAL_rmsXY_cells"] = np.sqrt(np.maximum(out["HCALmomentX2"] + out["HCALmomentY2"], 0.0))
    return out


def feature_matrix(features: dict[str, np.ndarray], names: Sequence[str]) -> np.ndarray:
    """Stacks the named features as columns.

    Args:
        features: ``{name: [N]}`` (e.g. from :func:`expert_features`).
        names: the columns, in order.

    Returns:
        float64 ``[N, len(names)]``.

    Raises:
        InputError: naming a missing feature.
    """
    missing = [name for name in names if name not in features]
    if missing:
        raise InputError(f"feature_matrix: no feature {', '.join(missing)}; available: "
                         f"{', '.join(features)}")
    return np.stack([np.asarray(features[name], dtype=np.float64) for name in names], axis=1)
