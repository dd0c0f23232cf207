"""Jets from Pythia 8 and FastJet: caloml's analogue of the public top-tagging sample.

:mod:`caloml.jets.generation` generates all-hadronic tt̄ and QCD dijet events at √s = 14 TeV
with Pythia 8, passes them through :mod:`caloml.jets.detector` (the Delphes ATLAS card's
parametrisation) and makes the paired HR/LR jet images of "How to GAN Higher Jet Resolution"
(§2) with :mod:`caloml.jets.images`; ``python -m caloml.jets`` writes them to an HDF5 file in
the layout ``"jets"`` (:data:`caloml.io.schema.JETS`). The submodules are imported on use, so
that importing this package needs neither Pythia nor FastJet.
"""
