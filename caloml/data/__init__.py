"""Datasets of the papers: cached simulation, pre-processing, splits and ``tf.data`` pipelines.

* :mod:`caloml.data.cache` — simulate a file only when no valid copy exists.
* :mod:`caloml.data.preprocessing` — window selection, normalisation, power scaling.
* :mod:`caloml.data.srgamma` — the SR-γ photon and π⁰ files of paper 000 and their splits.
* :mod:`caloml.data.threedgan` — 3DGAN training files made from CLIC files (paper 003).
* :mod:`caloml.data.pipeline` — streaming ``tf.data`` input (imports TensorFlow).

File layouts and validated readers are in :mod:`caloml.io`.
"""
