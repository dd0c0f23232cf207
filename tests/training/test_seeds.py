"""Derived seeds: independent of the process and of what was drawn before."""

import subprocess
import sys

import keras
import numpy as np

from caloml.training import seeds


def test_derived_seeds_are_the_same_in_every_process_and_differ_per_component():
    code = "from caloml.training import seeds; print(seeds.derive(7, 'hr_classifier'))"
    other_process = subprocess.run([sys.executable, "-c", code], capture_output=True,
                                   text=True, check=True, timeout=60)
    assert int(other_process.stdout) == seeds.derive(7, "hr_classifier")
    values = {seeds.derive(s, c) for s in (1, 2) for c in ("hr_classifier", "gan_networks")}
    assert len(values) == 4 and all(0 <= v < 2**31 for v in values)


def _weights_after(component, draws_before):
    keras.utils.set_random_seed(123)
    for _ in range(draws_before):
        keras.layers.Dense(5).build((None, 3))  # a component that ran before (or not)
    seeds.seed_component(1, component)
    layer = keras.layers.Dense(4)
    layer.build((None, 3))
    return layer.get_weights()[0]


def test_a_seeded_component_does_not_depend_on_what_ran_before():
    np.testing.assert_array_equal(_weights_after("gan_networks", 0),
                                  _weights_after("gan_networks", 3))
    assert not np.array_equal(_weights_after("gan_networks", 0),
                              _weights_after("hr_classifier", 0))
