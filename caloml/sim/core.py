"""Geometry registry, seeding, sharding over worker processes and atomic file output."""

from __future__ import annotations

import collections
import concurrent.futures
import ctypes
import dataclasses
import math
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import threadpoolctl

import caloml
from caloml.errors import InputError
from caloml.io import hdf5, schema
from caloml.sim import calogan, clic, srgamma

# Events per chunk. Chunk i is always simulated with the i-th child of SeedSequence(seed), so
# the output does not depend on the number of workers. Changing it changes the random streams.
CHUNK_SIZE = 256
# Keys a chunk returns that are bookkeeping, not data.
_COUNTERS = ("num_drawn",)


@dataclasses.dataclass(frozen=True)
class GeometrySpec:
    """What the simulator knows about one geometry.

    Attributes:
        layout: HDF5 layout of its files.
        particles: particle names it can shoot.
        energy_range_gev: allowed energies (inclusive).
        default_energy_gev: fixed energy or (low, high) range used when none is given.
        make_config: builds the geometry config from ``**options``.
        simulate_chunk: ``f(particle, energy[N], rng, config) -> dict of arrays``.
        truth_keys: optional layout keys holding simulator truth.
        option_keys: the ``**options`` names (recorded as file attributes when given).
        select: optional sample selection ``f(arrays, config) -> [N] bool or None``; events
            failing it are replaced by new ones (new energies too), so the selection shapes
            the energy spectrum as a cut on a uniform sample does.
        check_request: optional ``f(particle, energy_bounds, config)`` raising ValueError for
            requests that cannot be simulated (e.g. a selection nothing passes).
    """

    layout: schema.Layout
    particles: tuple[str, ...]
    energy_range_gev: tuple[float, float]
    default_energy_gev: float | tuple[float, float]
    make_config: Callable[..., Any]
    simulate_chunk: Callable[..., dict[str, np.ndarray]]
    truth_keys: tuple[str, ...] = ()
    option_keys: tuple[str, ...] = ()
    select: Callable[..., np.ndarray | None] | None = None
    check_request: Callable[..., None] | None = None


def _srgamma_config(
    gun_sigma_mm: float | None = None,
    gun_center_mm: Sequence[float] | None = None,
    max_opening_angle_deg: float | None = 2.0,
) -> srgamma.SRGammaGeometry:
    base = srgamma.SRGammaGeometry()
    return dataclasses.replace(
        base,
        gun_sigma_mm=base.gun_sigma_mm if gun_sigma_mm is None else float(gun_sigma_mm),
        gun_center_mm=base.gun_center_mm if gun_center_mm is None else tuple(gun_center_mm),
        max_opening_angle_rad=None if max_opening_angle_deg is None
        else math.radians(max_opening_angle_deg),
    )


GEOMETRIES: dict[str, GeometrySpec] = {
    "srgamma": GeometrySpec(
        layout=schema.SRGAMMA,
        particles=("photon", "pi0", "electron", "positron"),
        energy_range_gev=(1.0, 500.0),
        default_energy_gev=50.0,
        make_config=_srgamma_config,
        simulate_chunk=srgamma.simulate_chunk,
        truth_keys=("leakage_gev", "out_of_window_gev", "shower_max_x0"),
        option_keys=("gun_sigma_mm", "gun_center_mm", "max_opening_angle_deg"),
    ),
    "calogan": GeometrySpec(
        layout=schema.CALOGAN,
        particles=calogan.PARTICLES,
        energy_range_gev=(1.0, 500.0),
        # cfg/run2.mac of hep-lbdl/CaloGAN: uniform 1-100 GeV (PHYSICS.md §5).
        default_energy_gev=(1.0, 100.0),
        make_config=calogan.CaloGANGeometry,
        simulate_chunk=calogan.simulate_chunk,
        truth_keys=("leakage_gev",),
    ),
    "clic": GeometrySpec(
        layout=schema.CLIC,
        particles=clic.PARTICLES,
        energy_range_gev=(2.0, 500.0),
        # Paper 003 §2: uniform 2-500 GeV.
        default_energy_gev=(2.0, 500.0),
        make_config=clic.make_geometry,
        simulate_chunk=clic.simulate_chunk,
        truth_keys=("leakage_gev", "out_of_window_gev"),
        option_keys=("theta_rad", "fixed_angle", "magnetic_field_t", "select_hcal_ecal_ratio",
                     "select_opening_angle_rad", "readout", "tracker_x0"),
        select=clic.select,
        check_request=clic.check_request,
    ),
}
# A selection keeping fewer events than this is an error rather than an endless loop.
MIN_SELECTED_FRACTION = 1e-3


