"""System: SR-GAN for SR-γ (paper 000), super-resolution of photon and π⁰ calorimeter images.

``config`` (paper defaults, no TensorFlow), ``networks``, ``trainer``, ``experiment``
(:func:`caloml.srgan.experiment.run`, what ``train/sr_gan.py`` calls), ``evaluation``,
``figures`` and ``benchmark`` (``eval/benchmark.py --model=sr_gan``).
"""
