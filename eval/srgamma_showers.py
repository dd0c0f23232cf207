"""Simulates SR-γ photons and pi0 (paper 000, section 2) and reports on the showers.

    python eval/srgamma_showers.py --workdir=runs/srgamma_showers --energy=50

Writes ``config.json``, ``metrics.json`` (6×6-window containment, core fractions, opening
angle, shower depth, leakage), ``plots/examples`` and ``plots/averages`` (PNG + PDF) into
``--workdir``; simulated files are cached in ``<workdir>/data`` and reused on reruns.
"""

from __future__ import annotations

import os

from absl import flags

from caloml import cli, reports

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", "runs/srgamma_showers", "Directory for all outputs.")
flags.DEFINE_float("energy", 50.0, "Particle energy in GeV (pi0 needs at least ~7.8 GeV with "
                   "the 2 degree opening-angle cut).", lower_bound=1.0, upper_bound=500.0)
flags.DEFINE_integer("num_showers", 10000, "Showers per particle.", lower_bound=1)
flags.DEFINE_integer("seed", 1, "Simulator seed (pi0 use seed + 1).", lower_bound=0)
flags.DEFINE_integer("workers", 2, "Simulator worker processes.", lower_bound=1)
flags.DEFINE_string("data", None, "Directory with photon.h5 and pi0.h5 in the srgamma layout "
                    "to use instead of simulating.")


def main(argv):
    del argv
    if os.path.exists(FLAGS.workdir) and not os.path.isdir(FLAGS.workdir):
        raise cli.UsageError(f"--workdir={FLAGS.workdir} exists and is not a directory")
    config = reports.SRGammaShowersConfig(
        workdir=FLAGS.workdir,
        energy_gev=FLAGS.energy,
        num_showers=FLAGS.num_showers,
        seed=FLAGS.seed,
        workers=FLAGS.workers,
        data=FLAGS.data,
    )
    reports.run_srgamma_showers(config)


if __name__ == "__main__":
    cli.run(main)
