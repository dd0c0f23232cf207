"""Runs a simulator report: simulate (or read), measure, draw, into one work directory.

:func:`run` is what ``eval/sim_report.py`` calls. Every report writes ``config.json`` (the
resolved settings), ``metrics.json`` (:mod:`caloml.simreport.evaluation`, with the reference
numbers beside caloml's) and ``plots/`` (PNG + PDF, :mod:`caloml.simreport.figures`), all
atomically. The srgamma report caches its simulated files in ``data/`` and reuses them.
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Any

import h5py
import numpy as np
from absl import logging

import caloml
from caloml import outputs, sim
from caloml.data import preprocessing, srgamma
from caloml.errors import InputError
from caloml.io import hdf5, schema
from caloml.simreport import config as config_lib
from caloml.simreport import evaluation, figures


def run(config: config_lib.ReportConfig) -> dict[str, Any]:
    """Runs the report of ``config.geometry`` and returns the metrics written.

    Raises:
        caloml.errors.InputError: for impossible settings (e.g. π⁰ below the opening-angle
            threshold), before anything is written.
        caloml.errors.MissingFileError, caloml.errors.DataError: for a missing or malformed
            ``config.data``.
    """
    start = time.perf_counter()
    if config.geometry == "srgamma" and not config.data:
        # Fail on impossible requests (π⁰ below threshold, ...) before writing anything.
        for particle in srgamma.PARTICLES:
            sim.simulate("srgamma", particle, 1, config.energy_gev, seed=config.seed)
    config = dataclasses.replace(
        config, workdir=os.path.abspath(config.workdir), num_showers=config.showers,
        data=None if config.data is None else os.path.abspath(config.data),
    )
    if config.data:
        srgamma.user_files(config.data)  # validated before anything is written
    if os.path.exists(config.workdir) and not os.path.isdir(config.workdir):
        raise InputError(f"--workdir={config.workdir} exists and is not a directory")
    plots = os.path.join(config.workdir, "plots")
    os.makedirs(plots, exist_ok=True)
    outputs.remove_stale_temporaries(config.workdir)
    outputs.write_json(os.path.join(config.workdir, "config.json"),
                       {**dataclasses.asdict(config), "caloml_version": caloml.__version__})
    report = {"srgamma": _srgamma, "clic": _clic, "calogan": _calogan}[config.geometry]
    metrics = report(config, plots)
    metrics["seconds"] = time.perf_counter() - start
    outputs.write_json(os.path.join(config.workdir, "metrics.json"), metrics)
    logging.info("wrote the %s report into %s in %.1f s", config.geometry, config.workdir,
                 metrics["seconds"])
    return metrics


# --- srgamma ----------------------------------------------------------------------------------


def _srgamma_files(config: config_lib.ReportConfig) -> dict[str, str]:
    """The photon and π⁰ files: given (validated on start) or simulated with truth."""
    if config.data:
        return {p: os.path.join(config.data, f"{p}.h5") for p in srgamma.PARTICLES}
    return srgamma.simulated_files(
        os.path.join(config.workdir, "data"), config.energy_gev,
        {p: config.num_showers for p in srgamma.PARTICLES}, config.seed,
        workers=config.workers, truth=True, progress=config.progress)


def _read(path: str, num_showers: int) -> tuple[dict, dict]:
    with h5py.File(path, "r") as h5:
        present = [k for k in schema.SRGAMMA.keys() if k in h5]
    arrays = hdf5.read_arrays(path, schema.SRGAMMA, keys=present, stop=num_showers,
                              validate=False)
    return arrays, hdf5.read_attrs(path)


def _srgamma(config: config_lib.ReportConfig, plots: str) -> dict[str, Any]:
    """Containment, cores, opening angle, depth; example and average images (paper 000 §2)."""
    paths = _srgamma_files(config)
    data_by_particle, windows, metrics = {}, {}, {}
    for particle, path in paths.items():
        # Files from the simulator were checked on reuse, given ones on start.
        arrays, attrs = _read(path, config.num_showers)
        if config.data and "energy_gev" in attrs and not np.allclose(
            attrs["energy_gev"], config.energy_gev
        ):
            logging.warning("%s holds %s GeV showers, not %g GeV", path, attrs["energy_gev"],
                            config.energy_gev)
        metrics[particle] = evaluation.srgamma_metrics(arrays, attrs)
        data_by_particle[particle] = {k: arrays[k] for k in ("hr", "lr", "energy")}
        windows[particle] = preprocessing.select_window(arrays["lr"][: config.num_examples],
                                                        None)[2]
    figures.plot_srgamma_examples(data_by_particle, os.path.join(plots, "examples"),
                                  num_examples=config.num_examples, windows=windows)
    figures.plot_srgamma_averages(data_by_particle, os.path.join(plots, "averages"))
    energy = None if config.data else config.energy_gev
    return {"energy_gev": energy, "data_files": paths, "particles": metrics,
            "paper_reference": evaluation.srgamma_reference(energy)}


# --- clic -------------------------------------------------------------------------------------


def _clic(config: config_lib.ReportConfig, plots: str) -> dict[str, Any]:
    """Calibration, resolution, selections, reco angles and incidence (paper 003 §2)."""
    metrics, arrays = evaluation.clic_metrics(config.num_showers, config.seed, config.workers)
    resolution = metrics["electron_resolution"]
    reference = config_lib.CALICE_SIW_RESOLUTION
    figures.plot_clic_response(arrays["response"],
                               (resolution["stochastic"], resolution["constant"]),
                               (reference["stochastic"], reference["constant"]),
                               os.path.join(plots, "electron_response"))
    figures.plot_hcal_ecal(arrays["hcal_ecal"], config_lib.CLIC_SELECTIONS["hcal_ecal_ratio"],
                           os.path.join(plots, "hcal_ecal"))
    figures.plot_incidence_slopes(arrays["slopes"], os.path.join(plots, "incidence_slopes"))
    return metrics


# --- calogan ----------------------------------------------------------------------------------


def _calogan(config: config_lib.ReportConfig, plots: str) -> dict[str, Any]:
    """Layer fractions and cell-level observables of the CaloGAN stack (paper 004)."""
    metrics, arrays = evaluation.calogan_metrics(config.num_showers, config.seed, config.workers)
    samples = arrays["samples"]
    figures.plot_calogan_averages(samples, os.path.join(plots, "layer_averages"))
    figures.plot_calogan_layer_fractions(samples, config_lib.CALOGAN_EXPECTED_FRACTIONS,
                                         os.path.join(plots, "layer_fractions"))
    figures.plot_calogan_cell_spectra(samples, os.path.join(plots, "cell_spectra"))
    powers = {name: {p: v["separation_power"] for p, v in entry.items()}
              for name, entry in metrics["geant4_comparison"].items()}
    for particle, sample in samples.items():
        figures.plot_calogan_geant4(sample["features"], arrays["reference"], particle, powers,
                                    os.path.join(plots, f"geant4_{particle}"))
    return metrics
