"""Datasets of the papers: cached simulation, pre-processing, splits and ``tf.data`` pipelines.

* :mod:`caloml.data.cache` — simulate a file only when no valid copy exists.
* :mod:`caloml.data.preprocessing` — window selection, normalisation, power scaling.
* :mod:`caloml.data.srgamma` — the SR-γ photon and π⁰ files of paper 000 and their splits.
* :mod:`caloml.data.threedgan` — 3DGAN training files made from CLIC files (paper 003).
* :mod:`caloml.data.reco` — the CLIC samples, splits and inputs of the reconstruction study.
* :mod:`caloml.data.resample` — CLIC windows resampled to ATLAS-like and CMS-like cells.
* :mod:`caloml.data.blocks` — block-by-block iteration with a progress bar.
* :mod:`caloml.data.pipeline` — streaming ``tf.data`` input (imports TensorFlow).

File layouts and validated readers are in :mod:`caloml.io`.
"""
