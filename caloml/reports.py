"""Reports on simulated datasets: the SR-γ photon and pi0 showers of paper 000.

:func:`run_srgamma_showers` simulates (or reuses, or reads) one photon and one pi0 file,
then writes into the work directory ``config.json``, ``metrics.json`` (containment, core
fractions, opening angle, shower depth, leakage) and ``plots/`` (example and average images).
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from collections.abc import Sequence
from typing import Any

import h5py
import numpy as np
from absl import logging

import caloml
from caloml import outputs, plotting, sim
from caloml.data import hdf5, preprocessing, schema
from caloml.observables import showers
from caloml.sim import cache

PARTICLES = ("photon", "pi0")
# Paper 000, section 2: the 6×6 window "keeps on average approximately 99 % of the total
# simulated energy"; the 2° opening-angle cut "retains around 94 % and 99 % of the simulated
# pions with an energy of 20 GeV and 50 GeV".
PAPER_REFERENCE = {
    "window_6x6_fraction": 0.99,
    "pi0_fraction_kept": {"20": 0.94, "50": 0.99},
}


@dataclasses.dataclass(frozen=True)
class SRGammaShowersConfig:
    """Settings of :func:`run_srgamma_showers`.

    Attributes:
        workdir: output directory (``config.json``, ``metrics.json``, ``plots/``, ``data/``).
        energy_gev: fixed particle energy, 1-500 GeV (pi0 with the 2° opening-angle cut needs
            at least about 7.8 GeV).
        num_showers: showers per particle.
        seed: simulator seed (the pi0 file uses ``seed + 1``: independent gun positions).
        workers: simulator worker processes.
        data: optional directory with ``photon.h5`` and ``pi0.h5`` in the srgamma layout,
            used instead of simulating; at most ``num_showers`` of each are read.
        num_examples: example events per particle in ``plots/examples``.
        progress: show progress bars while simulating.
    """

    workdir: str = "runs/srgamma_showers"
    energy_gev: float = 50.0
    num_showers: int = 10000
    seed: int = 1
    workers: int = 2
    data: str | None = None
    num_examples: int = 3
    progress: bool = True


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
    return _ratio(window.sum(axis=(1, 2), dtype=np.float64), lr.sum(axis=(1, 2), dtype=np.float64))


def core_fractions(lr: np.ndarray, sizes: Sequence[int] = (1, 3, 5)) -> dict[int, np.ndarray]:
    """Fractions of each image's energy in the ``k``×``k`` crystals around its hottest crystal.

    Squares reaching past the image edge are clipped to it.

    Args:
        lr: images [N, H, W] in GeV.
        sizes: odd square sides in crystals.

    Returns:
        ``{k: [N] float64}``; NaN for an image without energy.
    """
    lr = np.asarray(lr, np.float64)
    n, height, width = lr.shape
    total = lr.sum(axis=(1, 2))
    row, col = np.unravel_index(lr.reshape(n, -1).argmax(axis=1), (height, width))
    rows, cols = np.arange(height), np.arange(width)
    out = {}
    for k in sizes:
        if k < 1 or k % 2 != 1:
            raise ValueError(f"core sizes must be odd positive integers, got {k}")
        half = k // 2
        in_rows = np.abs(rows[None, :] - row[:, None]) <= half  # [N, H]
        in_cols = np.abs(cols[None, :] - col[:, None]) <= half  # [N, W]
        inside = np.einsum("nh,nhw,nw->n", in_rows.astype(np.float64), lr, in_cols)
        out[k] = _ratio(inside, total)
    return out


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    return np.divide(numerator, denominator, out=np.full(numerator.shape, np.nan),
                     where=denominator > 0)


def _mean(values: np.ndarray) -> float | None:
    values = np.asarray(values, np.float64)
    return float(np.nanmean(values)) if np.isfinite(values).any() else None


def shower_metrics(arrays: dict[str, np.ndarray], attrs: dict[str, Any]) -> dict[str, Any]:
    """Summary numbers of one particle's srgamma dataset.

    Args:
        arrays: ``lr`` [N, 24, 24], ``hr`` [N, 96, 96], ``energy`` [N],
            ``opening_angle_rad`` [N] and optionally the truth arrays ``leakage_gev``,
            ``out_of_window_gev``, ``shower_max_x0`` [N].
        attrs: the file attributes (``pi0_fraction_kept`` for pi0 files).

    Returns:
        Means over the events: containment of the 6×6 LR window with the largest sum (relative
        to the 24×24 image), fractions in the 1×1/3×3/5×5 crystals around the hottest crystal,
        image energy / incident energy, opening angle, and the truth quantities if present.
    """
    lr, energy = arrays["lr"], np.asarray(arrays["energy"], np.float64)
    image_sum = np.asarray(arrays["hr"]).sum(axis=(1, 2), dtype=np.float64)
    metrics: dict[str, Any] = {
        "num_showers": int(len(lr)),
        "mean_energy_gev": _mean(energy),
        "window_6x6_fraction": _mean(window_fraction(lr)),
    }
    for k, fraction in core_fractions(lr).items():
        metrics[f"core_{k}x{k}_fraction"] = _mean(fraction)
    metrics["image_energy_fraction"] = _mean(_ratio(image_sum, energy))
    opening = np.asarray(arrays["opening_angle_rad"], np.float64)
    metrics["mean_opening_angle_rad"] = _mean(opening)
    metrics["mean_opening_angle_deg"] = math.degrees(metrics["mean_opening_angle_rad"])
    if "pi0_fraction_kept" in attrs:
        metrics["pi0_fraction_kept"] = float(attrs["pi0_fraction_kept"])
    for key, name in (("shower_max_x0", "mean_shower_max_x0"),
                      ("leakage_gev", "mean_leakage_gev"),
                      ("out_of_window_gev", "mean_out_of_window_gev")):
        if key in arrays:
            metrics[name] = _mean(arrays[key])
    if "leakage_gev" in arrays:
        metrics["leakage_fraction"] = _mean(_ratio(np.asarray(arrays["leakage_gev"]), energy))
    return metrics


def _seeds(config: SRGammaShowersConfig) -> dict[str, int]:
    # Different seeds give the photon and pi0 files independent gun positions.
    return {particle: config.seed + i for i, particle in enumerate(PARTICLES)}


def _simulate_missing(config: SRGammaShowersConfig, paths: dict[str, str]) -> None:
    """Simulates the files of ``paths`` unless valid copies exist (with truth arrays)."""
    for particle, path in paths.items():
        cache.cached_simulation(
            path, "srgamma", particle, config.num_showers, config.energy_gev,
            seed=_seeds(config)[particle], workers=config.workers, truth=True,
            progress=config.progress,
        )


def _given_files(config: SRGammaShowersConfig) -> dict[str, str]:
    if not os.path.isdir(config.data):
        raise FileNotFoundError(f"data directory {config.data!r} does not exist")
    paths = {p: os.path.join(config.data, f"{p}.h5") for p in PARTICLES}
    for path in paths.values():
        hdf5.validate_file(path, schema.SRGAMMA, check_values=False)
    return paths


def _read(
    path: str, num_showers: int, validate: bool
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    with h5py.File(path, "r") as h5:
        present = [k for k in schema.SRGAMMA.keys() if k in h5]
    arrays = hdf5.read_arrays(path, schema.SRGAMMA, keys=present, stop=num_showers,
                              validate=validate)
    return arrays, hdf5.read_attrs(path)


def run_srgamma_showers(config: SRGammaShowersConfig) -> dict[str, Any]:
    """Simulates SR-γ photons and pi0 and writes the shower report into ``config.workdir``.

    Writes ``config.json`` (the resolved settings), ``data/{photon,pi0}.h5`` (unless
    ``config.data`` is given; files with matching attributes are reused), ``metrics.json``
    (per particle: see :func:`shower_metrics`, plus the paper's reference values) and
    ``plots/examples.{png,pdf}`` and ``plots/averages.{png,pdf}``. Every file is written
    atomically. Holds both particles' images in memory (about 75 kB per event pair).

    Args:
        config: the settings.

    Returns:
        The metrics written to ``metrics.json``.

    Raises:
        ValueError: for impossible settings (e.g. pi0 below the opening-angle threshold).
        FileNotFoundError, caloml.data.DataError: for missing or malformed ``config.data``.
    """
    start = time.perf_counter()
    if not config.data:
        # Fail on impossible requests (pi0 below threshold, ...) before writing anything.
        for particle in PARTICLES:
            sim.simulate("srgamma", particle, 1, config.energy_gev, seed=config.seed)
    workdir = os.path.abspath(config.workdir)
    config = dataclasses.replace(
        config, workdir=workdir, data=None if config.data is None else os.path.abspath(config.data)
    )
    if config.data:
        paths = _given_files(config)
    else:
        paths = {p: os.path.join(workdir, "data", f"{p}.h5") for p in PARTICLES}
        os.makedirs(os.path.join(workdir, "data"), exist_ok=True)
    plots = os.path.join(workdir, "plots")
    os.makedirs(plots, exist_ok=True)
    outputs.write_json(os.path.join(workdir, "config.json"), {
        **dataclasses.asdict(config), "geometry": "srgamma", "particles": list(PARTICLES),
        "seeds": None if config.data else _seeds(config), "data_files": paths,
        "caloml_version": caloml.__version__,
    })
    if not config.data:
        _simulate_missing(config, paths)
    simulated = time.perf_counter()

    data_by_particle, windows, metrics = {}, {}, {}
    for particle, path in paths.items():
        # Files from the simulator were checked on reuse; only given files are validated.
        arrays, attrs = _read(path, config.num_showers, validate=bool(config.data))
        if config.data and "energy_gev" in attrs and not np.allclose(
            attrs["energy_gev"], config.energy_gev
        ):
            logging.warning("%s holds %s GeV showers, not %g GeV", path, attrs["energy_gev"],
                            config.energy_gev)
        metrics[particle] = shower_metrics(arrays, attrs)
        data_by_particle[particle] = {k: arrays[k] for k in ("hr", "lr", "energy")}
        windows[particle] = preprocessing.select_window(arrays["lr"][: config.num_examples],
                                                        None)[2]

    plotting.plot_srgamma_examples(data_by_particle, os.path.join(plots, "examples"),
                                   num_examples=config.num_examples, windows=windows)
    plotting.plot_srgamma_averages(data_by_particle, os.path.join(plots, "averages"))

    result = {
        "energy_gev": None if config.data else config.energy_gev,
        "particles": metrics,
        "paper_reference": PAPER_REFERENCE,
        "seconds": {"data": simulated - start, "total": time.perf_counter() - start},
    }
    outputs.write_json(os.path.join(workdir, "metrics.json"), result)
    for particle, m in metrics.items():
        logging.info("%s: %s", particle, ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in m.items()))
    logging.info("wrote %s in %.1f s", workdir, result["seconds"]["total"])
    return result


def fit_resolution(energy_gev: np.ndarray, relative_sigma: np.ndarray) -> tuple[float, float]:
    """Fits σ/E = a/√E ⊕ b (quadrature) and returns (a, b), both ≥ 0."""
    from scipy import optimize

    (a, b), _ = optimize.curve_fit(lambda e, a, b: np.sqrt(a**2 / e + b**2),
                                   np.asarray(energy_gev, np.float64),
                                   np.asarray(relative_sigma, np.float64), p0=(0.15, 0.01))
    return abs(float(a)), abs(float(b))


def clic_validation(
    num_showers: int = 512, seed: int = 1, workers: int = 2,
    energies_gev: Sequence[float] = (5.0, 10.0, 25.0, 50.0, 100.0, 200.0, 400.0),
) -> dict[str, Any]:
    """Physics figures of the ``clic`` geometry (README table; issue 4's checks).

    Electron calibration and resolution per energy with the a/√E ⊕ b fit, HCAL/ECAL of
    electrons and charged pions (the π± selection's efficiency per energy range), the π⁰
    opening-angle selection, reco-angle residuals of photons, and per-event slopes of the layer
    barycentres against cot θ.
    """
    from caloml.sim import clic

    def window_sums(data):
        return (data["ECAL"].sum(axis=(1, 2, 3), dtype=np.float64),
                data["HCAL"].sum(axis=(1, 2, 3), dtype=np.float64))

    common = dict(seed=seed, workers=workers)
    result: dict[str, Any] = {"num_showers": num_showers, "seed": seed, "electron": {}}
    sigma = []
    for energy in energies_gev:
        ecal, hcal = window_sums(sim.simulate("clic", "electron", num_showers,
                                              energy_gev=energy, **common))
        ratio = (ecal + hcal) / energy
        sigma.append(float(ratio.std()))
        result["electron"][f"{energy:g}"] = {"mean_sum_over_e": float(ratio.mean()),
                                             "sigma_over_e": sigma[-1],
                                             "hcal_over_e": float(np.mean(hcal) / energy)}
    a, b = fit_resolution(np.asarray(energies_gev), np.asarray(sigma))
    result["electron_resolution"] = {"stochastic": a, "constant": b}

    ratios = {}
    for particle in ("electron", "piplus"):
        data = sim.simulate("clic", particle, 4 * num_showers, **common)
        ecal, hcal = window_sums(data)
        ratios[particle] = (data["energy"], hcal / np.maximum(ecal, 1e-12))
    e_energy, e_ratio = ratios["electron"]
    result["hcal_ecal"] = {"electron_median": float(np.median(e_ratio)),
                           "electron_below_0.1": float(np.mean(e_ratio < 0.1))}
    p_energy, p_ratio = ratios["piplus"]
    for low, high in ((2, 20), (20, 100), (100, 500)):
        band = (p_energy >= low) & (p_energy < high)
        result["hcal_ecal"][f"piplus_below_0.1_{low}-{high}GeV"] = float(
            np.mean(p_ratio[band] < 0.1))
    result["hcal_ecal"]["piplus_median"] = float(np.median(p_ratio))

    pi0 = sim.simulate("clic", "pi0", 4 * num_showers, **common)
    passed = pi0["openingAngle"] < 0.01
    result["pi0_opening_below_0.01"] = {"fraction": float(passed.mean()),
                                        "lowest_energy_passing": float(pi0["energy"][passed].min())}

    photons = sim.simulate("clic", "photon", num_showers, energy_gev=(10.0, 500.0), **common)
    result["photon_reco_residuals"] = {
        "eta_std": float(np.std(photons["recoEta"] - photons["eta"])),
        "phi_std": float(np.std(np.angle(np.exp(1j * (photons["recoPhi"] - photons["phi"]))))),
    }
    geometry = clic.ClicGeometry()
    depth = geometry.layers["depth_mm"][: geometry.num_ecal_layers]
    result["incidence_slope"] = {}
    for theta in (1.047, math.pi / 2, 2.094):
        data = sim.simulate("clic", "photon", min(num_showers, 128), energy_gev=100.0,
                            theta_rad=theta, **common)
        slopes = showers.layer_barycentre_slopes(data["ECAL"], depth, geometry.ecal_cell_mm)
        result["incidence_slope"][f"{theta:.4f}"] = {"median_dy_dz": float(np.nanmedian(slopes)),
                                                     "cot_theta": 1.0 / math.tan(theta)}
    return result