class SimulatedData(dict):
    """Arrays of a simulated dataset (as in its HDF5 file) with the file attributes in ``attrs``."""

    def __init__(self, arrays: dict[str, np.ndarray], attrs: dict[str, Any]):
        super().__init__(arrays)
        self.attrs = attrs


def _check_request(
    geometry: str, particle: str, num_showers: int, energy_gev, seed: int, options: dict
):
    """Validates a request and returns (spec, energy bounds); fails before any work starts."""
    if geometry not in GEOMETRIES:
        raise InputError(f"unknown geometry {geometry!r}; expected one of {sorted(GEOMETRIES)}")
    spec = GEOMETRIES[geometry]
    if particle not in spec.particles:
        raise InputError(
            f"unknown particle {particle!r} for geometry {geometry!r}; "
            f"expected one of {list(spec.particles)}"
        )
    if num_showers < 1:
        raise InputError(f"num_showers must be at least 1, got {num_showers}")
    if seed < 0:
        raise InputError(f"seed must be non-negative, got {seed}")
    energy = spec.default_energy_gev if energy_gev is None else energy_gev
    bounds = np.atleast_1d(np.asarray(energy, np.float64))
    low, high = spec.energy_range_gev
    if bounds.size not in (1, 2) or not np.all(np.isfinite(bounds)):
        raise InputError(f"energy must be one value or a (low, high) range, got {energy!r}")
    if np.any(bounds < low) or np.any(bounds > high) or bounds[0] > bounds[-1]:
        raise InputError(
            f"energy {energy!r} GeV is outside the {geometry!r} range [{low:g}, {high:g}] GeV"
        )
    _check_finite(options)
    # One event at each end of the energy range exercises every check of the options.
    config = spec.make_config(**options)
    if spec.check_request is not None:
        spec.check_request(particle, bounds, config)
    spec.simulate_chunk(particle, bounds, np.random.default_rng(0), config)
    return spec, tuple(float(b) for b in bounds)


def _check_finite(options: dict) -> None:
    """Refuses NaN and infinite option values, which the geometries would not all catch.

    A NaN passes every ``x < bound`` test and then turns into a garbage index or silently
    disables a cut (``angle > nan`` is False), a field (``nan > 0`` is False), etc.
    """
    for name, value in options.items():
        # Bools are flags, and strings would parse as numbers ("nan"): neither is checked here.
        if value is None or isinstance(value, (bool, np.bool_, str)):
            continue
        try:
            numbers = np.asarray(value, np.float64)
        except (TypeError, ValueError):
            continue  # not numeric: left to the geometry's config
        if not np.all(np.isfinite(numbers)):
            raise InputError(f"option {name} must be finite, got {numbers.tolist()}")


def _draw_energies(energy: tuple[float, ...], size: int, rng: np.random.Generator):
    if len(energy) == 1:
        return np.full(size, energy[0])
    return rng.uniform(energy[0], energy[1], size)


def _selected(spec: GeometrySpec, particle, energy, size, rng, config, keep) -> dict:
    """Simulates batches until ``size`` events pass ``spec.select``.

    ``num_drawn`` counts the events simulated up to the last one kept, so that
    ``size / num_drawn`` estimates the selection's efficiency.
    """
    parts, kept, drawn, batch = [], 0, 0, size
    while kept < size:
        out = spec.simulate_chunk(particle, _draw_energies(energy, batch, rng), rng, config)
        mask = spec.select(out, config)
        passed = np.flatnonzero(np.ones(batch, bool) if mask is None else mask)
        passed = passed[: size - kept]
        drawn += int(passed[-1]) + 1 if kept + len(passed) == size else batch
        kept += len(passed)
        if kept:
            parts.append({k: v[passed] for k, v in out.items() if k in keep})
        if drawn >= size / MIN_SELECTED_FRACTION and kept < size:
            raise InputError(
                f"the selection of {spec.layout.name!r} kept {kept} of {drawn} {particle} "
                f"events (below {MIN_SELECTED_FRACTION:.1%}); loosen it or change the energy"
            )
        # Next batch: enough for the missing events at the efficiency seen so far.
        efficiency = max(kept / drawn, MIN_SELECTED_FRACTION)
        batch = int(min(max(math.ceil(1.2 * (size - kept) / efficiency), 16), 4 * CHUNK_SIZE))
    arrays = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    arrays["num_drawn"] = np.int64(drawn)
    return arrays


