"""The resampling study of paper 003 §5.4: CLIC files resampled to ATLAS-like or CMS-like cells,
with their energy bookkeeping and the example figure (``eval/resample.py``).

The operator itself is core (:mod:`caloml.data.resample`); this module writes the work
directory: the resampled files, ``config.json``, ``metrics.json`` and ``plots/``.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import numpy as np

from caloml import outputs
from caloml.data import cache
from caloml.data.resample import (
    TargetGeometry,
    energy_metrics,
    get_target,
    read_ecal,
    resample_file,
    resampler,
    second_pass_change,
    throughput,
)
from caloml.errors import InputError, MissingFileError
from caloml.reco import figures


def resample_report(
    workdir: str | os.PathLike,
    target: str | TargetGeometry,
    *,
    data: str | os.PathLike | None = None,
    num_showers: int = 200,
    seed: int = 1,
    hcal: str = "drop",
    timing_showers: int = 2000,
    progress: bool = False,
) -> dict[str, Any]:
    """Resamples a CLIC file and reports on it (``eval/resample.py``).

    Writes into ``workdir``: ``<stem>_<target>.h5`` (:func:`resample_file` of the data file
    ``<stem>.h5``), ``config.json``, ``metrics.json`` (:func:`energy_metrics`, the second-pass
    change, the operator's idempotency defect and :func:`throughput`) and
    ``plots/resample_example.{png,pdf}`` (:func:`example_figure` of the event with the most
    ECAL energy).

    Args:
        workdir: output directory (created).
        target: a :data:`TARGETS` name or a :class:`TargetGeometry`.
        data: a CLIC-layout file; default: ``num_showers`` photons of 2-500 GeV simulated with
            ``seed`` into ``workdir/data/photon.h5`` (reused if already there).
        num_showers: showers to simulate when ``data`` is None.
        seed: simulator seed, and the seed of the timing windows.
        hcal: ``"drop"`` or ``"keep"`` (:func:`resample_file`).
        timing_showers: windows timed for ``showers_per_s``.
        progress: show progress bars.

    Returns:
        The metrics written to ``metrics.json``.
    """
    geometry = get_target(target)
    workdir = os.fspath(workdir)
    os.makedirs(os.path.join(workdir, "plots"), exist_ok=True)
    outputs.remove_stale_temporaries(workdir)
    simulated = data is None
    if simulated:
        os.makedirs(os.path.join(workdir, "data"), exist_ok=True)
        data = os.path.join(workdir, "data", "photon.h5")
        cache.cached_simulation(data, "clic", "photon", num_showers, (2.0, 500.0), seed,
                                progress=progress)
    data = os.path.abspath(os.fspath(data))
    stem = os.path.basename(data).partition(".")[0]
    output = os.path.join(workdir, f"{stem}_{geometry.name}.h5")
    outputs.write_json(os.path.join(workdir, "config.json"), {
        "data": data, "simulated": simulated,
        "num_showers": num_showers if simulated else None, "seed": seed, "hcal": hcal,
        "target": geometry.name, "target_geometry": dataclasses.asdict(geometry),
        "output": os.path.abspath(output), "timing_showers": timing_showers,
    })
    num_events = resample_file(data, output, geometry, hcal=hcal, progress=progress)
    metrics = _file_metrics(data, output, geometry, num_events, timing_showers, seed,
                            os.path.join(workdir, "plots", "resample_example"))
    outputs.write_json(os.path.join(workdir, "metrics.json"), metrics)
    return metrics


def _file_metrics(data: str, output: str, geometry: TargetGeometry, num_events: int,
                  timing_showers: int, seed: int, plot_stem: str) -> dict[str, Any]:
    """Metrics of one resampled file against its input, and the example figure."""
    # Both files streamed: each event's ECAL sum before and after, the second-pass change,
    # and the most energetic event for the figure.
    block = 500
    before, after, change = [], [], []
    for start in range(0, num_events, block):
        original = read_ecal(data, start, start + block)
        resampled = read_ecal(output, start, start + block)
        before.append(original.sum(axis=(1, 2, 3), dtype=np.float64))
        after.append(resampled.sum(axis=(1, 2, 3), dtype=np.float64))
        change.append(second_pass_change(resampled, geometry))
    before_gev = np.concatenate(before) if before else np.zeros(0)
    after_gev = np.concatenate(after) if after else np.zeros(0)
    change = np.concatenate(change) if change else np.zeros(0)
    metrics = {"target": geometry.name, **energy_metrics(before_gev, after_gev)}
    filled = np.isfinite(change)
    operator = resampler(geometry)
    metrics.update(
        second_pass_change_mean=float(change[filled].mean()) if filled.any() else None,
        second_pass_change_max=float(change[filled].max()) if filled.any() else None,
        idempotency_defect=operator.idempotency_defect(),
        target_grid=[list(shape) for shape in operator.target_shapes],
        cells_per_target_cell=[list(geometry.cells_per_target_cell(i))
                               for i in range(len(geometry.layers))],
        showers_per_s=throughput(geometry, timing_showers, seed),
    )
    if num_events and before_gev.max() > 0:
        event = int(np.argmax(before_gev))
        metrics["example_event"] = event
        figures.plot_resampling_example(read_ecal(data, event, event + 1)[0], geometry,
                                        plot_stem, event=event)
    else:
        metrics["example_event"] = None
    return metrics


def resample_directory(
    data: str | os.PathLike,
    workdir: str | os.PathLike,
    target: str | TargetGeometry,
    *,
    seed: int = 1,
    hcal: str = "drop",
    timing_showers: int = 2000,
    progress: bool = False,
) -> dict[str, Any]:
    """Resamples every CLIC file ``<name>.h5`` of a directory into ``workdir/<name>.h5``.

    The file names are kept, so ``workdir`` is a data directory the reconstruction networks
    and baselines read with ``--data`` (``electron.h5``, ``photon.h5``, ``pi0.h5``,
    ``piplus.h5``). Writes ``config.json``, ``metrics.json`` (per file, as
    :func:`resample_report`) and ``plots/resample_example_<name>.{png,pdf}``.

    Raises:
        MissingFileError: ``data`` holds no ``.h5`` file.
    """
    geometry = get_target(target)
    data, workdir = os.path.abspath(os.fspath(data)), os.fspath(workdir)
    names = sorted(n for n in os.listdir(data)
                   if n.endswith(".h5") and outputs.TMP_MARKER not in n)
    if not names:
        raise MissingFileError(f"--data={data}: no .h5 file to resample")
    if os.path.abspath(workdir) == data:
        raise InputError(f"--workdir={workdir} is the --data directory: the resampled files "
                         "would replace the originals")
    os.makedirs(os.path.join(workdir, "plots"), exist_ok=True)
    outputs.remove_stale_temporaries(workdir)
    outputs.write_json(os.path.join(workdir, "config.json"), {
        "data": data, "files": names, "seed": seed, "hcal": hcal, "target": geometry.name,
        "target_geometry": dataclasses.asdict(geometry), "timing_showers": timing_showers,
    })
    metrics = {}
    for name in names:
        output = os.path.join(workdir, name)
        num_events = resample_file(os.path.join(data, name), output, geometry, hcal=hcal,
                                   progress=progress)
        stem = name[: -len(".h5")]
        metrics[name] = _file_metrics(
            os.path.join(data, name), output, geometry, num_events, timing_showers, seed,
            os.path.join(workdir, "plots", f"resample_example_{stem}"))
    outputs.write_json(os.path.join(workdir, "metrics.json"), metrics)
    return metrics
