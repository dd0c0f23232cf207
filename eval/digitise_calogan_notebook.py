"""Regenerate the committed CaloGAN Geant4 reference from the authors' notebook.

    git -C CaloGAN show 1adb7ab:analysis/analysis.ipynb > /tmp/analysis.ipynb
    python eval/digitise_calogan_notebook.py --notebook=/tmp/analysis.ipynb \
        --commit=1adb7ab745f038af8b0e56d1396f839dc6435584 --plots=/tmp/digitised

Digitises the Geant4 histograms of hep-lbdl/CaloGAN ``analysis/analysis.ipynb`` (figures:
:mod:`caloml.simreport.geant4`, method: :mod:`caloml.plotting.digitise`) and writes --output
(default: the packaged fixture ``caloml/simreport/reference/calogan_geant4.json``); with
--plots, one PNG per figure with the digitised histograms drawn over the original (left: e+
dashed black, gamma dotted green; right: pi+ solid red), to check by eye.
"""

from __future__ import annotations

import os

from absl import flags, logging

from caloml import cli
from caloml.errors import UsageError

_DEFAULT_OUTPUT = os.path.join(os.path.dirname(__file__), os.pardir, "caloml", "simreport",
                               "reference", "calogan_geant4.json")

FLAGS = flags.FLAGS
flags.DEFINE_string("notebook", None, "Path of hep-lbdl/CaloGAN analysis/analysis.ipynb.")
flags.DEFINE_string("commit", None, "The CaloGAN commit the notebook was taken from (40 hex).")
flags.DEFINE_string("output", os.path.normpath(_DEFAULT_OUTPUT), "Fixture JSON to write.")
flags.DEFINE_string("plots", None, "Directory for overlay plots (default: none).")
flags.mark_flags_as_required(["notebook", "commit"])
flags.register_validator("commit", lambda c: len(c) == 40 and all(
    ch in "0123456789abcdef" for ch in c), "--commit must be a full 40-digit lowercase hash")


def main(argv):
    del argv
    if FLAGS.plots and os.path.exists(FLAGS.plots) and not os.path.isdir(FLAGS.plots):
        raise UsageError(f"--plots={FLAGS.plots} exists and is not a directory")
    from caloml.plotting import digitise
    from caloml.simreport import geant4

    fixture, read = geant4.digitise_notebook(FLAGS.notebook, FLAGS.commit)
    geant4.write_reference(FLAGS.output, fixture)
    logging.info("wrote %s (%d observables)", FLAGS.output, len(fixture["observables"]))
    if FLAGS.plots:
        os.makedirs(FLAGS.plots, exist_ok=True)
        for name, (rgb, figure) in read.items():
            digitise.plot_overlay(rgb, figure, os.path.join(FLAGS.plots, f"{name}.png"),
                                  panels=[[0, 1], [2]])
        logging.info("overlays in %s", FLAGS.plots)


if __name__ == "__main__":
    cli.run(main)
