"""The numbers of the simulator reports, on hand-made images and small simulations."""

import numpy as np
import pytest

from caloml.simreport import config, evaluation


def test_window_fraction_hand_computed():
    lr = np.zeros((2, 24, 24), np.float32)
    lr[0, 10, 10], lr[0, 11, 10], lr[0, 20, 20] = 6.0, 2.0, 2.0  # (20, 20) outside the window
    lr[1, 0, 0], lr[1, 1, 1] = 3.0, 1.0
    np.testing.assert_allclose(evaluation.window_fraction(lr), [0.8, 1.0])
    assert np.isnan(evaluation.window_fraction(np.zeros((1, 24, 24)))[0])


def test_srgamma_metrics_hand_computed():
    hr = np.zeros((2, 96, 96), np.float32)
    hr[:, 40, 40] = 10.0
    hr[1, 41, 44] = 10.0  # the next crystal along y
    lr = hr.reshape(2, 24, 4, 24, 4).sum(axis=(2, 4))
    arrays = {"hr": hr, "lr": lr, "energy": np.array([10.0, 25.0]),
              "opening_angle_rad": np.array([0.0, 0.02]), "leakage_gev": np.array([0.0, 5.0])}
    metrics = evaluation.srgamma_metrics(arrays, {"pi0_fraction_kept": 0.9})
    assert metrics["num_showers"] == 2 and metrics["pi0_fraction_kept"] == 0.9
    assert metrics["core_1x1_fraction"] == pytest.approx((1.0 + 0.5) / 2)
    assert metrics["core_3x3_fraction"] == pytest.approx(1.0)
    assert metrics["image_energy_fraction"] == pytest.approx((1.0 + 0.8) / 2)
    assert metrics["mean_opening_angle_deg"] == pytest.approx(np.degrees(0.01))
    assert metrics["leakage_fraction"] == pytest.approx(0.1)
    assert "mean_shower_max_x0" not in metrics  # no truth array, no metric


def test_srgamma_reference_uses_the_papers_energies():
    assert evaluation.srgamma_reference(20.0)["pi0_fraction_kept"] == 0.94
    assert evaluation.srgamma_reference(50.0)["pi0_fraction_kept"] == 0.99
    assert evaluation.srgamma_reference(35.0)["pi0_fraction_kept"] is None
    assert evaluation.srgamma_reference(None)["window_6x6_fraction"] == 0.99


@pytest.mark.slow
def test_clic_metrics():
    metrics, arrays = evaluation.clic_metrics(num_showers=32, seed=3, workers=1,
                                              energies_gev=(10.0, 100.0, 400.0))
    electron = metrics["electron"]
    assert set(electron) == {"10", "100", "400"}
    for point in electron.values():
        assert point["mean_sum_over_e"] == pytest.approx(1.0, abs=0.03)
    # Raw Si energy over E falls with energy (more of the shower in the thick layers).
    fractions = [electron[e]["sampling_fraction"] for e in ("10", "100", "400")]
    assert 0.015 < fractions[2] < fractions[1] < fractions[0] < 0.025
    # The resolution shrinks with energy, and the fit gives a W/Si-like stochastic term.
    assert electron["10"]["sigma_over_e"] > electron["400"]["sigma_over_e"]
    assert 0.08 < metrics["electron_resolution"]["stochastic"] < 0.25
    assert metrics["hcal_ecal"]["electron_below_0.1"] > 0.95
    assert metrics["hcal_ecal"]["piplus_median"] > 1.0
    assert metrics["pi0_opening_below_0.01"]["lowest_energy_passing"] > 27.0
    for slope in metrics["incidence_slope"].values():
        assert slope["median_dy_dz"] == pytest.approx(slope["cot_theta"], abs=0.02)
    # The figures' arrays are the ones the numbers come from.
    assert np.std(arrays["response"][400.0]) == pytest.approx(electron["400"]["sigma_over_e"])
    assert len(arrays["hcal_ecal"]["piplus"][1]) == 4 * 32


@pytest.mark.slow
def test_calogan_metrics():
    metrics, arrays = evaluation.calogan_metrics(num_showers=200, seed=2, workers=1)
    fractions = metrics["positron_layer_fractions"]
    for energy, point in fractions.items():
        assert point["caloml"] == pytest.approx(config.CALOGAN_EXPECTED_FRACTIONS[energy],
                                                abs=0.05)
    # Deeper showers at higher energy: less in layer 0.
    layer_0 = [fractions[e]["caloml"][0] for e in ("1", "10", "100")]
    assert layer_0[0] > layer_0[1] > layer_0[2]
    positron, pion = metrics["positron"], metrics["piplus"]
    # The 2017 readout sums the absorber: cells + overflow hold the whole positron energy;
    # non-compensation leaves pions short.
    assert positron["deposited_over_energy"] == pytest.approx(1.0, abs=0.02)
    assert pion["deposited_over_energy"] < 0.95
    comparison = metrics["geant4_comparison"]
    for particle in config.CALOGAN_PARTICLES:
        assert len(arrays["samples"][particle]["layers"]) == 3
        for layer in range(3):
            entry = comparison[f"sparsity_layer{layer}"][particle]
            assert 0.0 <= entry["caloml_mean"] <= 1.0 and 0.0 <= entry["separation_power"] <= 1
    # The means are taken as the fixture's: on its bins, each at the bin centre.
    assert comparison["total_energy"]["positron"]["caloml_mean"] == pytest.approx(50, abs=5)
    assert comparison["total_energy"]["positron"]["geant4_mean"] == pytest.approx(50, abs=1)
