"""System: jet super-resolution GAN (paper 001, Baldi et al., "How to GAN Higher Jet Resolution").

``config`` (paper defaults, no TensorFlow), ``networks`` (the RRDB generator with pixel-shuffle
and transposed-convolution up-sampling, the Markovian discriminator, ``sum_pool``),
``trainer`` (the relativistic-average GAN with the p-scaled stream, the patch loss and the
periodically reset second discriminators), ``experiment``, ``evaluation``, ``figures`` and
``benchmark``.
"""
