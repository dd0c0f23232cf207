"""The ``tf.distribute`` strategy of a ``--strategy`` flag, and who writes outputs under it."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator

import keras
import tensorflow as tf
from keras import ops

from caloml.errors import InputError
from caloml.training import STRATEGIES


def get_strategy(name: str = "auto") -> tf.distribute.Strategy:
    """Returns the strategy called ``name`` (one of :data:`caloml.training.STRATEGIES`).

    ``auto`` is MirroredStrategy over all GPUs when there is at least one, else the default
    (single-device) strategy; ``mirrored`` mirrors over all local devices (all GPUs, or the CPU);
    ``multi_worker`` reads the cluster from ``TF_CONFIG``.
    """
    if name not in STRATEGIES:
        raise InputError(f"unknown strategy {name!r}; expected one of {list(STRATEGIES)}")
    if name == "auto":
        name = "mirrored" if tf.config.list_logical_devices("GPU") else "default"
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    return tf.distribute.MultiWorkerMirroredStrategy()


def task(strategy: tf.distribute.Strategy) -> tuple[str | None, int | None]:
    """``(task_type, task_id)`` of this process in a multi-worker cluster; ``(None, None)``."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None:
        return None, None
    return resolver.task_type, resolver.task_id


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the outputs: always, except on a non-chief cluster worker.

    The chief is the ``chief`` task, or worker 0 of a cluster without one (TensorFlow's
    multi-worker convention).
    """
    task_type, task_id = task(strategy)
    if task_type is None or task_type == "chief":
        return True
    cluster = strategy.cluster_resolver.cluster_spec().as_dict()
    return task_type == "worker" and task_id == 0 and "chief" not in cluster


@contextlib.contextmanager
def output_directory(workdir: str, strategy: tf.distribute.Strategy) -> Iterator[str]:
    """The directory this process writes its outputs to: ``workdir`` for the chief.

    Under ``MultiWorkerMirroredStrategy`` every worker takes part in saving checkpoints and
    exports (the saves run collective operations), but only the chief's are kept: the other
    workers write into a temporary directory that is deleted when the block ends (TensorFlow's
    documented multi-worker pattern). Every worker reads from ``workdir``.
    """
    if is_chief(strategy):
        os.makedirs(workdir, exist_ok=True)
        yield workdir
        return
    task_type, task_id = task(strategy)
    temporary = tempfile.mkdtemp(prefix=f"caloml-{task_type}{task_id}-")
    try:
        yield temporary
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def is_multi_worker(strategy: tf.distribute.Strategy) -> bool:
    """Whether ``strategy`` spans several worker processes (MultiWorkerMirroredStrategy)."""
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def fit_across_workers(model: keras.Model) -> keras.Model:
    """Lets ``model.fit`` (and ``evaluate``) run under ``MultiWorkerMirroredStrategy``.

    Keras 3.15 does not support that strategy in ``fit`` (keras-team/keras#20585,
    tensorflow/tensorflow#72388), for two reasons this works around on the model instance,
    leaving its class, weights and saved files untouched:

    1. before the first step ``fit`` builds the model on one batch, which it makes by reducing
       the distributed batch across workers, an operation that fails on a batch; here it
       builds on this worker's own part of the batch instead;
    2. the step's logged scalars are reduced with ``reduce(MEAN, axis=0)``, which fails for
       scalars; here the step returns them as ``[1]`` vectors, whose mean over the replicas is
       the scalar Keras expects.

    Under any other strategy the model is returned unchanged.
    """
    strategy = model.distribute_strategy
    if not is_multi_worker(strategy):
        return model

    def local(value):
        if isinstance(value, tf.distribute.DistributedValues):
            return strategy.experimental_local_results(value)[0]
        return value

    symbolic_build = model._maybe_symbolic_build

    def build_on_local_batch(iterator=None, data_batch=None):
        if iterator is not None:
            for _, _, batches in iterator:
                data_batch = keras.tree.map_structure(local, next(batches))
                break
        symbolic_build(iterator=None, data_batch=data_batch)

    def as_vectors(step):
        def wrapped(data):
            return {key: ops.reshape(value, (1,)) for key, value in step(data).items()}
        return wrapped

    model._maybe_symbolic_build = build_on_local_batch
    model.train_step = as_vectors(model.train_step)
    model.test_step = as_vectors(model.test_step)
    return model
