"""Keras 3 layers and blocks shared by the papers' networks (registered, no ``Lambda``).

* :mod:`caloml.layers.rrdb` — ESRGAN's residual-in-residual dense blocks.
"""
