"""Resamples CLIC ECAL windows to ATLAS-like or CMS-like cells (paper 003 §5.4, Fig. 16).

    python eval/resample.py --target=atlas --workdir=runs/resample_atlas
    python eval/resample.py --target=cms --data=photons.h5 --workdir=runs/resample_cms
    python eval/resample.py --target=atlas --data=runs/cnn/data --workdir=runs/data_atlas

Writes ``<stem>_<target>.h5`` (the data file ``<stem>.h5`` with its ECAL windows resampled to
the target and back, HCAL zeroed unless --hcal=keep), ``config.json``, ``metrics.json`` (ECAL
energy after / before, the change a second pass makes, showers per second) and
``plots/resample_example.{png,pdf}`` into --workdir. Without --data, --num_showers photons of
2-500 GeV are simulated into ``<workdir>/data/photon.h5`` (and reused on a rerun).
With --data a directory, every ``<name>.h5`` in it is resampled into ``<workdir>/<name>.h5``
(the same names, so that --workdir is a --data directory for train/reco.py and the baselines)
with ``metrics.json`` per file and ``plots/resample_example_<name>``.
``--target=atlas_printed`` uses the ATLAS back-layer Δη = 0.5 as printed in Table 1 instead of
the physical 0.05.
"""

from __future__ import annotations

import os

from absl import flags

from caloml import cli
from caloml.errors import UsageError

# Kept here, not imported from caloml.data.resample, so that --help needs no numpy or scipy.
TARGETS = ("atlas", "atlas_printed", "cms")

FLAGS = flags.FLAGS
flags.DEFINE_enum("target", "atlas", TARGETS, "Target geometry (paper 003 Table 1); "
                  "atlas_printed: ATLAS with the third layer's Δη = 0.5 as printed.")
flags.DEFINE_string("data", None, "A CLIC-layout HDF5 file to resample, or a directory of "
                    "them (default: simulate --num_showers photons into "
                    "<workdir>/data/photon.h5).")
flags.DEFINE_integer("num_showers", 200, "Photons to simulate when --data is not given.",
                     lower_bound=1)
flags.DEFINE_integer("seed", 1, "Simulator seed (and seed of the timing windows).",
                     lower_bound=0)
flags.DEFINE_enum("hcal", "drop", ["drop", "keep"], "drop: zero the HCAL window (paper 003 "
                  "§5.4 discards it); keep: copy it unchanged.")
flags.DEFINE_integer("timing_showers", 2000, "Windows timed for showers_per_s.", lower_bound=1)
flags.DEFINE_string("workdir", None, "Directory for all outputs (default: runs/resample_<target>).")
flags.DEFINE_bool("progress", True, "Show progress bars.")


def main(argv):
    del argv
    if FLAGS.data is not None and FLAGS["num_showers"].present:
        raise UsageError("--num_showers sets the size of the simulated file; it cannot be "
                         "used with --data")
    if FLAGS.data is not None and not os.path.exists(FLAGS.data):
        raise UsageError(f"--data={FLAGS.data} does not exist")
    workdir = FLAGS.workdir or f"runs/resample_{FLAGS.target}"
    if os.path.exists(workdir) and not os.path.isdir(workdir):
        raise UsageError(f"--workdir={workdir} exists and is not a directory")
    from absl import logging

    from caloml.reco import resampling

    if FLAGS.data is not None and os.path.isdir(FLAGS.data):
        metrics = resampling.resample_directory(
            FLAGS.data, workdir, FLAGS.target, seed=FLAGS.seed, hcal=FLAGS.hcal,
            timing_showers=FLAGS.timing_showers, progress=FLAGS.progress)
        for name, values in metrics.items():
            logging.info("%s: ECAL energy after / before %s; written to %s", name,
                         values["energy_ratio_mean"], os.path.join(workdir, name))
        return
    metrics = resampling.resample_report(
        workdir, FLAGS.target, data=FLAGS.data, num_showers=FLAGS.num_showers, seed=FLAGS.seed,
        hcal=FLAGS.hcal, timing_showers=FLAGS.timing_showers, progress=FLAGS.progress,
    )
    logging.info("ECAL energy after / before: mean %s, spread %s, within 1%%: %s; "
                 "%.0f showers/s; written to %s", metrics["energy_ratio_mean"],
                 metrics["energy_ratio_std"], metrics["fraction_within_1_percent"],
                 metrics["showers_per_s"], workdir)


if __name__ == "__main__":
    cli.run(main)
