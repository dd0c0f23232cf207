"""Export of inference networks: a ``.keras`` file and a TensorFlow SavedModel.

``<workdir>/<name>.keras`` reloads with ``keras.saving.load_model`` once ``caloml`` is imported
(importing caloml registers its Keras classes, now or as soon as Keras is imported).
``<workdir>/<name>_savedmodel/`` is written by ``model.export`` and needs no caloml: load it with
``keras.layers.TFSMLayer(path, call_endpoint="serve")`` or ``loaded = tf.saved_model.load(path);
loaded.serve(x)``. Keep the loaded object referenced: ``tf.saved_model.load(path).serve(x)`` in
one expression fails ("function referencing variables which have been deleted") because the
object owning the variables is garbage-collected before the call runs.

The two are one artefact: the SavedModel is written first and the ``.keras`` file last, each
under a temporary name renamed into place once complete, and :func:`load_exported` reuses an
export only when both parts are there. An interrupted export never leaves a half-written file
under a final name, and an older export stays until the new one is complete.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import keras
from absl import logging

from caloml import outputs
from caloml.errors import MissingFileError


def paths(workdir: str | os.PathLike, name: str) -> tuple[str, str]:
    """``(keras_path, savedmodel_path)`` of the export ``name`` in ``workdir``."""
    workdir = os.fspath(workdir)
    return os.path.join(workdir, f"{name}.keras"), os.path.join(workdir, f"{name}_savedmodel")


def is_complete(workdir: str | os.PathLike, name: str) -> bool:
    """Whether both parts of the export ``name`` are in ``workdir``."""
    keras_path, savedmodel_path = paths(workdir, name)
    return os.path.isfile(keras_path) and os.path.isfile(
        os.path.join(savedmodel_path, "saved_model.pb"))


def load_exported(workdir: str | os.PathLike, name: str) -> keras.Model | None:
    """The model of a complete export ``name`` in ``workdir``, or None if any part is missing."""
    if not is_complete(workdir, name):
        return None
    return keras.saving.load_model(paths(workdir, name)[0])


def export_model(model: keras.Model, workdir: str | os.PathLike, name: str) -> tuple[str, str]:
    """Writes ``model`` as ``<workdir>/<name>_savedmodel/`` and then ``<workdir>/<name>.keras``.

    Args:
        model: a built Keras model (the inference network only: generator or classifier).
        workdir: the work directory; created if missing.
        name: stem of both outputs, e.g. ``"generator"``.

    Returns:
        ``(keras_path, savedmodel_path)``.
    """
    os.makedirs(workdir, exist_ok=True)
    keras_path, savedmodel_path = paths(workdir, name)
    with outputs.atomic_directory(savedmodel_path) as tmp_dir:
        # The "serve" endpoint's signature follows the model's inputs (None dimensions stay
        # free, so a fully convolutional generator accepts any image size).
        model.export(tmp_dir, format="tf_saved_model", verbose=False)
    with outputs.atomic_path(keras_path) as tmp_path:
        model.save(tmp_path)
    logging.info("exported %s to %s and %s", model.name, keras_path, savedmodel_path)
    return keras_path, savedmodel_path


def finished_run_config(workdir: str | os.PathLike, from_json: Any, study: str, script: str,
                        name: str = "generator") -> Any:
    """The configuration of a finished training run, for re-assessing its export.

    Args:
        workdir: the run's work directory.
        from_json: the experiment config class's ``from_json`` (``config.json`` → config).
        study: what the run is called in messages (``"CaloGAN"``).
        script: the training script (``"train/calogan.py"``), named in the remedies.
        name: the export that must be complete.

    Returns:
        The config with its ``workdir`` made absolute (a work directory may be moved).

    Raises:
        MissingFileError: no ``config.json`` (not a work directory of ``script``), or the
            export is incomplete (the training has not finished), with the remedy.
    """
    workdir = os.fspath(workdir)
    path = os.path.join(workdir, "config.json")
    if not os.path.exists(path):
        raise MissingFileError(f"{path!r} does not exist: is {workdir!r} a {study} work "
                               f"directory ({script} --workdir)?")
    config = from_json(outputs.read_json(path))
    config = dataclasses.replace(config, workdir=os.path.abspath(workdir))
    if not is_complete(workdir, name):
        raise MissingFileError(f"{name}.keras and {name}_savedmodel/ are not both in "
                               f"{workdir!r}: the training has not finished; rerun "
                               f"{script} with the same flags to resume it")
    return config
