"""The CaloGAN assessment on a tiny stand-in generator: numbers, seeds, metrics.json, plots."""

import math
import os

import keras
import numpy as np
import pytest
from keras import layers

from caloml import outputs
from caloml.calogan import config, evaluation
from caloml.data import calogan as calogan_data
from caloml.errors import InputError
from caloml.observables import statistics
from caloml.sim import calogan as sim_calogan
from caloml.training import seeds


def tiny_generator(latent_dim=4, num_classes=1, seed=0):
    """Dense from (z, E/100[, particle]) to each layer, ReLU, times E: cells ∝ the energy."""
    keras.utils.set_random_seed(seed)
    latent = keras.Input((latent_dim,), name="latent")
    energy = keras.Input((1,), name="energy")
    inputs = {"latent": latent, "energy": energy}
    features = [latent, layers.Rescaling(0.01)(energy)]
    if num_classes > 1:
        particle = keras.Input((1,), dtype="int32", name="particle")
        inputs["particle"] = particle
        features.append(layers.Flatten()(layers.Embedding(num_classes, 3)(particle)))
    h = layers.Concatenate()(features)
    outputs_ = {}
    for key, shape in zip(config.LAYER_KEYS, config.LAYER_SHAPES, strict=True):
        cells = layers.Dense(int(np.prod(shape)), activation="relu")(h)
        cells = layers.Multiply()([cells, layers.Rescaling(0.01)(energy)])
        outputs_[key] = layers.Reshape(shape, name=key)(cells)
    model = keras.Model(inputs, outputs_)
    model.num_classes = num_classes
    return model


def simulated_showers(particle, energy_gev, seed, index=0):
    arrays = sim_calogan.simulate_chunk(particle, np.asarray(energy_gev),
                                        np.random.default_rng(seed))
    showers = {key: arrays[key] / np.float32(1000.0) for key in config.LAYER_KEYS}
    showers["energy"] = arrays["energy"]
    showers["particle"] = np.full(len(energy_gev), index, np.int32)
    return showers


def test_nearest_neighbours_match_brute_force_across_chunks():
    rng = np.random.default_rng(0)
    reference = rng.exponential(size=(37, 11)).astype(np.float32)
    queries = rng.exponential(size=(23, 11)).astype(np.float32)
    queries[5] = reference[30]  # an exact copy: distance 0
    distance, index = evaluation.nearest_neighbours(queries, reference, chunk=4)
    brute = np.linalg.norm(queries[:, None, :].astype(np.float64) - reference[None], axis=2)
    np.testing.assert_array_equal(index, brute.argmin(axis=1))
    np.testing.assert_allclose(distance, brute.min(axis=1), rtol=1e-9, atol=1e-6)
    assert index[5] == 30 and distance[5] == pytest.approx(0.0, abs=1e-6)
    # One chunk for everything gives the same answer.
    np.testing.assert_array_equal(evaluation.nearest_neighbours(queries, reference)[1], index)


def test_nearest_neighbour_ties_go_to_the_first_row_and_bad_shapes_are_refused():
    reference = np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 0.0], [3.0, 4.0]])
    distance, index = evaluation.nearest_neighbours(np.array([[0.0, 0.0], [3.0, 3.0]]),
                                                    reference, chunk=2)
    np.testing.assert_array_equal(index, [1, 3])
    np.testing.assert_allclose(distance, [0.0, 1.0])
    with pytest.raises(InputError, match=r"queries \[N, D\] and reference \[M, D\]"):
        evaluation.nearest_neighbours(np.zeros((2, 3)), np.zeros((4, 2)))
    with pytest.raises(InputError, match="at least one reference"):
        evaluation.nearest_neighbours(np.zeros((2, 3)), np.zeros((0, 3)))


