"""Keras 3 networks of the papers, one module per paper.

- :mod:`caloml.models.srgan` — paper 000, SR-GAN for SR-γ: the ESRGAN-style generator, the
  WGAN-GP critic and the photon/π⁰ classifier whose third convolution gives the perceptual
  features.
"""
