"""The numbers of the simulator reports: per geometry, what its papers and references quote.

* srgamma (paper 000 §2): 6×6-window containment, core fractions, π⁰ opening angle and the
  fraction the 2° cut keeps, shower depth and leakage.
* clic (paper 003 §2): electron calibration and a/√E ⊕ b resolution, HCAL/ECAL of electrons and
  charged pions (the π± selection), the π⁰ opening-angle selection, reco-angle residuals, the
  incidence-angle slope of the layer barycentres.
* calogan (paper 004): positron layer fractions against the GFlash expectation, and the
  cell-level observables of the CaloGAN paper (sparsity, E_ratio, cell spectra) per particle.

Each ``*_metrics`` function returns ``(metrics, arrays)``: the JSON-ready numbers and the
arrays the geometry's figures are drawn from.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from caloml import sim
from caloml.data import preprocessing, srgamma
from caloml.observables import layered, showers, statistics
from caloml.sim import clic
from caloml.simreport import config as config_lib
from caloml.simreport import geant4


def mean(values: np.ndarray) -> float | None:
    """The mean of the finite values, or None if there are none."""
    values = np.asarray(values, np.float64)
    return float(np.nanmean(np.where(np.isfinite(values), values, np.nan))) \
        if np.isfinite(values).any() else None


# --- srgamma ----------------------------------------------------------------------------------


def window_fraction(lr: np.ndarray, size: int = preprocessing.WINDOW_SIZE) -> np.ndarray:
    """Fraction of each image's energy in its ``size``×``size`` window with the largest sum.

    Args:
        lr: LR images [N, 24, 24] in GeV.
        size: window side in crystals (paper 000: 6).

    Returns:
        [N] float64; NaN for an image without energy.
    """
    lr = np.asarray(lr)
    window, _, _ = preprocessing.select_window(lr, None, size=size)
    return showers.ratio(window.sum(axis=(1, 2), dtype=np.float64),
                         lr.sum(axis=(1, 2), dtype=np.float64))


def srgamma_metrics(arrays: dict[str, np.ndarray], attrs: dict[str, Any]) -> dict[str, Any]:
    """Summary numbers of one particle's srgamma dataset.

    Args:
        arrays: ``lr`` [N, 24, 24], ``hr`` [N, 96, 96], ``energy`` [N],
            ``opening_angle_rad`` [N] and optionally the truth arrays ``leakage_gev``,
            ``out_of_window_gev``, ``shower_max_x0`` [N].
        attrs: the file attributes (``pi0_fraction_kept`` for π⁰ files).

    Returns:
        Means over the events: containment of the 6×6 LR window with the largest sum (relative
        to the 24×24 image), fractions in the 1×1/3×3/5×5 crystals around the hottest crystal,
        image energy / incident energy, opening angle, and the truth quantities if present.
    """
    lr, energy = arrays["lr"], np.asarray(arrays["energy"], np.float64)
    image_sum = np.asarray(arrays["hr"]).sum(axis=(1, 2), dtype=np.float64)
    metrics: dict[str, Any] = {
        "num_showers": int(len(lr)),
        "mean_energy_gev": mean(energy),
        "window_6x6_fraction": mean(window_fraction(lr)),
    }
    for k, fraction in showers.core_fractions(lr).items():
        metrics[f"core_{k}x{k}_fraction"] = mean(fraction)
    metrics["image_energy_fraction"] = mean(showers.ratio(image_sum, energy))
    opening = np.asarray(arrays["opening_angle_rad"], np.float64)
    metrics["mean_opening_angle_rad"] = mean(opening)
    metrics["mean_opening_angle_deg"] = math.degrees(metrics["mean_opening_angle_rad"])
    if "pi0_fraction_kept" in attrs:
        metrics["pi0_fraction_kept"] = float(attrs["pi0_fraction_kept"])
    for key, name in (("shower_max_x0", "mean_shower_max_x0"),
                      ("leakage_gev", "mean_leakage_gev"),
                      ("out_of_window_gev", "mean_out_of_window_gev")):
        if key in arrays:
            metrics[name] = mean(arrays[key])
    if "leakage_gev" in arrays:
        metrics["leakage_fraction"] = mean(showers.ratio(arrays["leakage_gev"], energy))
    return metrics


def srgamma_reference(energy_gev: float | None) -> dict[str, Any]:
    """The paper's numbers for the srgamma report at ``energy_gev`` (None: unknown energy)."""
    key = None if energy_gev is None else srgamma.paper_energy(energy_gev)
    return {"window_6x6_fraction": config_lib.SRGAMMA_PAPER["window_6x6_fraction"],
            "pi0_fraction_kept": config_lib.SRGAMMA_PAPER["pi0_fraction_kept"].get(key)}


