"""Keras 3 layers and blocks shared by the papers' networks (registered, no ``Lambda``).

* :mod:`caloml.layers.rrdb` — ESRGAN's residual-in-residual dense blocks.
* :mod:`caloml.layers.locally_connected` — a 2D locally-connected layer (unshared weights,
  Keras 2 weight layout), which Keras 3 removed.
* :mod:`caloml.layers.minibatch` — minibatch discrimination (Salimans et al. 2016).
* :mod:`caloml.layers.calorimeter` — parameter-free layer energy, sparsity, energy-conservation
  features and multiplicative energy conditioning.
* :mod:`caloml.layers.attention` — the CaloGAN's in-painting attention between two images.
* :mod:`caloml.layers.shower3d` — parameter-free power scaling, measured shower angle and
  intensity-bin counts of 3D showers (3DGAN's discriminator heads).
* :mod:`caloml.layers.upsampled_conv` — a nearest-neighbour 3D upsampling and a 'valid'
  Conv3D computed exactly as one small convolution (3DGAN's first generator block, 19× fewer
  FLOPs).
"""