def test_shower_vectors_concatenate_the_flattened_layers():
    showers = {key: np.arange(2 * np.prod(shape), dtype=np.float32).reshape(2, *shape)
               for key, shape in zip(config.LAYER_KEYS, config.LAYER_SHAPES, strict=True)}
    vectors = evaluation.shower_vectors(showers)
    assert vectors.shape == (2, 288 + 144 + 72)
    np.testing.assert_array_equal(vectors[1, :288], showers["layer_0"][1].reshape(-1))
    np.testing.assert_array_equal(vectors[0, 288 + 144:], showers["layer_2"][0].reshape(-1))


def test_generate_is_reproducible_and_feeds_the_drawn_latents():
    generator = tiny_generator()
    energy = np.array([5.0, 50.0, 90.0])
    showers = evaluation.generate(generator, energy, seed=7, batch_size=2)
    again = evaluation.generate(generator, energy, seed=7, batch_size=1024)
    other = evaluation.generate(generator, energy, seed=8)
    for key, shape in zip(config.LAYER_KEYS, config.LAYER_SHAPES, strict=True):
        assert showers[key].shape == (3, *shape) and showers[key].dtype == np.float32
        # Batch sizes change the order of the sums (rounding), not the showers.
        np.testing.assert_allclose(showers[key], again[key], rtol=1e-5, atol=1e-8)
    assert not np.allclose(showers["layer_1"], other["layer_1"])
    latent = np.random.default_rng(7).standard_normal((3, 4), dtype=np.float32)
    direct = generator({"latent": latent, "energy": energy[:, None].astype(np.float32)},
                       training=False)
    np.testing.assert_allclose(showers["layer_0"], np.asarray(direct["layer_0"]), rtol=1e-5)
    np.testing.assert_array_equal(showers["energy"], energy[:, None].astype(np.float32))
    np.testing.assert_array_equal(showers["particle"], [0, 0, 0])
    with pytest.raises(InputError, match="positive energies"):
        evaluation.generate(generator, np.array([10.0, -1.0]), seed=0)


def test_generate_passes_the_particle_to_a_class_conditional_generator():
    generator = tiny_generator(num_classes=2)
    energy = np.full(4, 30.0)
    first = evaluation.generate(generator, energy, seed=1, particle=0)
    second = evaluation.generate(generator, energy, seed=1, particle=1)
    np.testing.assert_array_equal(second["particle"], [1, 1, 1, 1])
    assert not np.allclose(first["layer_1"], second["layer_1"])
    with pytest.raises(InputError, match="beyond the generator's ACGAN embedding of 2"):
        evaluation.generate(generator, energy, seed=1, particle=2)


def test_histograms_separation_power_and_summaries_hand_computed():
    # Integer samples get one bin per integer: p = (1/2, 1/2), q = (1/4, 3/4).
    metrics, histogram = evaluation.compare(np.array([0, 0, 1, 1]),
                                            np.array([0, 1, 1, 1, np.nan]))
    np.testing.assert_array_equal(histogram["edges"], [-0.5, 0.5, 1.5])
    np.testing.assert_array_equal(histogram["gan"], [1, 3])
    expected = 0.5 * (0.25**2 / 0.75 + 0.25**2 / 1.25)
    assert metrics["separation_power"] == pytest.approx(expected)
    assert metrics["gan"] == {"mean": 0.75, "std": pytest.approx(math.sqrt(3) / 4), "num": 4,
                              "num_non_finite": 1}
    # A far outlier lands in the last bin instead of stretching the range.
    rng = np.random.default_rng(0)
    reference, other = rng.normal(size=1000), np.append(rng.normal(size=999), 1e6)
    edges = evaluation.histogram_edges(reference, other)
    assert len(edges) == evaluation.NUM_BINS + 1 and edges[-1] < 10
    assert evaluation.histogram_counts(other, edges)[-1] >= 1
    assert evaluation.histogram_counts(other, edges).sum() == 1000
    # No finite value on one side: no histogram, NaN separation power.
    metrics, histogram = evaluation.compare(reference, np.full(3, np.nan))
    assert histogram is None and math.isnan(metrics["separation_power"])


