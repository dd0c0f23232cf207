"""Assesses a trained CaloGAN: ``python eval/calogan.py --workdir=runs/calogan``.

The slides' four assessments of the exported generator against the held-out simulated (or
``--data``) showers: shower shapes with separation powers, mode collapse (nearest training
showers), energy response inside and outside the training range, and the runtime table on this
machine. Writes --workdir/metrics.json and --workdir/plots (train/calogan.py runs this at the end
of training as well).
"""

from __future__ import annotations

from absl import flags

from caloml import cli

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", "runs/calogan", "Work directory of train/calogan.py.")


def main(argv):
    del argv
    cli.import_tensorflow()
    from caloml.calogan import experiment

    experiment.evaluate_workdir(FLAGS.workdir)


if __name__ == "__main__":
    cli.run(main)