# --- clic -------------------------------------------------------------------------------------


def _window_sums(data) -> tuple[np.ndarray, np.ndarray]:
    return (data["ECAL"].sum(axis=(1, 2, 3), dtype=np.float64),
            data["HCAL"].sum(axis=(1, 2, 3), dtype=np.float64))


def clic_metrics(
    num_showers: int = 512, seed: int = 1, workers: int = 2,
    energies_gev: tuple[float, ...] = config_lib.CLIC_ENERGIES_GEV,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Physics figures of the ``clic`` geometry (the README's CLIC table).

    Electron calibration and resolution per energy at the EM scale with the a/√E ⊕ b fit, the
    sampling fraction ECAL/50/E of the files' readout (3DGAN's Fig. 10), HCAL/ECAL of
    electrons and charged pions (the π± selection's efficiency per energy range), the π⁰
    opening-angle selection, reco-angle residuals of photons, and per-event slopes of the layer
    barycentres against cot θ.

    Args:
        num_showers: showers per energy point (4× for the 2-500 GeV samples).
        seed: simulator seed.
        workers: simulator processes.
        energies_gev: electron energies of the calibration scan.

    Returns:
        ``(metrics, arrays)``: the numbers, and ``response`` (per energy the (ECAL + HCAL)/E of
        every electron), ``hcal_ecal`` (per particle the ratios), ``slopes`` (per θ the
        per-event slopes) for :mod:`caloml.simreport.figures`.
    """
    common = dict(seed=seed, workers=workers)
    metrics: dict[str, Any] = {"num_showers": num_showers, "electron": {}}
    arrays: dict[str, Any] = {"response": {}, "hcal_ecal": {}, "slopes": {}}
    sigma = []
    for energy in energies_gev:
        # The response at the EM scale (readout em_scale), and the sampling fraction of the
        # files' convention (raw active energy × 50, 3DGAN's Fig. 10: ECAL / 50 / E).
        ecal, hcal = _window_sums(sim.simulate("clic", "electron", num_showers,
                                               energy_gev=energy, readout="em_scale", **common))
        raw_ecal, _ = _window_sums(sim.simulate("clic", "electron", num_showers,
                                                energy_gev=energy, **common))
        response = (ecal + hcal) / energy
        arrays["response"][energy] = response
        sigma.append(float(response.std()))
        metrics["electron"][f"{energy:g}"] = {
            "mean_sum_over_e": float(response.mean()), "sigma_over_e": sigma[-1],
            "hcal_over_e": float(np.mean(hcal) / energy),
            "sampling_fraction": float(np.mean(raw_ecal) / clic.FILE_SCALE / energy)}
    a, b = statistics.fit_resolution(np.asarray(energies_gev), np.asarray(sigma))
    metrics["electron_resolution"] = {"stochastic": a, "constant": b,
                                      "calice_siw": config_lib.CALICE_SIW_RESOLUTION}

    cut = config_lib.CLIC_SELECTIONS["hcal_ecal_ratio"]
    for particle in ("electron", "piplus"):
        data = sim.simulate("clic", particle, 4 * num_showers, **common)
        ecal, hcal = _window_sums(data)
        arrays["hcal_ecal"][particle] = (data["energy"], hcal / np.maximum(ecal, 1e-12))
    e_ratio = arrays["hcal_ecal"]["electron"][1]
    metrics["hcal_ecal"] = {"electron_median": float(np.median(e_ratio)),
                            f"electron_below_{cut:g}": float(np.mean(e_ratio < cut))}
    p_energy, p_ratio = arrays["hcal_ecal"]["piplus"]
    for low, high in ((2, 20), (20, 100), (100, 500)):
        band = (p_energy >= low) & (p_energy < high)
        metrics["hcal_ecal"][f"piplus_below_{cut:g}_{low}-{high}GeV"] = float(
            np.mean(p_ratio[band] < cut))
    metrics["hcal_ecal"]["piplus_median"] = float(np.median(p_ratio))

    opening_cut = config_lib.CLIC_SELECTIONS["opening_angle_rad"]
    pi0 = sim.simulate("clic", "pi0", 4 * num_showers, **common)
    passed = pi0["openingAngle"] < opening_cut
    metrics[f"pi0_opening_below_{opening_cut:g}"] = {
        "fraction": float(passed.mean()),
        "lowest_energy_passing": float(pi0["energy"][passed].min())}

    photons = sim.simulate("clic", "photon", num_showers, energy_gev=(10.0, 500.0), **common)
    metrics["photon_reco_residuals"] = {
        "eta_std": float(np.std(photons["recoEta"] - photons["eta"])),
        "phi_std": float(np.std(np.angle(np.exp(1j * (photons["recoPhi"] - photons["phi"]))))),
    }
    geometry = clic.ClicGeometry()
    depth = geometry.layers["depth_mm"][: geometry.num_ecal_layers]
    metrics["incidence_slope"] = {}
    for theta in config_lib.CLIC_THETAS_RAD:
        data = sim.simulate("clic", "photon", min(num_showers, 128), energy_gev=100.0,
                            theta_rad=theta, **common)
        slopes = showers.layer_barycentre_slopes(data["ECAL"], depth, geometry.ecal_cell_mm)
        arrays["slopes"][theta] = slopes
        metrics["incidence_slope"][f"{theta:.4f}"] = {"median_dy_dz": float(np.nanmedian(slopes)),
                                                      "cot_theta": 1.0 / math.tan(theta)}
    return metrics, arrays


# --- calogan ----------------------------------------------------------------------------------


def _layers(data) -> list[np.ndarray]:
    return [np.asarray(data[f"layer_{i}"], np.float64) for i in range(3)]


def calogan_metrics(
    num_showers: int = 10_000, seed: int = 1, workers: int = 2,
    energies_gev: tuple[float, ...] = config_lib.CALOGAN_ENERGIES_GEV,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Layer fractions, and every observable of the Geant4 reference, of the ``calogan`` geometry.

    Positrons at the fixed ``energies_gev`` give the mean energy fraction per layer, against
    PHYSICS.md §5's expectation. Every particle at the public files' uniform 1-100 GeV gives the
    CaloGAN 1D shower shapes (:func:`caloml.observables.layered.shower_shapes`) compared with
    the Geant4 histograms digitised from the CaloGAN authors' notebook
    (:func:`caloml.simreport.geant4.load_calogan_reference`): per observable and particle the
    mean of both and the separation power ½Σ(h₁−h₂)²/(h₁+h₂) on the reference's bins, and the
    bookkeeping (cells + overflow) / E.

    Args:
        num_showers: showers per energy point and per particle.
        seed: simulator seed.
        workers: simulator processes.
        energies_gev: positron energies of the layer-fraction check.

    Returns:
        ``(metrics, arrays)``: the numbers, and ``samples`` (per particle the 1-100 GeV layers
        in MeV, ``energy`` in GeV and ``features``) and ``reference`` (the Geant4 fixture) for
        :mod:`caloml.simreport.figures`.
    """
    common = dict(seed=seed, workers=workers)
    metrics: dict[str, Any] = {"num_showers": num_showers, "positron_layer_fractions": {}}
    for energy in energies_gev:
        layers = _layers(sim.simulate("calogan", "positron", num_showers, energy_gev=energy,
                                      **common))
        sums = np.stack([layer.sum(axis=(1, 2)) for layer in layers], axis=1)
        fractions = sums / sums.sum(axis=1, keepdims=True)
        metrics["positron_layer_fractions"][f"{energy:g}"] = {
            "caloml": fractions.mean(axis=0).tolist(),
            "expected": list(config_lib.CALOGAN_EXPECTED_FRACTIONS.get(f"{energy:g}", ())),
        }
    reference = geant4.load_calogan_reference()
    samples = {}
    for particle in config_lib.CALOGAN_PARTICLES:
        data = sim.simulate("calogan", particle, num_showers, **common)
        layers = _layers(data)
        energy = np.asarray(data["energy"], np.float64)[:, 0]
        features = layered.shower_shapes(layers)
        samples[particle] = {"layers": layers, "energy": energy, "features": features}
        deposited = sum(layer.sum(axis=(1, 2)) for layer in layers)
        deposited = deposited + np.asarray(data["overflow"], np.float64).sum(axis=1)
        metrics[particle] = {"deposited_over_energy": mean(1e-3 * deposited / energy)}
    powers = geant4.separation_powers({p: s["features"] for p, s in samples.items()}, reference)
    comparison = {}
    for name, entry in reference["observables"].items():
        feature, factor = geant4.FEATURES[name]
        comparison[name] = {}
        for particle, sample in samples.items():
            values = np.asarray(sample["features"][feature], np.float64) * factor
            comparison[name][particle] = {
                "caloml_mean": geant4.binned_mean(values, entry["bin_edges"]),
                "geant4_mean": entry["geant4"][particle]["mean"],
                "separation_power": powers[name][particle],
            }
    metrics["geant4_comparison"] = comparison
    metrics["geant4_source"] = reference["source"]
    return metrics, {"samples": samples, "reference": reference}
