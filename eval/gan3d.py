"""Compares a trained 3DGAN with the simulator: ``python eval/gan3d.py --workdir=runs/gan3d``.

"Simulator vs GAN" on the held-out events (paper 003 §4.2, Figs 7–10): example showers,
sampling fraction, hits, shower profiles, second moments, longitudinal thirds, the GANutils
relative errors, the measured vs requested angle, the generation time on this machine and, with
``--reco_workdir``, the reconstruction network on simulated and generated showers (Appendix B).
Writes --workdir/metrics.json and --workdir/plots (train/gan3d.py runs this at the end too).
"""

from __future__ import annotations

from absl import flags

from caloml import cli

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", "runs/gan3d", "Work directory of train/gan3d.py.")
flags.DEFINE_string("reco_workdir", None, "A train/reco.py work directory for Appendix B "
                    "(default: the one the training was given, if any).")


def main(argv):
    del argv
    cli.import_tensorflow()
    from caloml.gan3d import experiment

    experiment.evaluate_workdir(FLAGS.workdir, reco_workdir=FLAGS.reco_workdir)


if __name__ == "__main__":
    cli.run(main)