def test_shower_shapes_in_mev_hand_computed():
    showers = {key: np.zeros((1, *shape), np.float32)
               for key, shape in zip(config.LAYER_KEYS, config.LAYER_SHAPES, strict=True)}
    showers["layer_0"][0, 0, 0] = showers["layer_0"][0, 0, 1] = 0.5  # two 5 mm strips
    showers["layer_1"][0, 5, 5] = 2.0
    showers["layer_2"][0, 0, 0] = 1.0
    shapes = evaluation.shower_shapes(showers)
    assert tuple(shapes) == evaluation.SHOWER_SHAPES
    assert shapes["energy_layer0"][0] == pytest.approx(1000.0)
    assert shapes["total_energy"][0] == pytest.approx(4000.0)
    assert shapes["energy_fraction_layer1"][0] == pytest.approx(0.5)
    assert shapes["depth"][0] == 2
    assert shapes["lateral_depth"][0] == pytest.approx(2000.0 + 2 * 1000.0)
    assert shapes["shower_depth"][0] == pytest.approx(1.0)
    assert shapes["shower_depth_width"][0] == pytest.approx(math.sqrt(6000 / 4000 - 1))
    assert shapes["energy_ratio_layer0"][0] == pytest.approx(0.0)  # two equal hottest cells
    assert shapes["energy_ratio_layer1"][0] == pytest.approx(1.0)
    # One x cell at -160 mm: width 0 but for feats1d's ε = 1e-6 in the MeV denominator,
    # 160 mm · sqrt(ε / 1000 MeV) (0.16 mm had the energies stayed in GeV).
    assert shapes["lateral_width_layer0"][0] == pytest.approx(160.0 * math.sqrt(1e-9), rel=1e-3)
    assert shapes["lateral_width_y_layer0"][0] == pytest.approx(2.5, rel=1e-4)  # ±2.5 mm
    assert shapes["sparsity_layer0"][0] == pytest.approx(2 / 288)


def test_average_images_and_response_summary():
    showers = {key: np.stack([np.zeros(shape), np.full(shape, 2.0)]).astype(np.float32)
               for key, shape in zip(config.LAYER_KEYS, config.LAYER_SHAPES, strict=True)}
    averages = evaluation.average_images(showers)
    np.testing.assert_allclose(averages["layer_2"], np.full((12, 6), 1000.0))  # MeV
    summary = evaluation.response_summary(np.array([0.8, 0.9, 1.0, 1.1, np.nan]))
    assert summary["mean"] == pytest.approx(0.95) and summary["num_non_finite"] == 1
    assert summary["quantiles"]["0.5"] == pytest.approx(0.95)
    assert summary["quantiles"]["0.05"] == pytest.approx(0.8 + 0.05 * 3 * 0.1)


def test_runtime_table_reports_medians_beside_the_slides():
    runtime = evaluation.runtime_table(tiny_generator(), (1, 4), seed=3, min_seconds=0.01,
                                       repeats=3)
    assert [row["batch_size"] for row in runtime["rows"]] == [1, 4]
    for row in runtime["rows"]:
        assert len(row["ms_per_shower_all"]) == 3
        assert row["ms_per_shower"] == pytest.approx(np.median(row["ms_per_shower_all"]))
        assert row["ms_per_shower_best"] == min(row["ms_per_shower_all"]) > 0
        assert row["speedup_vs_geant4"] == pytest.approx(1772.0 / row["ms_per_shower"])
    assert runtime["paper_ms_per_shower"] == config.PAPER_RUNTIME_MS
    assert runtime["device"] == "cpu" and "cpu_count" in runtime["machine"]
    with pytest.raises(InputError, match="batch_sizes must be positive"):
        evaluation.runtime_table(tiny_generator(), (0,))


