"""Physics observables and distances between distributions (pure numpy, no TensorFlow).

* :mod:`caloml.observables.showers` — barycentre and shower width (paper 000, Eq. 4) of
  calorimeter images, the barycentre distance between two granularities (Fig. 12), core
  fractions, sparsity and the two-hottest-cell energy ratio, and the slope of a 3D shower's
  layer barycentres (its incidence angle).
* :mod:`caloml.observables.layered` — 1D shower shapes of a calorimeter read out as one image
  per layer (paper 004's feats1d: layer energies and fractions, sparsity, depth, shower depth
  and its width, lateral width, E_ratio per layer).
* :mod:`caloml.observables.statistics` — KS statistic, histogram overlap, separation power and
  the comparison of two samples on common bins, pion rejection at fixed photon efficiency,
  calorimeter resolution fits.
* :mod:`caloml.observables.voxels` — observables of 3D voxel showers: projections, moments,
  longitudinal fractions, hits, sampling fraction and the relative errors of mean moments and
  projections between two samples (GANutils').
"""

from caloml.observables import layered, showers, statistics, voxels

__all__ = ["layered", "showers", "statistics", "voxels"]
