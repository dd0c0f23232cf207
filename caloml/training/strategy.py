"""Choice of the ``tf.distribute`` strategy from the ``--strategy`` flag value."""

from __future__ import annotations

import tensorflow as tf

STRATEGIES = ("auto", "default", "mirrored", "multi_worker")


def get_strategy(name: str = "auto") -> tf.distribute.Strategy:
    """Returns the strategy called ``name``.

    ``auto`` is MirroredStrategy over all GPUs when there is at least one, else the default
    (single-device) strategy; ``mirrored`` mirrors over all local devices (all GPUs, or the CPU);
    ``multi_worker`` reads the cluster from ``TF_CONFIG``.
    """
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; expected one of {list(STRATEGIES)}")
    if name == "auto":
        name = "mirrored" if tf.config.list_logical_devices("GPU") else "default"
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    return tf.distribute.MultiWorkerMirroredStrategy()