def _run_chunk(task) -> dict[str, np.ndarray]:
    geometry, particle, energy, seed_seq, size, options, truth = task
    spec = GEOMETRIES[geometry]
    rng = np.random.default_rng(seed_seq)
    config = spec.make_config(**options)
    keep = set(spec.layout.keys(include_optional=False)) | set(_COUNTERS)
    if truth:
        keep |= set(spec.truth_keys)
    if spec.select is not None:
        return _selected(spec, particle, energy, size, rng, config, keep - set(_COUNTERS))
    out = spec.simulate_chunk(particle, _draw_energies(energy, size, rng), rng, config)
    return {k: v for k, v in out.items() if k in keep}


def _chunks(geometry, particle, num_showers, energy, seed, options, truth):
    num_chunks = math.ceil(num_showers / CHUNK_SIZE)
    children = np.random.SeedSequence(seed).spawn(num_chunks)
    for i, child in enumerate(children):
        size = min(CHUNK_SIZE, num_showers - i * CHUNK_SIZE)
        yield (geometry, particle, energy, child, size, options, truth)


def _init_worker(parent_pid: int) -> None:
    """Worker initializer: exit with the parent, and one BLAS thread per process.

    With OpenBLAS's default of one thread per core, N workers run N² threads on N cores and
    the small per-event matrix products slow down up to 6x.

    Args:
        parent_pid: pid of the process that owns the pool, read before the fork.
    """
    _exit_with_parent(parent_pid)
    global _BLAS_LIMIT
    _BLAS_LIMIT = threadpoolctl.threadpool_limits(1, user_api="blas")


_BLAS_LIMIT = None
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _exit_with_parent(parent_pid: int) -> None:
    """Ends this process when ``parent_pid`` dies, so that a killed run leaves no workers.

    A worker blocked on the pool's call queue would otherwise wait forever (``kill -9`` of the
    parent runs none of its clean-up). Linux kills the worker when the thread that forked it
    ends; that thread runs the pool's ``with`` block, so not before the pool is shut down.
    Elsewhere a daemon thread polls the parent pid.
    """
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGKILL)) == 0:
            # A parent that died between the fork and prctl sent no signal: we were reparented.
            if os.getppid() != parent_pid:
                os._exit(1)
            return

    def watch_parent():
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch_parent, name="watch_parent", daemon=True).start()


def _results(tasks, workers: int, run_chunk: Callable[[Any], Any] | None = None):
    """Yields chunk results in order, with at most 2 × workers chunks in flight.

    Args:
        tasks: an iterable of picklable chunk descriptions.
        workers: processes (1: run in this process).
        run_chunk: a module-level function (picklable) that runs one task; default
            :func:`_run_chunk`, the simulator's. Other generators (``caloml.jets``) pass theirs.
    """
    run_chunk = _run_chunk if run_chunk is None else run_chunk
    if workers <= 1:
        # In-process too, the small per-chunk products gain nothing from BLAS threads and lose
        # up to 3x (calogan) when the other cores are busy; the limit ends with the generator.
        with threadpoolctl.threadpool_limits(1, user_api="blas"):
            yield from map(run_chunk, tasks)
        return
    # Workers run numpy/scipy only, so "fork" is safe and, unlike "spawn", works from scripts
    # without a ``__main__`` guard. Elsewhere (macOS, Windows) the platform default is used.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    with concurrent.futures.ProcessPoolExecutor(
        workers, mp_context=context, initializer=_init_worker, initargs=(os.getpid(),)
    ) as pool:
        pending = collections.deque()
        for task in tasks:
            pending.append(pool.submit(run_chunk, task))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _attrs(geometry, particle, energy, seed, num_showers, options, num_drawn) -> dict[str, Any]:
    attrs = {
        "geometry": geometry,
        "particle": particle,
        "seed": seed,
        "num_showers": num_showers,
        "energy_gev": energy[0] if len(energy) == 1 else np.asarray(energy),
        "caloml_version": caloml.__version__,
        "simulator": "caloml.sim (GFlash parameterisation, Gaussian-mixture lateral profile)",
        "chunk_size": CHUNK_SIZE,
    }
    for key, value in options.items():
        if value is not None:
            attrs[key] = value
    if GEOMETRIES[geometry].select is not None:
        attrs["fraction_selected"] = num_showers / num_drawn
    elif particle == "pi0":
        attrs["pi0_fraction_kept"] = num_showers / num_drawn
    return attrs


