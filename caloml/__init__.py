"""caloml: calorimeter deep-learning papers in TensorFlow 2 / Keras 3, with a shower simulator.

Importing caloml makes its exported ``.keras`` models loadable::

    import caloml
    import keras
    generator = keras.saving.load_model("runs/sr_gan/generator.keras")

The Keras classes are registered when the modules in :data:`KERAS_MODULES` are imported.
Importing them needs Keras and TensorFlow, which take seconds to load, and the entry scripts'
``--help`` and the simulator must not wait for that: so they are imported now if Keras already
is, and otherwise right after Keras is first imported.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

__version__ = "0.1.0"

# Every module that registers Keras classes (tests/test_init.py checks that none is missing).
KERAS_MODULES = (
    "caloml.layers.attention", "caloml.layers.calorimeter", "caloml.layers.locally_connected",
    "caloml.layers.minibatch", "caloml.layers.rrdb", "caloml.layers.shower3d",
    "caloml.layers.upsampled_conv",
    "caloml.calogan.networks", "caloml.calpagan.evaluation", "caloml.calpagan.networks",
    "caloml.gan3d.networks", "caloml.jet_sr.networks",
    "caloml.reco.networks",
    "caloml.reco.trainer", "caloml.srgan.networks",
)


def _register_keras_classes() -> None:
    for name in KERAS_MODULES:
        try:
            importlib.import_module(name)
        except ImportError as e:  # e.g. Keras on a JAX-only machine without a dependency
            warnings.warn(f"caloml could not register the Keras classes of {name} ({e}); "
                          "its .keras models will not load", stacklevel=2)


class _AfterKerasImport(importlib.abc.MetaPathFinder):
    """Finds ``keras`` as usual, and registers caloml's classes once Keras has loaded.

    It stays on ``sys.meta_path`` until Keras is actually imported: a mere
    ``importlib.util.find_spec("keras")`` (an availability check) must not use it up.
    """

    def __init__(self):
        self._searching = False

    def find_spec(self, fullname, path, target=None):
        if fullname != "keras" or self._searching:
            return None
        self._searching = True  # the search below must find the real keras, not us
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            self._searching = False
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_and_register(module):
            exec_module(module)
            if self in sys.meta_path:
                sys.meta_path.remove(self)
            _register_keras_classes()

        spec.loader.exec_module = exec_and_register
        return spec


if "keras" in sys.modules:
    _register_keras_classes()
else:
    sys.meta_path.insert(0, _AfterKerasImport())
