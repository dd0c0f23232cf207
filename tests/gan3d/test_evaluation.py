"""The 3DGAN assessment on a tiny stand-in generator and reconstruction network."""

import json
import math
import os

import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest
from keras import layers

from caloml import outputs, seeding
from caloml.data import reco as reco_data
from caloml.data import threedgan
from caloml.errors import DataError, InputError, MissingFileError
from caloml.gan3d import config, evaluation
from caloml.observables import statistics, voxels
from caloml.plotting import core as plotting
from caloml.training import export

WINDOW = config.WINDOWS["anglegan"]


def tiny_generator(noise_dim=2, angle=True, window=WINDOW, seed=0):
    """Dense from [E/100, θ, z] to every cell, ReLU, times E/100: the generator's signature."""
    keras.utils.set_random_seed(seed)
    inputs = {"energy": keras.Input((1,), name="energy"),
              "latent": keras.Input((noise_dim,), name="latent")}
    if angle:
        inputs["angle"] = keras.Input((1,), name="angle")
    scaled = layers.Rescaling(0.01)(inputs["energy"])
    features = [scaled, inputs["latent"]] + ([inputs["angle"]] if angle else [])
    h = layers.Concatenate()(features)
    cells = layers.Dense(int(np.prod(window)), activation="relu")(h)
    cells = layers.Multiply()([cells, scaled])
    power = layers.Reshape((*window, 1), name="ecal_power")(cells)
    ecal = layers.Reshape(window, name="ecal")(cells)
    return keras.Model(inputs, {"ecal_power": power, "ecal": ecal})


