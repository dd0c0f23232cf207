"""The packaged Geant4 reference of the CaloGAN geometry, and separation powers against it."""

import copy
import json
import math
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from caloml.errors import DataError, InputError, MissingFileError
from caloml.observables import layered
from caloml.simreport import config, geant4

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def reference():
    return geant4.load_calogan_reference()


def test_the_fixture_loads_with_every_figure_and_particle(reference):
    assert os.path.isfile(geant4.REFERENCE_PATH)
    assert list(reference["observables"]) == [f.observable for f in geant4.CALOGAN_FIGURES]
    assert reference["source"]["repository"] == "hep-lbdl/CaloGAN"
    assert re.fullmatch(r"[0-9a-f]{40}", reference["source"]["commit"])
    for figure in geant4.CALOGAN_FIGURES:
        entry = reference["observables"][figure.observable]
        np.testing.assert_allclose(entry["bin_edges"], figure.edges(), rtol=1e-12)
        assert entry["source"]["cell"] == figure.cell
        for particle in config.CALOGAN_PARTICLES:
            density = entry["geant4"][particle]["density"]
            assert density.shape == (len(figure.edges()) - 1,)
            assert np.all(density[np.isfinite(density)] >= 0)


def test_every_histogram_is_normalised_within_its_digitisation_brackets(reference):
    for name, entry in reference["observables"].items():
        widths = np.diff(entry["bin_edges"])
        for particle, hist in entry["geant4"].items():
            readable = np.isfinite(hist["density"])
            integral = np.sum((hist["density"] * widths)[readable])
            low = np.sum((hist["density_low"] * widths)[readable])
            high = np.sum((hist["density_high"] * widths)[readable])
            where = f"{name}/{particle}"
            assert abs(integral - 1.0) < 0.02, where
            assert low <= 1.0 <= high + 0.002, where  # + the mass of bins past the x limit
            assert hist["integral"] == pytest.approx(integral, abs=1e-3), where
            assert np.all(hist["density_low"][readable] <= hist["density"][readable]), where
            assert np.all(hist["density"][readable] <= hist["density_high"][readable]), where


def test_only_bins_beyond_a_figures_x_limit_are_null(reference):
    limits = {"energy_layer0": 40.0, "energy_layer1": 140.0, "lateral_width_layer0": 200.0,
              "lateral_width_layer2": 300.0}
    for name, entry in reference["observables"].items():
        upper = entry["bin_edges"][1:]
        for particle, hist in entry["geant4"].items():
            null = np.isnan(hist["density"])
            expected = upper > limits[name] * 1.02 if name in limits else np.zeros_like(null)
            np.testing.assert_array_equal(null, expected, err_msg=f"{name}/{particle}")


def test_positron_means_match_the_numbers_read_off_the_figures_by_eye(reference):
    # config's numbers were read by eye; the sparsity bins are 0.053 wide (a bin-centre mean
    # is good to about ±0.02) and the E_ratio bins 0.0101.
    observables = reference["observables"]
    quoted = config.CALOGAN_GEANT4_POSITRON
    for layer, expected in enumerate(quoted["sparsity"]):
        mean = observables[f"sparsity_layer{layer}"]["geant4"]["positron"]["mean"]
        assert mean == pytest.approx(expected, abs=0.05), f"sparsity layer {layer}"
    for layer, expected in enumerate(quoted["energy_ratio"]):
        if expected is not None:
            mean = observables[f"energy_ratio_layer{layer}"]["geant4"]["positron"]["mean"]
            assert mean == pytest.approx(expected, abs=0.01), f"E_ratio layer {layer}"


def test_independently_digitised_figures_agree_on_the_physics(reference):
    means = {name: {p: h["mean"] for p, h in entry["geant4"].items()}
             for name, entry in reference["observables"].items()}
    for particle in config.CALOGAN_PARTICLES:
        # s_d = f_1 + 2 f_2 (the log-binned fraction figures cover the whole range).
        implied = means["energy_fraction_layer1_log"][particle] \
            + 2 * means["energy_fraction_layer2_log"][particle]
        assert means["shower_depth"][particle] == pytest.approx(implied, abs=0.01), particle
        # The linear and log figures of f_1 show the same distribution.
        assert means["energy_fraction_layer1"][particle] == pytest.approx(
            means["energy_fraction_layer1_log"][particle], abs=0.005), particle
    # Electromagnetic showers: E_tot spans 1-100 GeV; pions leave most energy behind.
    assert means["total_energy"]["positron"] == pytest.approx(50.5, abs=1.5)
    assert means["total_energy"]["piplus"] < 20.0


