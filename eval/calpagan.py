"""Assesses a trained CALPAGAN: ``python eval/calpagan.py --workdir=runs/calpagan``.

Translates the held-out fast images of the trained process (and of the other process: the
cross-process generalisation of paper §4) with the exported network, clusters jets (FastJet
anti-kT R = 0.5, trimmed) in the fast, detailed and CALPAGAN images and writes
--workdir/metrics.json and --workdir/plots (PNG + PDF): example events and their jets (Fig. 4),
the Fréchet distance per epoch (Fig. 5, on the features of a jet-image classifier trained
here), the losses (Fig. 6), τ1, τ2, girth, two-point moment, pT, mass, η, φ of the two leading
jets and Δη, Δφ (Figs 7–12) with the χ² distance tables (Tables 1–2), and the inference time
per event against the batch size (Fig. 13, CPU). train/calpagan.py runs this at the end too.
"""

from __future__ import annotations

from absl import flags

from caloml import cli

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", "runs/calpagan", "Work directory of train/calpagan.py.")


def main(argv):
    del argv
    cli.import_tensorflow()
    from caloml.calpagan import experiment

    experiment.evaluate_workdir(FLAGS.workdir)


if __name__ == "__main__":
    cli.run(main)
