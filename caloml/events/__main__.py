"""Writes paired event images: ``python -m caloml.events --process=dijet --num_events=1000 ...``.

For example, the dijet half of CALPAGAN's data (paper §2: 10,000 events per process)::

    python -m caloml.events --process=dijet --num_events=10000 --seed=0 --workers=8 \\
        --output=dijet.h5

Every event is Pythia 8 at 13 TeV rendered twice on the 72 x 72 CMS tower grid (fast:
Delphes CMS card; detailed: showered). The file has the layout ``"events"``
(:mod:`caloml.events.generation`, :mod:`caloml.data.events`).
"""

from __future__ import annotations

import os

from absl import flags, logging

from caloml import cli

FLAGS = flags.FLAGS
flags.DEFINE_enum("process", None, ["wjets", "dijet"],
                  "wjets: W (-> q q') + jet; dijet: QCD 2 -> 2 (pp at 13 TeV).", required=True)
flags.DEFINE_integer("num_events", 1000, "Events to write (all kept, no selection).",
                     lower_bound=1)
flags.DEFINE_integer("seed", 0, "Seed; the same seed gives the same file for any --workers.",
                     lower_bound=0)
flags.DEFINE_integer("workers", min(os.cpu_count() or 1, 8), "Worker processes.", lower_bound=1)
flags.DEFINE_string("output", None, "Output HDF5 file.", required=True)
flags.DEFINE_float("pt_hat_min", 50.0, "Pythia's PhaseSpace:pTHatMin in GeV.", lower_bound=1.0,
                   upper_bound=6000.0)
flags.DEFINE_boolean("progress", True, "Show a progress bar.")


def main(argv):
    del argv
    cli.check_output_flag("output", FLAGS.output)
    from caloml.events import generation

    attrs = generation.generate_to_file(
        FLAGS.output, FLAGS.process, FLAGS.num_events, seed=FLAGS.seed, workers=FLAGS.workers,
        progress=FLAGS.progress, pt_hat_min_gev=FLAGS.pt_hat_min)
    logging.info("wrote %s: %d %s events (seed %d)", FLAGS.output, attrs["num_events"],
                 attrs["process"], attrs["seed"])


if __name__ == "__main__":
    cli.run(main)
