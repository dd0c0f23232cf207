"""train_and_evaluate end to end on a tiny sample: outputs, resume, predictions, bad input."""

import dataclasses
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from caloml import outputs
from caloml.data import reco as reco_data
from caloml.errors import InputError, MissingFileError
from caloml.reco import config, evaluation, experiment

DATA = reco_data.DataConfig(num_train=40, num_validation=10, num_test=30, seed=4, workers=1)
TINY_DNN = config.DNNConfig(hidden_layers=1, units=8, dropout=0.0, hcal_window=3)


def tiny(workdir, **changes):
    settings = dict(workdir=str(workdir), model="dnn", task="gamma_pi0", data=DATA,
                    network=TINY_DNN, epochs=1, batch_size=20, shuffle_buffer=64,
                    progress=False)
    return config.RecoExperiment(**{**settings, **changes})


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("reco")
    metrics = experiment.train_and_evaluate(tiny(workdir))
    return workdir, metrics


@pytest.mark.slow
def test_a_run_writes_export_predictions_metrics_and_plots(trained):
    workdir, metrics = trained
    for name in ("config.json", "history.json", "metrics.json", "predictions.npz", "dnn.keras",
                 "dnn_savedmodel/saved_model.pb", "plots/roc_gamma_pi0_clic_variable.png",
                 "plots/energy_response_clic_variable.pdf"):
        assert (workdir / name).exists(), name
    predictions = evaluation.read_predictions(workdir / "predictions.npz")
    assert (predictions.method, predictions.task, predictions.geometry, predictions.angle) == (
        "dnn", "gamma_pi0", "clic", "variable")
    assert predictions.num_events == 60
    np.testing.assert_array_equal(predictions.label, np.repeat([0, 1], 30))
    np.testing.assert_array_equal(predictions.pdg, np.repeat([22, 111], 30))
    # The scores and energies are the exported network's outputs on the test rows.
    network = keras.saving.load_model(workdir / "dnn.keras")
    paths = {p: str(workdir / "data" / f"{p}.h5") for p in ("photon", "pi0")}
    block = next(reco_data.iter_blocks(paths, "test", DATA))
    arrays = reco_data.network_arrays(block, hcal_window=3)
    out = network.predict({k: arrays[k] for k in network.input_names}, verbose=0)
    np.testing.assert_allclose(predictions.score[:30],
                               out["logits"][:, 1] - out["logits"][:, 0], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(predictions.energy_pred_gev[:30], 100 * out["energy"][:, 0],
                               rtol=1e-4)
    np.testing.assert_allclose(predictions.energy_true_gev[:30], block["energy"], rtol=1e-6)
    auc = metrics["classification"]["clic"]["variable"]["gamma_pi0"]["methods"]["dnn"]["auc"]
    from sklearn.metrics import roc_auc_score

    assert auc == pytest.approx(roc_auc_score(predictions.label, predictions.score), abs=1e-4)
    written = outputs.read_json(workdir / "metrics.json")
    assert written["classification"] == metrics["classification"]
    loaded = tf.saved_model.load(str(workdir / "dnn_savedmodel"))
    served = loaded.serve({k: tf.constant(arrays[k]) for k in network.input_names})
    np.testing.assert_allclose(served["energy"].numpy(), out["energy"], rtol=1e-4, atol=1e-6)


@pytest.mark.slow
def test_rerun_resumes_and_other_settings_are_refused(trained):
    workdir, _ = trained
    experiment.train_and_evaluate(tiny(workdir, epochs=2, evaluate=False))
    history = outputs.read_json(workdir / "history.json")["epochs"]
    assert [e["epoch"] for e in history] == [1, 2]
    assert sorted(os.listdir(workdir / "checkpoints"))[0].startswith("checkpoint")
    with pytest.raises(InputError, match="batch_size: 20 → 10"):
        experiment.train_and_evaluate(tiny(workdir, epochs=2, batch_size=10))
    with pytest.raises(InputError, match="--epochs=1: work directory .* holds 2 trained"):
        experiment.train_and_evaluate(tiny(workdir, epochs=1))


def test_bad_settings_and_data_fail_before_anything_is_written(tmp_path):
    with pytest.raises(InputError, match="unknown task 'gamma'"):
        tiny(tmp_path / "a", task="gamma")
    with pytest.raises(InputError, match="unknown model 'resnet'"):
        tiny(tmp_path / "a", model="resnet")
    with pytest.raises(InputError, match="--particle is needed by --task=regression"):
        tiny(tmp_path / "a", task="regression")
    with pytest.raises(InputError, match="batch_size=20 must be a multiple of micro_batch=3"):
        tiny(tmp_path / "a", micro_batch=3)
    empty = tmp_path / "empty"
    empty.mkdir()
    data = dataclasses.replace(DATA, data=str(empty))
    with pytest.raises(MissingFileError, match="no file 'photon.h5' for the photons"):
        experiment.train_and_evaluate(tiny(tmp_path / "run", data=data))
    assert not (tmp_path / "run").exists()


def test_resolved_settings_fill_the_paper_defaults(tmp_path):
    googlenet = config.RecoExperiment(workdir=str(tmp_path), model="googlenet").resolved()
    assert (googlenet.epochs, googlenet.micro_batch, googlenet.batch_size) == (10, 10, 1000)
    assert googlenet.network.learning_rate == 1e-4 and googlenet.network.decay == 0.01
    cnn = config.RecoExperiment(workdir=str(tmp_path), model="cnn").resolved()
    assert (cnn.epochs, cnn.micro_batch, cnn.network.learning_rate) == (100, None, 4e-4)
    assert cnn.loss == config.LossWeights(1.0, 200.0, 0.0)
    regression = config.RecoExperiment(workdir=str(tmp_path), task="regression",
                                       particle="piplus").resolved()
    assert regression.loss.classification == 0.0 and regression.loss.energy == 200.0
    again = config.RecoExperiment.from_json(outputs.to_json(dataclasses.asdict(regression)))
    assert again == regression
