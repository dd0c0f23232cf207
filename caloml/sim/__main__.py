"""Writes a simulated dataset: ``python -m caloml.sim --geometry=srgamma --particle=pi0 ...``.

For example, the public CaloGAN positron file's equivalent::

    python -m caloml.sim --geometry=calogan --particle=positron --energy=1,100 \
        --num_showers=100000 --output=eplus.hdf5

or the charged pions of the CLIC reconstruction study (paper 003), with its selection::

    python -m caloml.sim --geometry=clic --particle=piplus --select_hcal_ecal_ratio=0.1 \
        --num_showers=10000 --output=ChPi.h5

The one entry script inside the package (so the simulator is usable from an installed wheel).
"""

from __future__ import annotations

import os

from absl import flags, logging

from caloml import cli
from caloml.errors import UsageError
from caloml.sim import core

FLAGS = flags.FLAGS
flags.DEFINE_enum("geometry", "srgamma", sorted(core.GEOMETRIES), "Calorimeter geometry.")
flags.DEFINE_string("particle", "photon", "Particle; per geometry: " + "; ".join(
    f"{name}: {', '.join(spec.particles)}" for name, spec in core.GEOMETRIES.items()) + ".")
flags.DEFINE_list("energy", None, "Energy in GeV: one value, or 'low,high' for a uniform range "
                  "(default: the geometry's: 50 for srgamma, 1,100 for calogan, 2,500 for clic).")
flags.DEFINE_integer("num_showers", 10000, "Number of showers.", lower_bound=1)
flags.DEFINE_integer("seed", 1, "Seed; the same seed gives the same file.", lower_bound=0)
flags.DEFINE_string("output", None, "Output HDF5 file.", required=True)
flags.DEFINE_integer("workers", min(os.cpu_count() or 1, 8), "Worker processes.", lower_bound=1)
flags.DEFINE_bool("truth", False, "Also write simulator truth (leakage; srgamma and clic also "
                  "out-of-window energy, srgamma the depth of shower maximum).")
flags.DEFINE_enum("compression", "gzip", ["gzip", "lzf", "none"], "HDF5 compression.")
# Geometry options: only given ones are passed on (and recorded in the file), so that files made
# with the defaults are recognised as such (caloml.data.cache).
flags.DEFINE_float("gun_sigma_mm", None, "srgamma: Gaussian smearing of the gun (default 44).",
                   lower_bound=0.0)
flags.DEFINE_list("gun_center_mm", None, "srgamma: mean gun position 'x,y' (default 0,0).")
flags.DEFINE_float("max_opening_angle_deg", None, "srgamma: redraw pi0 decays with a wider "
                   "opening angle (default 2); 0 disables the cut.", lower_bound=0.0)
flags.DEFINE_list("theta_rad", None, "clic: polar angle in rad, one value or 'low,high' "
                  "(default 1.047,2.094).")
flags.DEFINE_bool("fixed_angle", None, "clic: shoot at theta = 90 degrees (normal incidence).")
flags.DEFINE_float("magnetic_field_t", None, "clic: solenoid field in T (default 4).",
                   lower_bound=0.0)
flags.DEFINE_float("select_hcal_ecal_ratio", None, "clic: keep only events with HCAL/ECAL "
                   "below this (the paper's charged-pion selection: 0.1).", lower_bound=0.0)
flags.DEFINE_float("select_opening_angle_rad", None, "clic: keep only pi0 with a gamma-gamma "
                   "opening angle below this (the paper's selection: 0.01).", lower_bound=0.0)
flags.DEFINE_enum("readout", None, ["files", "em_scale"], "clic: 'files' (default): raw Si and "
                  "scintillator energy x 50 in every layer, as the Triforce files; 'em_scale': "
                  "every layer calibrated to the electromagnetic scale.")
flags.DEFINE_float("tracker_x0", None, "clic: tracker material in front of the ECAL at "
                   "theta = 90 degrees, in X0, where photons convert (default 0.12; 0: none).",
                   lower_bound=0.0)


def _energy(spec: core.GeometrySpec):
    if not FLAGS.energy:
        return None
    energy = cli.parse_numbers("energy", FLAGS.energy)
    low, high = spec.energy_range_gev
    if len(energy) > 2 or min(energy) < low or max(energy) > high or energy[0] > energy[-1]:
        raise UsageError(
            f"--energy={','.join(FLAGS.energy)} must be one value or 'low,high' within "
            f"[{low:g}, {high:g}] GeV for --geometry={FLAGS.geometry}"
        )
    return energy[0] if len(energy) == 1 else energy


def _gun_center() -> tuple[float, float]:
    center = cli.parse_numbers("gun_center_mm", FLAGS.gun_center_mm)
    if len(center) != 2:
        raise UsageError("--gun_center_mm expects two numbers 'x,y'")
    return center


def _theta() -> float | tuple[float, float]:
    theta = cli.parse_numbers("theta_rad", FLAGS.theta_rad)
    if len(theta) not in (1, 2):
        raise UsageError("--theta_rad expects one angle or 'low,high' in rad")
    return theta[0] if len(theta) == 1 else theta


# Flags that are geometry options (GeometrySpec.option_keys), with the value each passes on.
_OPTION_FLAGS = {
    "gun_sigma_mm": lambda: FLAGS.gun_sigma_mm,
    "gun_center_mm": _gun_center,
    "max_opening_angle_deg": lambda: FLAGS.max_opening_angle_deg or None,
    "theta_rad": _theta,
    "fixed_angle": lambda: FLAGS.fixed_angle,
    "magnetic_field_t": lambda: FLAGS.magnetic_field_t,
    "select_hcal_ecal_ratio": lambda: FLAGS.select_hcal_ecal_ratio,
    "select_opening_angle_rad": lambda: FLAGS.select_opening_angle_rad,
    "readout": lambda: FLAGS.readout,
    "tracker_x0": lambda: FLAGS.tracker_x0,
}


def _options(spec: core.GeometrySpec) -> dict:
    """The geometry options given on the command line; others of the geometry keep defaults."""
    options = {}
    for name, value in _OPTION_FLAGS.items():
        if not FLAGS[name].present:
            continue
        if name not in spec.option_keys:
            raise UsageError(
                f"--{name} is not an option of --geometry={FLAGS.geometry}"
                + (f"; its options: --{', --'.join(spec.option_keys)}" if spec.option_keys
                   else " (it has none)")
            )
        options[name] = value()
    return options


def main(argv):
    del argv
    spec = core.GEOMETRIES[FLAGS.geometry]
    if FLAGS.particle not in spec.particles:
        raise UsageError(
            f"--particle={FLAGS.particle} is not simulated for --geometry={FLAGS.geometry}; "
            f"expected one of {', '.join(spec.particles)}"
        )
    energy = _energy(spec)
    options = _options(spec)
    cli.check_output_flag("output", FLAGS.output)
    attrs = core.simulate_to_file(
        FLAGS.output, FLAGS.geometry, FLAGS.particle, FLAGS.num_showers, energy,
        seed=FLAGS.seed, workers=FLAGS.workers, truth=FLAGS.truth, progress=True,
        compression=None if FLAGS.compression == "none" else FLAGS.compression, **options,
    )
    logging.info("wrote %s: %s", FLAGS.output, attrs)


if __name__ == "__main__":
    cli.run(main)
