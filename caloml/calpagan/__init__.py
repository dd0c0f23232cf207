"""System: CALPAGAN (paper 002), fast-simulation → detailed-simulation calorimeter images.

A pix2pix-style conditional GAN on the 72×72 η–φ grid of the CMS calorimeter towers:
``config`` (paper and original-code defaults, the two variants, no TensorFlow), ``networks``
(the U-Net generator, the PatchGAN discriminator, the ``FastToDetailed`` inference wrapper and
the per-event max normalisation), ``trainer`` (the cGAN + λ·L1 training of Eq. 1),
``experiment``, ``evaluation``, ``figures`` and ``benchmark``.
"""
