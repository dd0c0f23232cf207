"""Writes paired jet images: ``python -m caloml.jets --process=top --num_jets=1000 ...``.

For example, the top-quark jets of the jet super-resolution study (paper §2: 550-650 GeV,
|eta| < 2)::

    python -m caloml.jets --process=top --num_jets=100000 --seed=0 --workers=8 \\
        --output=top.h5

The file has the layout ``"jets"`` (:mod:`caloml.jets.generation`, :mod:`caloml.data.jets`).
"""

from __future__ import annotations

import os

from absl import flags, logging

from caloml import cli
from caloml.errors import UsageError

FLAGS = flags.FLAGS
flags.DEFINE_enum("process", None, ["top", "qcd"],
                  "top: all-hadronic ttbar; qcd: QCD dijets (pp at 14 TeV).", required=True)
flags.DEFINE_integer("num_jets", 1000, "Selected jets to write.", lower_bound=1)
flags.DEFINE_integer("seed", 0, "Seed; the same seed gives the same file.", lower_bound=0)
flags.DEFINE_integer("workers", min(os.cpu_count() or 1, 8), "Worker processes.", lower_bound=1)
flags.DEFINE_string("output", None, "Output HDF5 file.", required=True)
flags.DEFINE_float("pt_min", 550.0, "Lower edge of the HR jet pT window in GeV.",
                   lower_bound=1.0)
flags.DEFINE_float("pt_max", 650.0, "Upper edge of the HR jet pT window in GeV.",
                   lower_bound=1.0)
flags.DEFINE_float("eta_max", 2.0, "HR jets must have |eta| below this.", lower_bound=0.01)
flags.DEFINE_integer("max_tries", 20000, "Events a chunk of 64 jets may generate before the "
                     "run gives up.", lower_bound=1)
flags.DEFINE_float("pt_hat_min", None, "Pythia's PhaseSpace:pTHatMin in GeV (default: 0.9 x "
                   "--pt_min; 0.6 x --pt_min gives a nearly unbiased window at a fifth of the "
                   "speed).", lower_bound=1.0)
flags.DEFINE_enum("compression", "gzip", ["gzip", "lzf", "none"], "HDF5 compression.")


def main(argv):
    del argv
    if FLAGS.pt_min >= FLAGS.pt_max:
        raise UsageError(f"--pt_min={FLAGS.pt_min:g} must be below --pt_max={FLAGS.pt_max:g}")
    cli.check_output_flag("output", FLAGS.output)
    from caloml.jets import generation

    attrs = generation.generate_to_file(
        FLAGS.output, FLAGS.process, FLAGS.num_jets, seed=FLAGS.seed, workers=FLAGS.workers,
        pt_range_gev=(FLAGS.pt_min, FLAGS.pt_max), eta_max=FLAGS.eta_max,
        max_tries=FLAGS.max_tries, progress=True, pt_hat_min_gev=FLAGS.pt_hat_min,
        compression=None if FLAGS.compression == "none" else FLAGS.compression)
    logging.info("wrote %s: %d jets from %d events (acceptance %.3f)", FLAGS.output,
                 attrs["num_jets"], attrs["num_events_generated"], attrs["acceptance"])


if __name__ == "__main__":
    cli.run(main)