def test_evaluate_refuses_showers_without_the_particle(tmp_path):
    experiment = config.for_particles(("positron", "photon"), workdir=str(tmp_path),
                                      num_train=64, gan=config.CaloGANConfig(batch_size=8))
    showers = simulated_showers("positron", np.full(4, 10.0), seed=0)
    with pytest.raises(InputError, match="test showers hold no photon"):
        evaluation.evaluate(experiment, tiny_generator(num_classes=2), showers, showers,
                            str(tmp_path))


@pytest.mark.slow
def test_evaluate_writes_metrics_and_plots_for_two_particles(tmp_path):
    particles = ("positron", "photon")
    experiment = config.for_particles(
        particles, workdir=str(tmp_path), num_train=48, num_test=32, seed=5,
        gan=config.CaloGANConfig(batch_size=8), response_energies_gev=(10.0, 150.0),
        num_response=20, runtime_batch_sizes=(1, 4), workers=1)
    rng = np.random.default_rng(0)
    parts = {"train": [], "test": []}
    for index, particle in enumerate(particles):
        for split, num in (("train", 48), ("test", 32)):
            parts[split].append(simulated_showers(particle, rng.uniform(1, 100, num),
                                                  seed=10 * index + num, index=index))
    train, test = ({key: np.concatenate([p[key] for p in parts[split]]) for key in parts[split][0]}
                   for split in ("train", "test"))
    generator = tiny_generator(num_classes=2)
    metrics = evaluation.evaluate(experiment, generator, train, test, str(tmp_path),
                                  runtime_min_seconds=0.01, runtime_repeats=2)

    assert outputs.read_json(tmp_path / "metrics.json")["particles"]["photon"]["num_test"] == 32
    stems = [f"{name}_{p}" for p in particles for name in (
        "average_images", "shower_shapes", "nearest_neighbours", "nn_distances",
        "energy_response")] + ["runtime"]
    for stem in stems:
        for ext in ("png", "pdf"):
            assert os.path.isfile(tmp_path / "plots" / f"{stem}.{ext}"), stem

    photon = metrics["particles"]["photon"]
    assert photon["num_train"] == 48
    assert tuple(photon["shower_shapes"]["observables"]) == evaluation.SHOWER_SHAPES
    # The photons' numbers come from the photon showers and photons generated at their energies.
    test_photons = {k: v[32:] for k, v in test.items()}
    generated = evaluation.generate(generator, test_photons["energy"][:, 0],
                                    seeds.derive(5, "evaluation/photon/generate"), particle=1)
    reference = evaluation.shower_shapes(test_photons)["total_energy"]
    fake = evaluation.shower_shapes(generated)["total_energy"]
    edges = evaluation.histogram_edges(reference, fake)
    expected = statistics.separation_power(evaluation.histogram_counts(reference, edges),
                                           evaluation.histogram_counts(fake, edges))
    observable = photon["shower_shapes"]["observables"]["total_energy"]
    assert observable["separation_power"] == pytest.approx(expected)
    assert observable["simulator"]["mean"] == pytest.approx(reference.mean())

    collapse = photon["mode_collapse"]
    train_photons = evaluation.shower_vectors({k: v[48:] for k, v in train.items()})
    brute = np.linalg.norm(evaluation.shower_vectors(generated)[:, None].astype(np.float64)
                           - train_photons[None], axis=2).min(axis=1)
    assert collapse["median_distance_generated_to_train_gev"] == pytest.approx(
        np.median(brute), rel=1e-6)
    assert collapse["num_generated"] == 32 and collapse["num_train"] == 48

    response = photon["energy_response"]
    assert [r["inside_training_range"] for r in response.values()] == [True, False]
    reference = calogan_data.simulate_reference(
        "photon", 150.0, 20, seeds.derive(5, "evaluation/photon/reference/150"))
    assert response["150"]["simulator"]["mean"] == pytest.approx(
        np.mean(evaluation._total_energy_gev(reference) / 150.0))
    assert response["150"]["gan"]["num"] == 20

    runtime = metrics["runtime"]
    assert [row["batch_size"] for row in runtime["rows"]] == [1, 4]
    assert metrics["config"]["particles"] == particles
