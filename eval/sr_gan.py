"""Evaluates a trained SR-GAN: ``python eval/sr_gan.py --workdir=runs/sr_gan``.

Writes the paper's Figs. 6–13 into --workdir/plots and the numbers into metrics.json
(train/sr_gan.py runs this at the end of training as well).
"""

from __future__ import annotations

from absl import flags

from caloml import cli
from caloml.training import srgan_experiment

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", "runs/sr_gan", "Work directory of train/sr_gan.py.")


def main(argv):
    del argv
    srgan_experiment.evaluate_workdir(FLAGS.workdir)


if __name__ == "__main__":
    cli.run(main)
