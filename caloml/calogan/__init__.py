"""System: CaloGAN (paper 004), the LAGAN of three calorimeter layers and the slides' assessment.

``config`` (the original's defaults, no TensorFlow), ``networks``, ``trainer``, ``experiment``
(:func:`caloml.calogan.experiment.train_and_evaluate`, what ``train/calogan.py`` calls),
``evaluation``, ``figures`` and ``benchmark`` (``eval/benchmark.py --model=calogan``).
"""
