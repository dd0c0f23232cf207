"""Writes a simulated dataset: ``python -m caloml.sim --geometry=srgamma --particle=pi0 ...``.

The one entry script inside the package (so the simulator is usable from an installed wheel).
"""

from __future__ import annotations

import os

from absl import flags, logging

from caloml import cli
from caloml.data import hdf5
from caloml.sim import core

FLAGS = flags.FLAGS
flags.DEFINE_enum("geometry", "srgamma", sorted(core.GEOMETRIES), "Calorimeter geometry.")
flags.DEFINE_string("particle", "photon", "Particle: photon, pi0, electron, positron.")
flags.DEFINE_list("energy", None, "Energy in GeV: one value, or 'low,high' for a uniform range "
                  "(default: the geometry's, 50 GeV for srgamma).")
flags.DEFINE_integer("num_showers", 10000, "Number of showers.", lower_bound=1)
flags.DEFINE_integer("seed", 1, "Seed; the same seed gives the same file.", lower_bound=0)
flags.DEFINE_string("output", None, "Output HDF5 file.", required=True)
flags.DEFINE_integer("workers", min(os.cpu_count() or 1, 8), "Worker processes.", lower_bound=1)
flags.DEFINE_bool("truth", False, "Also write simulator truth (leakage, out-of-window energy, "
                  "depth of shower maximum).")
flags.DEFINE_enum("compression", "gzip", ["gzip", "lzf", "none"], "HDF5 compression.")
flags.DEFINE_float("gun_sigma_mm", None, "srgamma: Gaussian smearing of the gun (default 44).",
                   lower_bound=0.0)
flags.DEFINE_list("gun_center_mm", None, "srgamma: mean gun position 'x,y' (default 0,0).")
flags.DEFINE_float("max_opening_angle_deg", 2.0, "srgamma: redraw pi0 decays with a wider "
                   "opening angle; 0 disables the cut.", lower_bound=0.0)


def _floats(values: list[str], name: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in values)
    except ValueError:
        raise cli.UsageError(f"--{name} expects numbers, got {','.join(values)}") from None


def _energy(spec: core.GeometrySpec):
    if not FLAGS.energy:
        return None
    energy = _floats(FLAGS.energy, "energy")
    low, high = spec.energy_range_gev
    if len(energy) > 2 or min(energy) < low or max(energy) > high or energy[0] > energy[-1]:
        raise cli.UsageError(
            f"--energy={','.join(FLAGS.energy)} must be one value or 'low,high' within "
            f"[{low:g}, {high:g}] GeV for --geometry={FLAGS.geometry}"
        )
    return energy[0] if len(energy) == 1 else energy


def main(argv):
    del argv
    spec = core.GEOMETRIES[FLAGS.geometry]
    if FLAGS.particle not in spec.particles:
        raise cli.UsageError(
            f"--particle={FLAGS.particle} is not simulated for --geometry={FLAGS.geometry}; "
            f"expected one of {', '.join(spec.particles)}"
        )
    energy = _energy(spec)
    options = {}
    if FLAGS.geometry == "srgamma":
        center = _floats(FLAGS.gun_center_mm, "gun_center_mm") if FLAGS.gun_center_mm else None
        if center is not None and len(center) != 2:
            raise cli.UsageError("--gun_center_mm expects two numbers 'x,y'")
        options = {
            "gun_sigma_mm": FLAGS.gun_sigma_mm,
            "gun_center_mm": center,
            "max_opening_angle_deg": FLAGS.max_opening_angle_deg or None,
        }
    try:
        hdf5.check_writable(FLAGS.output)
    except OSError as e:
        raise cli.UsageError(f"--output: {e}") from None
    attrs = core.simulate_to_file(
        FLAGS.output, FLAGS.geometry, FLAGS.particle, FLAGS.num_showers, energy,
        seed=FLAGS.seed, workers=FLAGS.workers, truth=FLAGS.truth, progress=True,
        compression=None if FLAGS.compression == "none" else FLAGS.compression, **options,
    )
    logging.info("wrote %s: %s", FLAGS.output, attrs)


if __name__ == "__main__":
    cli.run(main)
