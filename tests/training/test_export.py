"""Export of inference networks: .keras and a SavedModel loadable without caloml."""

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from caloml import outputs
from caloml.errors import MissingFileError
from caloml.srgan import config, networks
from caloml.training import export

TINY = config.GeneratorConfig(filters=8, num_rrdb=1)

# Loads the SavedModel in a fresh interpreter that never imports caloml, both ways.
LOAD_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import keras
    import tensorflow as tf

    path, x_path = sys.argv[1], sys.argv[2]
    x = np.load(x_path)
    layer = keras.layers.TFSMLayer(path, call_endpoint="serve")
    by_layer = np.asarray(layer(x))
    loaded = tf.saved_model.load(path)  # kept referenced: it owns the variables
    by_endpoint = loaded.serve(tf.constant(x)).numpy()
    # The signature keeps the lateral dimensions free: a 12×12 input gives 48×48.
    bigger = loaded.serve(tf.zeros((1, 12, 12, 1))).numpy()
    assert "caloml" not in sys.modules, sorted(m for m in sys.modules if "caloml" in m)
    print(json.dumps({"layer": by_layer.tolist(), "endpoint": by_endpoint.tolist(),
                      "bigger_shape": list(bigger.shape)}))
""")


def leftovers(directory) -> list[str]:
    return sorted(name for name in os.listdir(directory) if ".tmp-" in name or ".old-" in name)


@pytest.fixture(scope="module")
def generator():
    keras.utils.set_random_seed(0)
    return networks.SRGenerator(TINY)


@pytest.fixture
def lr_images():
    return np.random.default_rng(7).random((4, 6, 6, 1), dtype=np.float32)


def test_export_writes_both_formats(generator, lr_images, tmp_path):
    keras_path, savedmodel_path = export.export_model(generator, tmp_path / "work", "generator")
    assert keras_path == str(tmp_path / "work" / "generator.keras")
    assert savedmodel_path == str(tmp_path / "work" / "generator_savedmodel")
    assert os.path.isfile(keras_path)
    assert os.path.isfile(os.path.join(savedmodel_path, "saved_model.pb"))
    assert leftovers(tmp_path / "work") == []
    loaded = keras.saving.load_model(keras_path)
    assert isinstance(loaded, networks.SRGenerator) and loaded.config == TINY
    np.testing.assert_allclose(loaded(lr_images), generator(lr_images), rtol=1e-6, atol=1e-6)


@pytest.mark.slow
def test_savedmodel_loads_without_caloml(generator, lr_images, tmp_path):
    _, savedmodel_path = export.export_model(generator, tmp_path, "generator")
    x_path = tmp_path / "x.npy"
    np.save(x_path, lr_images)
    expected = generator(lr_images, training=False).numpy()
    proc = subprocess.run(
        [sys.executable, "-c", LOAD_SCRIPT, savedmodel_path, str(x_path)],
        capture_output=True, text=True, timeout=300, cwd=str(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    np.testing.assert_allclose(np.asarray(result["layer"]), expected, atol=1e-5)
    np.testing.assert_allclose(np.asarray(result["endpoint"]), expected, atol=1e-5)
    assert result["bigger_shape"] == [1, 48, 48, 1]


def test_reexport_replaces_the_old_export(generator, lr_images, tmp_path):
    export.export_model(generator, tmp_path, "generator")
    stale = tmp_path / "generator_savedmodel" / "stale.txt"
    stale.write_text("from the first export")
    keras.utils.set_random_seed(1)
    other = networks.SRGenerator(TINY)
    keras_path, savedmodel_path = export.export_model(other, tmp_path, "generator")
    assert not stale.exists()  # the directory was replaced, not merged
    assert leftovers(tmp_path) == []
    assert sorted(os.listdir(tmp_path)) == ["generator.keras", "generator_savedmodel"]
    reloaded = keras.saving.load_model(keras_path)
    np.testing.assert_allclose(reloaded(lr_images), other(lr_images), rtol=1e-6, atol=1e-6)
    assert not np.allclose(reloaded(lr_images), generator(lr_images))


def test_failed_export_keeps_the_previous_one(generator, tmp_path, monkeypatch):
    export.export_model(generator, tmp_path, "generator")
    before = sorted(os.listdir(tmp_path / "generator_savedmodel"))

    def broken_export(self, filepath, **kwargs):
        with open(os.path.join(filepath, "partial.pb"), "w") as f:
            f.write("half written")
        raise RuntimeError("disk full")

    monkeypatch.setattr(keras.Model, "export", broken_export)
    with pytest.raises(RuntimeError, match="disk full"):
        export.export_model(generator, tmp_path, "generator")
    assert sorted(os.listdir(tmp_path / "generator_savedmodel")) == before
    assert leftovers(tmp_path) == []


def test_an_export_missing_a_part_is_not_reused(generator, lr_images, tmp_path):
    assert export.load_exported(tmp_path, "generator") is None
    keras_path, savedmodel_path = export.export_model(generator, tmp_path, "generator")
    assert export.is_complete(tmp_path, "generator")
    reloaded = export.load_exported(tmp_path, "generator")
    np.testing.assert_allclose(reloaded(lr_images), generator(lr_images), rtol=1e-6, atol=1e-6)
    shutil.rmtree(savedmodel_path)  # killed between the two parts of an older export layout
    assert not export.is_complete(tmp_path, "generator")
    assert export.load_exported(tmp_path, "generator") is None
    export.export_model(generator, tmp_path, "generator")
    os.remove(keras_path)  # killed after the SavedModel, before the .keras file
    assert export.load_exported(tmp_path, "generator") is None


def test_finished_run_config_names_the_missing_piece_and_its_remedy(generator, tmp_path):

    @dataclasses.dataclass(frozen=True)
    class Run:
        workdir: str
        epochs: int = 1

        @classmethod
        def from_json(cls, values):
            return cls(**values)

    workdir = tmp_path / "run"
    with pytest.raises(MissingFileError, match=r"is '.*run' a toy work directory "
                                               r"\(train/toy.py --workdir\)\?"):
        export.finished_run_config(workdir, Run.from_json, "toy", "train/toy.py")
    workdir.mkdir()
    outputs.write_json(workdir / "config.json", {"workdir": "/elsewhere", "epochs": 3})
    with pytest.raises(MissingFileError, match="the training has not finished; rerun "
                                               "train/toy.py with the same flags"):
        export.finished_run_config(workdir, Run.from_json, "toy", "train/toy.py")
    export.export_model(generator, workdir, "generator")
    config = export.finished_run_config(workdir, Run.from_json, "toy", "train/toy.py")
    assert config == Run(workdir=str(workdir), epochs=3)  # the moved directory is the one used
