"""``import caloml`` is light, and enough to load every exported ``.keras`` model."""

import pathlib
import subprocess
import sys
import textwrap

import keras
import pytest

import caloml
from caloml.srgan import config, networks

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_every_module_registering_keras_classes_is_listed():
    registering = sorted(
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for path in (ROOT / "caloml").rglob("*.py")
        if "@keras.saving.register_keras_serializable" in path.read_text())
    assert registering == sorted(caloml.KERAS_MODULES)


def test_import_caloml_loads_neither_keras_nor_tensorflow():
    code = "import sys, caloml; print(sorted({'keras', 'tensorflow'} & set(sys.modules)))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    assert proc.stdout.strip() == "[]"


LOAD = textwrap.dedent("""
    import sys
    first, path = sys.argv[1], sys.argv[2]
    if first == "caloml":
        import caloml
        import keras
    else:
        import keras
        import caloml
    model = keras.saving.load_model(path)
    print(type(model).__name__, model.count_params())
""")


@pytest.mark.slow
@pytest.mark.parametrize("first", ["caloml", "keras"])
def test_import_caloml_is_enough_to_load_every_exported_model(tmp_path, first):
    keras.utils.set_random_seed(0)
    exported = [networks.SRGenerator(config.GeneratorConfig(filters=8, num_rrdb=1)),
                networks.PhotonPionClassifier(config.ClassifierConfig.for_input("lr"))]
    for model in exported:
        path = tmp_path / f"{type(model).__name__}.keras"
        model.save(path)
        proc = subprocess.run([sys.executable, "-c", LOAD, first, str(path)], cwd=tmp_path,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert proc.stdout.split() == [type(model).__name__, str(model.count_params())]


@pytest.mark.slow
def test_a_check_for_keras_does_not_use_up_the_registration():
    code = textwrap.dedent("""
        import importlib.util, sys
        import caloml
        assert importlib.util.find_spec("keras") is not None
        import keras
        print("caloml.srgan.networks" in sys.modules)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split()[-1] == "True"