def synthetic_events(num, seed=0, window=WINDOW):
    """Straight showers along θ with ~0.95 E in the window, plus HCAL and reco directions."""
    rng = np.random.default_rng(seed)
    nx, ny, nz = window
    energy = rng.uniform(100, 200, num)
    theta = rng.uniform(1.1, 2.0, num)
    depth = threedgan.LAYER_DEPTH_MM[:nz]
    ecal = np.zeros((num, *window), np.float32)
    longitudinal = np.exp(-0.5 * ((np.arange(nz) - 8) / 5.0) ** 2)
    longitudinal /= longitudinal.sum()
    for i in range(num):
        shift = (depth - depth.mean()) / np.tan(theta[i]) / threedgan.CELL_SIZE_MM
        for z in range(nz):
            y = int(np.clip(round(ny // 2 + shift[z]), 1, ny - 2))
            e = 0.95 * energy[i] * longitudinal[z] * rng.uniform(0.8, 1.2)
            ecal[i, nx // 2, y, z] = 0.6 * e
            ecal[i, nx // 2 - 1:nx // 2 + 2, y - 1:y + 2, z] += 0.4 * e / 9
    hcal = rng.exponential(0.01, (num, 11, 11, 60)).astype(np.float32)
    eta = -np.log(np.tan(theta / 2))
    return {"ECAL": ecal, "energy": energy.astype(np.float32),
            "theta": theta.astype(np.float32),
            "mtheta": threedgan.measured_theta(ecal).astype(np.float32),
            "sum": ecal.sum(axis=(1, 2, 3)), "HCAL": hcal,
            "recoEta": (eta + rng.normal(0, 0.01, num)).astype(np.float32),
            "recoPhi": rng.uniform(-0.5, 0.5, num).astype(np.float32)}


def experiment(tmp_path, **fields):
    return config.Gan3DExperiment(
        workdir=str(tmp_path), num_train=64, num_eval=fields.pop("num_eval", 100), seed=3,
        generator=config.GeneratorConfig(latent_dim=4), runtime_batch_sizes=(1, 2), **fields)


def test_generate_is_reproducible_per_seed_and_batch_size_free():
    generator = tiny_generator()
    energy, theta = np.array([110.0, 150.0, 190.0]), np.array([1.2, 1.6, 1.9])
    showers = evaluation.generate(generator, energy, theta, seed=7, batch_size=2)
    assert showers.shape == (3, *WINDOW) and showers.dtype == np.float32
    np.testing.assert_allclose(showers, evaluation.generate(generator, energy, theta, seed=7),
                               rtol=1e-5, atol=1e-7)
    latent = np.random.default_rng(7).standard_normal((3, 2), dtype=np.float32)
    direct = generator({"energy": energy[:, None].astype(np.float32), "latent": latent,
                        "angle": theta[:, None].astype(np.float32)}, training=False)
    np.testing.assert_allclose(showers, np.asarray(direct["ecal"]), rtol=1e-5, atol=1e-7)
    assert not np.allclose(showers, evaluation.generate(generator, energy, theta, seed=8))
    # The angle reaches the generator.
    assert not np.allclose(showers, evaluation.generate(generator, energy, theta + 0.3, seed=7))
    with pytest.raises(InputError, match="positive energies"):
        evaluation.generate(generator, np.array([-1.0]), np.array([1.0]), seed=0)


def test_generate_warns_outside_the_trained_energies_and_still_generates(caplog):
    generator = tiny_generator(angle=False, window=(25, 25, 25))
    showers = evaluation.generate(generator, np.array([50.0, 150.0]), np.array([0.0, 0.0]),
                                  seed=0, energy_range_gev=(100.0, 200.0))
    assert showers.shape == (2, 25, 25, 25)
    assert "1 requested energies lie outside the trained 100-200 GeV" in caplog.text


def test_compare_histograms_hand_computed():
    metrics, histogram = evaluation.compare(np.array([3, 3, 4, 4]), np.array([3, 4, 4, 4, np.nan]))
    np.testing.assert_array_equal(histogram["edges"], [2.5, 3.5, 4.5])
    np.testing.assert_array_equal(histogram["gan"], [1, 3])
    assert metrics["separation_power"] == pytest.approx(0.5 * (0.25**2 / 0.75 + 0.25**2 / 1.25))
    assert metrics["gan"]["num_non_finite"] == 1 and metrics["gan"]["mean"] == 3.75
    metrics, histogram = evaluation.compare(np.ones(3), np.full(2, np.nan))
    assert histogram is None and math.isnan(metrics["separation_power"])


def test_bins_examples_and_binned_means(tmp_path):
    cfg = experiment(tmp_path)
    masks = evaluation.theta_bins(cfg, np.radians([62.0, 67.0, 90.0, 95.0, 118.0]))
    assert list(masks) == ["62deg", "90deg", "118deg"]
    # ± 0.1 rad = ± 5.7°.
    np.testing.assert_array_equal(masks["62deg"], [True, True, False, False, False])
    np.testing.assert_array_equal(masks["90deg"], [False, False, True, True, False])
    fixed = config.for_architecture("energygan", workdir=str(tmp_path), num_train=128)
    assert list(evaluation.theta_bins(fixed, np.ones(2))) == ["all"]
    assert evaluation.energy_bins(cfg) == ((110.0, 150.0, 190.0), 5.0)  # GANutils' bins
    index = evaluation.example_indices(np.array([100, 200, 150, 101, 199.0]),
                                       np.array([1.1, 2.0, 1.5, 1.98, 1.12]))
    assert index == [0, 3, 4, 1]  # (low E, low θ), (low, high), (high, low), (high, high)
    means = evaluation.binned_means(np.array([1.0, 1.5, 3.0, 9.0]),
                                    {"a": np.array([2.0, 4.0, 5.0, np.nan])},
                                    np.array([0.0, 2.0, 4.0]))
    np.testing.assert_array_equal(means["num"], [2, 2])  # 9 falls in the last bin
    np.testing.assert_allclose(means["a"]["mean"], [3.0, 5.0])
    np.testing.assert_allclose(means["a"]["std"], [1.0, 0.0])


def test_shower_observables_of_a_two_layer_shower():
    ecal = np.zeros((1, *WINDOW), np.float32)
    ecal[0, 25, 25, 0] = 1.0
    ecal[0, 25, 27, 20] = 3.0
    obs = evaluation.shower_observables(ecal, np.array([8.0]))
    assert obs["sampling_fraction"][0] == 0.5 and obs["num_hits"][0] == 2
    # y: mean (25 + 3 · 27) / 4 = 26.5, variance (1.5² + 3 · 0.5²) / 4 = 0.75.
    assert obs["second_moment_y"][0] == pytest.approx(0.75)
    assert obs["second_moment_x"][0] == 0.0
    np.testing.assert_allclose([obs[f"longitudinal_fraction_{k}"][0] for k in (1, 2, 3)],
                               [0.25, 0.0, 0.75])
    assert obs["measured_theta"][0] == pytest.approx(threedgan.measured_theta(ecal)[0])
    empty = evaluation.shower_observables(np.zeros((1, *WINDOW), np.float32), np.array([1.0]))
    assert math.isnan(empty["measured_theta"][0])  # 100 (undefined) becomes NaN


def test_electron_probability_and_response_profile():
    probability = evaluation.electron_probability(np.array([[0.0, 0.0], [math.log(3), 0.0]]))
    np.testing.assert_allclose(probability, [0.5, 0.75])
    profile = evaluation.response_profile(np.array([110.0, 120.0, 160.0]),
                                          np.array([99.0, 132.0, 160.0]),
                                          np.array([100.0, 150.0, 200.0]))
    np.testing.assert_allclose(profile["response"], [1.0, 1.0])
    np.testing.assert_allclose(profile["resolution"], [0.1, 0.0])
    np.testing.assert_allclose(profile["mean_predicted_gev"], [115.5, 160.0])


def test_runtime_table_reports_medians_beside_the_paper():
    runtime = evaluation.runtime_table(tiny_generator(window=(4, 4, 5)), (1, 3), seed=2,
                                       min_seconds=0.01, repeats=3)
    assert [row["batch_size"] for row in runtime["rows"]] == [1, 3]
    for row in runtime["rows"]:
        assert row["ms_per_shower"] == pytest.approx(np.median(row["ms_per_shower_all"]))
        assert row["speedup_vs_geant4"] == pytest.approx(17_000.0 / row["ms_per_shower"])
    assert runtime["paper_ms_per_shower"]["3dgan_gtx_1080"] == 4.0
    with pytest.raises(InputError, match="batch_sizes must be positive"):
        evaluation.runtime_table(tiny_generator(window=(4, 4, 5)), (0,))


def test_bad_test_events_and_generators_are_refused(tmp_path):
    cfg = experiment(tmp_path)
    events = synthetic_events(3)
    with pytest.raises(InputError, match="test events lack mtheta"):
        evaluation.evaluate(cfg, tiny_generator(), {k: v for k, v in events.items()
                                                    if k != "mtheta"}, str(tmp_path))
    with pytest.raises(InputError, match=r"makes \[N, 51, 51, 25\]"):
        evaluation.evaluate(cfg, tiny_generator(), {**events, "ECAL": events["ECAL"][:, :25]},
                            str(tmp_path))
    with pytest.raises(InputError, match="needs an angle input, but the generator has no"):
        evaluation.evaluate(cfg, tiny_generator(angle=False), events, str(tmp_path))


def tiny_reco_network():
    """Energy = (ECAL + HCAL sums) in GeV; logits (ECAL sum / 100, HCAL sum / 100)."""
    inputs = {"ecal": keras.Input((25, 25, 25, 1), name="ecal"),
              "hcal": keras.Input((11, 11, 60, 1), name="hcal"),
              "scalars": keras.Input((4,), name="scalars")}
    pooled = [layers.GlobalAveragePooling3D()(inputs[k]) for k in ("ecal", "hcal")]
    h = layers.Concatenate()([inputs["scalars"], *pooled])  # [B, 6]
    logits = layers.Dense(2, name="logits")(h)
    energy = layers.Dense(1, name="energy")(h)
    direction = layers.Dense(2, name="direction")(h)
    model = keras.Model(inputs, {"logits": logits, "energy": energy, "direction": direction})
    logits_kernel = np.zeros((6, 2), np.float32)
    logits_kernel[2, 0] = logits_kernel[3, 1] = 1.0
    energy_kernel = np.zeros((6, 1), np.float32)
    energy_kernel[2:4] = 1.0
    model.get_layer("logits").set_weights([logits_kernel, np.zeros(2, np.float32)])
    model.get_layer("energy").set_weights([energy_kernel, np.zeros(1, np.float32)])
    return model


def export_reco(directory, task="e_pi", model="cnn"):
    export.export_model(tiny_reco_network(), directory, model)
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump({"model": model, "task": task}, f)


def test_check_reco_workdir_names_the_missing_path(tmp_path):
    with pytest.raises(MissingFileError, match="config.json' does not exist"):
        evaluation.check_reco_workdir(str(tmp_path))
    (tmp_path / "config.json").write_text(json.dumps({"task": "e_pi"}))
    with pytest.raises(DataError, match="names no reconstruction model"):
        evaluation.check_reco_workdir(str(tmp_path))
    (tmp_path / "config.json").write_text(json.dumps({"model": "cnn"}))
    with pytest.raises(MissingFileError, match=r"cnn_savedmodel' is missing or incomplete"):
        evaluation.check_reco_workdir(str(tmp_path))


def test_reco_inputs_are_made_as_the_reconstruction_data_makes_them(tmp_path):
    export_reco(str(tmp_path))
    loaded, shapes, values = evaluation.load_reco(str(tmp_path))
    assert sorted(shapes) == ["ecal", "hcal", "scalars"] and values["task"] == "e_pi"
    events = synthetic_events(5, seed=1)
    out = evaluation.reco_predict(loaded, shapes, events["ECAL"], events["HCAL"],
                                  events["recoEta"], events["recoPhi"], batch_size=2)
    ecal_sum = reco_data.crop_ecal(events["ECAL"]).sum(axis=(1, 2, 3), dtype=np.float64)
    hcal_sum = events["HCAL"].sum(axis=(1, 2, 3), dtype=np.float64)
    np.testing.assert_allclose(out["energy_gev"], ecal_sum + hcal_sum, rtol=1e-5)
    np.testing.assert_allclose(out["logits"], np.stack([ecal_sum, hcal_sum], 1) / 100, rtol=1e-5)


@pytest.fixture
def saved_stems(monkeypatch):
    """The figures' path stems, recorded instead of written (saving PDFs is the slow part)."""
    stems = []

    def record(fig, path_stem, formats=("png", "pdf"), dpi=150):
        stems.append(os.fspath(path_stem))
        plt.close(fig)
        return [f"{path_stem}.{fmt}" for fmt in formats]

    monkeypatch.setattr(plotting, "save_figure", record)
    return stems


def test_evaluate_writes_metrics_and_plots_with_appendix_b(tmp_path, saved_stems):
    reco_dir = tmp_path / "reco"
    export_reco(str(reco_dir))
    work = tmp_path / "gan"
    work.mkdir()
    cfg = experiment(work, num_eval=26, reco_workdir=str(reco_dir))
    events = synthetic_events(28, seed=2)
    events["ECAL"][5] = 0.0  # no energy: undefined mtheta and below the ECAL-sum cut
    events["ECAL"][9] *= 0.01  # ECAL sum ~1-2, at or below min_ecal_sum = 10
    events["mtheta"] = threedgan.measured_theta(events["ECAL"]).astype(np.float32)
    generator = tiny_generator()
    metrics = evaluation.evaluate(cfg, generator, events, str(work), runtime_min_seconds=0.01,
                                  runtime_repeats=2)

    assert metrics["num_events"] == 24  # 26 of 28 (num_eval), events 5 and 9 dropped
    assert metrics["dropped"] == {"num_undefined_mtheta": 0, "num_at_or_below_min_ecal_sum": 2}
    assert outputs.read_json(work / "metrics.json")["num_events"] == 24
    assert sorted(saved_stems) == sorted(str(work / "plots" / stem) for stem in (
        "example_showers", "sampling_fraction", "hits", "profiles", "profiles_log",
        "second_moments", "longitudinal_fractions", "relative_errors", "measured_angle",
        "runtime", "reco_energy", "reco_electron_id"))

    keep = np.setdiff1d(np.arange(26), [5, 9])
    test = {k: v[keep] for k, v in events.items()}
    generated = evaluation.generate(generator, test["energy"], test["mtheta"],
                                    seeding.derive(3, "evaluation/generate"))
    sim = evaluation.shower_observables(test["ECAL"], test["energy"].astype(np.float64))
    gan = evaluation.shower_observables(generated, test["energy"].astype(np.float64))
    assert tuple(metrics["observables"]) == evaluation.OBSERVABLES
    edges = evaluation.histogram_edges(sim["sampling_fraction"], gan["sampling_fraction"])
    expected = statistics.separation_power(
        evaluation.histogram_counts(sim["sampling_fraction"], edges),
        evaluation.histogram_counts(gan["sampling_fraction"], edges))
    assert metrics["observables"]["sampling_fraction"]["separation_power"] == pytest.approx(
        expected)
    assert metrics["observables"]["second_moment_z"]["simulator"]["mean"] == pytest.approx(
        sim["second_moment_z"].mean())
    relative = voxels.moment_relative_errors(sim["moments"], gan["moments"])
    assert metrics["relative_errors"]["all"]["moments"]["total"] == pytest.approx(
        relative["total"])
    in_110 = np.abs(test["energy"] - 110.0) < 5.0
    assert metrics["relative_errors"]["110"]["num_reference"] == int(in_110.sum())
    residual = gan["measured_theta"] - test["mtheta"]
    assert metrics["measured_angle"]["gan_minus_requested_rad"]["mean"] == pytest.approx(
        np.nanmean(residual), rel=1e-5)
    assert metrics["per_theta_bin"]["90deg"]["num"] == int(
        np.sum(np.abs(test["mtheta"] - math.pi / 2) < 0.1))
    assert [row["batch_size"] for row in metrics["runtime"]["rows"]] == [1, 2]

    reco = metrics["reco"]
    assert reco["task"] == "e_pi" and reco["num_events"] == 24
    assert reco["notes"]["hcal"] == "the simulated events' HCAL"
    # GAN showers get their paired simulated event's HCAL: E_pred = crop(ECAL) + HCAL sums.
    predicted = (reco_data.crop_ecal(generated).sum(axis=(1, 2, 3), dtype=np.float64)
                 + test["HCAL"].sum(axis=(1, 2, 3), dtype=np.float64))
    expected = evaluation.response_profile(test["energy"], predicted,
                                           np.linspace(100, 200, 11))
    np.testing.assert_allclose(reco["energy"]["profiles"]["gan"]["mean_predicted_gev"],
                               expected["mean_predicted_gev"], rtol=1e-4)
    probability = evaluation.electron_probability(np.stack(
        [reco_data.crop_ecal(test["ECAL"]).sum(axis=(1, 2, 3), dtype=np.float64),
         test["HCAL"].sum(axis=(1, 2, 3), dtype=np.float64)], 1) / 100)
    assert reco["classification"]["simulator"]["mean"] == pytest.approx(probability.mean(),
                                                                         rel=1e-4)


def test_appendix_b_without_hcal_uses_zeros_and_says_so(tmp_path, saved_stems):
    reco_dir = tmp_path / "reco"
    export_reco(str(reco_dir), task="gamma_pi0")
    work = tmp_path / "gan"
    work.mkdir()
    cfg = experiment(work, reco_workdir=str(reco_dir))
    events = synthetic_events(6, seed=4, window=WINDOW)
    events = {k: v for k, v in events.items() if k not in ("HCAL", "recoEta", "recoPhi")}
    loaded, shapes, _ = evaluation.load_reco(str(reco_dir))
    generated = np.zeros_like(events["ECAL"])
    metrics = evaluation._reco_assessment(cfg, events, generated, str(work))
    assert saved_stems == [str(work / "reco_energy")]  # no classification figure
    assert metrics["notes"]["hcal"].startswith("zeros")
    assert metrics["notes"]["reco_direction"].startswith("recoEta = -ln tan(mtheta / 2)")
    assert metrics["classification"] is None and "task 'gamma_pi0'" in metrics["notes"][
        "classification"]
    ecal_sum = reco_data.crop_ecal(events["ECAL"]).sum(axis=(1, 2, 3), dtype=np.float64)
    profile = metrics["energy"]["profiles"]["simulator"]
    expected = evaluation.response_profile(events["energy"], ecal_sum, np.linspace(100, 200, 11))
    np.testing.assert_allclose(profile["mean_predicted_gev"], expected["mean_predicted_gev"],
                               rtol=1e-5)
    assert metrics["energy"]["profiles"]["gan"]["mean_predicted_gev"][
        np.isfinite(expected["mean_predicted_gev"])] == pytest.approx(0.0, abs=1e-6)
