"""Export of inference networks: a ``.keras`` file and a TensorFlow SavedModel.

``<workdir>/<name>.keras`` reloads with ``keras.saving.load_model`` once ``caloml`` is imported
(its layers are registered there). ``<workdir>/<name>_savedmodel/`` is written by
``model.export`` and needs no caloml: load it with ``keras.layers.TFSMLayer(path,
call_endpoint="serve")`` or ``loaded = tf.saved_model.load(path); loaded.serve(x)``. Keep the
loaded object referenced: ``tf.saved_model.load(path).serve(x)`` in one expression fails
("function referencing variables which have been deleted") because the object owning the
variables is garbage-collected before the call runs.

Both are written under temporary names in ``workdir`` and renamed into place once complete, so
an interrupted export never leaves a half-written file or directory under the final name, and
an older export stays until the new one is complete.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import keras
from absl import logging

from caloml import outputs


def export_model(model: keras.Model, workdir: str | os.PathLike, name: str) -> tuple[str, str]:
    """Writes ``model`` as ``<workdir>/<name>.keras`` and ``<workdir>/<name>_savedmodel/``.

    Args:
        model: a built Keras model (the inference network only: generator or classifier).
        workdir: the work directory; created if missing.
        name: stem of both outputs, e.g. ``"generator"``.

    Returns:
        ``(keras_path, savedmodel_path)``.
    """
    workdir = os.fspath(workdir)
    os.makedirs(workdir, exist_ok=True)
    keras_path = os.path.join(workdir, f"{name}.keras")
    savedmodel_path = os.path.join(workdir, f"{name}_savedmodel")

    with outputs.atomic_path(keras_path) as tmp_path:
        model.save(tmp_path)

    tmp_dir = tempfile.mkdtemp(prefix=f".{name}_savedmodel.tmp-", dir=workdir)
    try:
        # The "serve" endpoint's signature follows the model's inputs (None dimensions stay
        # free, so a fully convolutional generator accepts any image size).
        model.export(tmp_dir, format="tf_saved_model", verbose=False)
        _replace_directory(tmp_dir, savedmodel_path)
    finally:
        if os.path.exists(tmp_dir):
            shutil.rmtree(tmp_dir)
    logging.info("exported %s to %s and %s", model.name, keras_path, savedmodel_path)
    return keras_path, savedmodel_path


def _replace_directory(new: str, target: str) -> None:
    """Renames directory ``new`` to ``target``, replacing an existing ``target``.

    ``os.replace`` cannot replace a non-empty directory, so an existing ``target`` is first
    renamed aside (it comes back if the second rename fails) and deleted afterwards.
    """
    if not os.path.exists(target):
        os.replace(new, target)
        return
    old = tempfile.mkdtemp(prefix=f".{os.path.basename(target)}.old-",
                           dir=os.path.dirname(target))
    os.rmdir(old)  # only the unique name is wanted
    os.replace(target, old)
    try:
        os.replace(new, target)
    except BaseException:
        os.replace(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)
