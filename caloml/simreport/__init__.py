"""System: the embedded simulator's validation reports (srgamma, clic, calogan).

``config`` (settings and reference numbers), ``evaluation`` (the numbers), ``figures``,
``experiment`` (:func:`caloml.simreport.experiment.run`, what ``eval/sim_report.py`` calls),
``benchmark`` (simulator throughput, ``eval/benchmark.py --model=sim``) and ``geant4`` (the
CaloGAN Geant4 reference digitised from the authors' notebook, ``reference/calogan_geant4.json``,
and separation powers against it; ``eval/digitise_calogan_notebook.py`` regenerates it).
"""