def test_separation_power_of_identical_and_disjoint_histograms():
    h = np.array([1.0, 4.0, 0.0, 5.0])
    assert geant4.separation_power(h, h) == 0.0
    assert geant4.separation_power(h, 3.0 * h) == pytest.approx(0.0, abs=1e-15)  # unit sums
    assert geant4.separation_power([1.0, 2.0, 0.0, 0.0], [0.0, 0.0, 3.0, 1.0]) == 1.0
    # p = (½, ½), q = (1, 0): ½ [(½ - 1)² / (3/2) + (½)² / ½] = 1/3.
    assert geant4.separation_power([1.0, 1.0], [7.0, 0.0]) == pytest.approx(1 / 3)
    # A null reference bin is dropped from both before normalising.
    assert geant4.separation_power([1.0, np.nan, 1.0], [2.0, 100.0, 2.0]) == 0.0
    assert math.isnan(geant4.separation_power([0.0, 0.0], [1.0, 2.0]))
    with pytest.raises(ValueError, match="non-negative"):
        geant4.separation_power([1.0, -1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="bins"):
        geant4.separation_power([1.0, 1.0], [1.0, 1.0, 1.0])


def _sample_of(entry, particle, n=200_000):
    """Values at the bin centres with the reference's probabilities (integer counts)."""
    edges = entry["bin_edges"]
    probability = np.nan_to_num(entry["geant4"][particle]["density"]) * np.diff(edges)
    counts = np.rint(probability / probability.sum() * n).astype(int)
    return np.repeat(0.5 * (edges[1:] + edges[:-1]), counts)


def test_separation_powers_histogram_features_with_the_reference_bins(reference):
    one = copy.deepcopy(reference)
    one["observables"] = {"sparsity_layer0": one["observables"]["sparsity_layer0"],
                          "energy_layer2": one["observables"]["energy_layer2"]}
    entries = one["observables"]
    positron = {"sparsity_layer0": _sample_of(entries["sparsity_layer0"], "positron"),
                # Features are in MeV, the figure in GeV.
                "energy_layer2": 1e3 * _sample_of(entries["energy_layer2"], "positron")}
    nan_padded = {k: np.concatenate([v, [np.nan] * 10]) for k, v in positron.items()}
    powers = geant4.separation_powers({"positron": nan_padded, "piplus": positron}, one)
    assert powers["sparsity_layer0"]["positron"] < 1e-6
    assert powers["energy_layer2"]["positron"] < 1e-6
    # The same sample against the π⁺ reference: the figures' visible separation.
    edges = entries["sparsity_layer0"]["bin_edges"]
    expected = geant4.separation_power(
        entries["sparsity_layer0"]["geant4"]["piplus"]["density"] * np.diff(edges),
        np.histogram(positron["sparsity_layer0"], edges)[0])
    assert powers["sparsity_layer0"]["piplus"] == pytest.approx(expected)
    assert powers["sparsity_layer0"]["piplus"] > 0.3


def test_separation_powers_take_shower_shapes_of_layered_showers(reference):
    rng = np.random.default_rng(0)
    layers = [rng.exponential(100.0, (50, *s)) * (rng.random((50, *s)) < 0.4)
              for s in ((3, 96), (12, 12), (12, 6))]
    powers = geant4.separation_powers({"photon": layered.shower_shapes(layers)}, reference)
    assert set(powers) == set(reference["observables"])
    assert all(set(v) == {"photon"} for v in powers.values())
    assert all(0.0 <= v["photon"] <= 1.0 for v in powers.values() if not math.isnan(v["photon"]))
    with pytest.raises(InputError, match="unknown particles"):
        geant4.separation_powers({"electron": {}}, reference)
    with pytest.raises(InputError, match="no 'sparsity_layer0'"):
        geant4.separation_powers({"photon": {"total_energy": np.ones(3)}}, reference)


def test_every_figure_maps_to_a_shower_shape():
    names = set(layered.shower_shapes([np.ones((1, 3, 96)), np.ones((1, 12, 12)),
                                       np.ones((1, 12, 6))]))
    assert {feature for feature, _ in geant4.FEATURES.values()} <= names
    assert geant4.FEATURES["total_energy"] == ("total_energy", 1e-3)
    assert geant4.FEATURES["energy_fraction_layer0_log"] == ("energy_fraction_layer0", 1.0)


def _write(path, document):
    path.write_text(json.dumps(document))
    return path


def test_a_malformed_fixture_is_one_clear_error_naming_file_and_key(tmp_path):
    with open(geant4.REFERENCE_PATH, encoding="utf-8") as f:
        good = json.load(f)
    with pytest.raises(MissingFileError, match="does not exist"):
        geant4.load_calogan_reference(tmp_path / "none.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(DataError, match=r"broken\.json: not valid JSON"):
        geant4.load_calogan_reference(broken)

    short = copy.deepcopy(good)
    short["observables"]["depth"]["geant4"]["photon"]["density"].pop()
    with pytest.raises(DataError, match=r"bad\.json: observables/depth/geant4/photon/density: "
                                        r"expected a list of 3 numbers"):
        geant4.load_calogan_reference(_write(tmp_path / "bad.json", short))
    missing = copy.deepcopy(good)
    del missing["observables"]["shower_depth"]["geant4"]["piplus"]
    with pytest.raises(DataError, match="observables/shower_depth/geant4/piplus: missing"):
        geant4.load_calogan_reference(_write(tmp_path / "bad.json", missing))
    unsorted = copy.deepcopy(good)
    unsorted["observables"]["depth"]["bin_edges"] = [0, 2, 1, 3]
    with pytest.raises(DataError, match="observables/depth/bin_edges: expected at least two"):
        geant4.load_calogan_reference(_write(tmp_path / "bad.json", unsorted))
    negative = copy.deepcopy(good)
    negative["observables"]["depth"]["geant4"]["positron"]["density"][0] = -1.0
    with pytest.raises(DataError, match="observables/depth/geant4/positron/density"):
        geant4.load_calogan_reference(_write(tmp_path / "bad.json", negative))
    with pytest.raises(DataError, match="particles: expected"):
        geant4.load_calogan_reference(_write(tmp_path / "bad.json", {**good, "particles": []}))


def test_the_fixture_is_package_data():
    with open(os.path.join(ROOT, "setup.cfg"), encoding="utf-8") as f:
        setup = f.read()
    assert re.search(r"\[options\.package_data\]\s*(#.*\n)*\s*caloml\.simreport = "
                     r"reference/\*\.json", setup)


def test_the_digitiser_script_fails_cleanly_on_a_missing_notebook(tmp_path):
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "eval", "digitise_calogan_notebook.py"),
         f"--notebook={tmp_path / 'missing.ipynb'}", "--commit=" + "0" * 40,
         f"--output={tmp_path / 'out.json'}"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("error: notebook ")
    assert not (tmp_path / "out.json").exists()
