"""Reports on the embedded simulator's showers, one geometry at a time.

    python eval/sim_report.py --geometry=srgamma --workdir=runs/sim_srgamma --energy=50
    python eval/sim_report.py --geometry=clic --workdir=runs/sim_clic
    python eval/sim_report.py --geometry=calogan --workdir=runs/sim_calogan

Writes ``config.json``, ``metrics.json`` (caloml's numbers beside the papers' and references')
and ``plots/`` (PNG + PDF) into --workdir; srgamma caches its simulated files in
``<workdir>/data`` and reuses them, or reads --data instead.
"""

from __future__ import annotations

import os

from absl import flags

from caloml import cli
from caloml.errors import UsageError
from caloml.simreport import config

FLAGS = flags.FLAGS
flags.DEFINE_enum("geometry", "srgamma", list(config.GEOMETRIES), "Simulator geometry.")
flags.DEFINE_string("workdir", None, "Directory for all outputs (default: runs/sim_<geometry>).")
flags.DEFINE_float("energy", 50.0, "srgamma: particle energy in GeV (pi0 needs at least ~7.8 GeV "
                   "with the 2 degree opening-angle cut).", lower_bound=1.0, upper_bound=500.0)
flags.DEFINE_integer("num_showers", None, "Showers per particle (srgamma) or per energy point "
                     "(default: " + ", ".join(f"{g} {n}" for g, n in
                                              config.DEFAULT_NUM_SHOWERS.items()) + ").",
                     lower_bound=16)
flags.DEFINE_integer("seed", 1, "Simulator seed (srgamma pi0 use seed + 1).", lower_bound=0)
flags.DEFINE_integer("workers", 2, "Simulator worker processes.", lower_bound=1)
flags.DEFINE_string("data", None, "srgamma: directory with photon.h5 and pi0.h5 in the srgamma "
                    "layout to read instead of simulating.")

# Flags that only one geometry's report uses.
_SRGAMMA_ONLY = ("energy", "data")


def main(argv):
    del argv
    for name in _SRGAMMA_ONLY:
        if FLAGS[name].present and FLAGS.geometry != "srgamma":
            raise UsageError(f"--{name} is an option of --geometry=srgamma only")
    workdir = FLAGS.workdir or f"runs/sim_{FLAGS.geometry}"
    if os.path.exists(workdir) and not os.path.isdir(workdir):
        raise UsageError(f"--workdir={workdir} exists and is not a directory")
    report = config.ReportConfig(
        workdir=workdir, geometry=FLAGS.geometry, energy_gev=FLAGS.energy,
        num_showers=FLAGS.num_showers, seed=FLAGS.seed, workers=FLAGS.workers, data=FLAGS.data,
    )
    from caloml.simreport import experiment

    experiment.run(report)


if __name__ == "__main__":
    cli.run(main)
