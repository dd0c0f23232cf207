"""Evaluates a trained SR-GAN: ``python eval/sr_gan.py --workdir=runs/sr_gan``.

Writes the paper's Figs. 6–13 into --workdir/plots and the numbers into metrics.json
(train/sr_gan.py runs this at the end of training as well). The LR and SR CNNs of Fig. 13 are
reused from an earlier evaluation of the same generator unless --retrain_classifiers.
"""

from __future__ import annotations

from absl import flags

from caloml import cli

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", "runs/sr_gan", "Work directory of train/sr_gan.py.")
flags.DEFINE_bool("retrain_classifiers", False, "Train the LR and SR CNNs of Fig. 13 again even "
                  "if the work directory holds ones trained on this generator.")


def main(argv):
    del argv
    cli.import_tensorflow()
    from caloml.srgan import experiment

    experiment.evaluate_workdir(FLAGS.workdir, retrain_classifiers=FLAGS.retrain_classifiers)


if __name__ == "__main__":
    cli.run(main)
