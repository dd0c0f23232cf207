"""Physics observables and distances between distributions (pure numpy, no TensorFlow).

* :mod:`caloml.observables.showers` — barycentre and shower width (paper 000, Eq. 4) of
  calorimeter images, the barycentre distance between two granularities (Fig. 12), and the
  slope of a 3D shower's layer barycentres (its incidence angle).
* :mod:`caloml.observables.statistics` — KS statistic, histogram overlap, pion rejection at
  fixed photon efficiency.
"""

from caloml.observables import showers, statistics
from caloml.observables.showers import (
    DISTANCE_TO_FACE_MM,
    HR_CELL_MM,
    LR_CELL_MM,
    barycentre,
    barycentre_distance,
    cell_size_rad,
    layer_barycentre_slopes,
    shower_width,
)
from caloml.observables.statistics import (
    default_width_bins,
    histogram_overlap,
    ks_statistic,
    rejection_at_efficiency,
    rejection_curve,
    select_epoch,
)

__all__ = [
    "DISTANCE_TO_FACE_MM",
    "HR_CELL_MM",
    "LR_CELL_MM",
    "barycentre",
    "barycentre_distance",
    "cell_size_rad",
    "layer_barycentre_slopes",
    "default_width_bins",
    "histogram_overlap",
    "ks_statistic",
    "rejection_at_efficiency",
    "rejection_curve",
    "select_epoch",
    "shower_width",
    "showers",
    "statistics",
]