def simulate(
    geometry: str,
    particle: str,
    num_showers: int,
    energy_gev: float | tuple[float, float] | None = None,
    seed: int = 0,
    workers: int = 1,
    truth: bool = False,
    progress: bool = False,
    **options: Any,
) -> SimulatedData:
    """Simulates ``num_showers`` showers and returns them laid out as in the geometry's file.

    Args:
        geometry: a key of :data:`GEOMETRIES` (``"srgamma"``, ``"calogan"``).
        particle: one of the geometry's particles (``photon``, ``pi0``, ``positron``, ...).
        num_showers: number of events.
        energy_gev: fixed energy, or a ``(low, high)`` range drawn uniformly; default per
            geometry.
        seed: seed of ``numpy.random.SeedSequence``; the same seed gives bit-identical arrays
            whatever ``workers`` is.
        workers: processes to shard the chunks over.
        truth: also return the simulator-truth arrays (the geometry's ``truth_keys``:
            leakage, out-of-window energy, shower max).
        progress: show a progress bar.
        **options: geometry options, the spec's ``option_keys`` (srgamma: ``gun_sigma_mm``,
            ``gun_center_mm``, ``max_opening_angle_deg``, None disabling the pi0
            opening-angle cut; calogan: none; clic: ``theta_rad`` (angle or range),
            ``fixed_angle`` (θ = 90°), ``magnetic_field_t``, ``readout`` (``"files"``: raw
            active energy × 50 as the Triforce files, ``"em_scale"``), ``tracker_x0``
            (material in front of the ECAL, 0 for none), and the selections
            ``select_hcal_ecal_ratio``, ``select_opening_angle_rad``).

    Returns:
        A dict of arrays ``[num_showers, ...]`` with the file attributes in ``.attrs``.
    """
    spec, energy = _check_request(geometry, particle, num_showers, energy_gev, seed, options)
    tasks = _chunks(geometry, particle, num_showers, energy, seed, options, truth)
    parts = collections.defaultdict(list)
    num_drawn = 0
    for out in _progress(_results(tasks, workers), num_showers, progress):
        num_drawn += int(out.pop("num_drawn"))
        for key, value in out.items():
            parts[key].append(value)
    arrays = {key: np.concatenate(values) for key, values in parts.items()}
    return SimulatedData(
        arrays, _attrs(geometry, particle, energy, seed, num_showers, options, num_drawn)
    )


def simulate_to_file(
    path: str | os.PathLike,
    geometry: str,
    particle: str,
    num_showers: int,
    energy_gev: float | tuple[float, float] | None = None,
    seed: int = 0,
    workers: int = 1,
    truth: bool = False,
    progress: bool = False,
    compression: str | None = "gzip",
    **options: Any,
) -> dict[str, Any]:
    """Like :func:`simulate` but streams the chunks into an HDF5 file, written atomically.

    Memory use is bounded by a few chunks whatever ``num_showers`` is. Returns the file
    attributes.
    """
    spec, energy = _check_request(geometry, particle, num_showers, energy_gev, seed, options)
    # Entering the writer checks that ``path`` can be written, before any chunk is simulated.
    tasks = _chunks(geometry, particle, num_showers, energy, seed, options, truth)
    extra = spec.truth_keys if truth else ()
    num_drawn = 0
    with hdf5.H5Writer(path, spec.layout, num_showers, extra_keys=extra,
                       compression=compression) as writer:
        start = 0
        for out in _progress(_results(tasks, workers), num_showers, progress):
            num_drawn += int(out.pop("num_drawn"))
            writer.write(start, out)
            start += len(out["energy"])
        attrs = _attrs(geometry, particle, energy, seed, num_showers, options, num_drawn)
        writer.set_attrs(**attrs)
    return attrs


def _progress(results, total: int, enabled: bool, unit: str = "shower", key: str = "energy"):
    """Passes ``results`` on, with a progress bar of ``len(out[key])`` ``unit``s per result."""
    if not enabled:
        yield from results
        return
    from tqdm import tqdm  # only needed for interactive runs

    with tqdm(total=total, unit=unit, smoothing=0.1) as bar:
        for out in results:
            bar.update(len(out[key]))
            yield out
