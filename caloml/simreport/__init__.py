"""System: the embedded simulator's validation reports (srgamma, clic, calogan).

``config`` (settings and reference numbers), ``evaluation`` (the numbers), ``figures``,
``experiment`` (:func:`caloml.simreport.experiment.run`, what ``eval/sim_report.py`` calls) and
``benchmark`` (simulator throughput, ``eval/benchmark.py --model=sim``).
"""
