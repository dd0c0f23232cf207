"""Compares networks and baselines (paper 003 §5.3–5.4): ROC curves, AUCs, bias, resolution.

    python eval/reco.py --runs=runs/cnn_gamma_pi0,runs/bdt_gamma_pi0,runs/linear \
        --workdir=runs/reco_report

Reads every ``predictions*.npz`` under the --runs directories (written by train/reco.py,
baselines/bdt.py and baselines/regression.py, on CLIC or resampled ATLAS/CMS-like data) and
writes ``metrics.json`` (AUC with bootstrap errors, rejections, bias, resolution and its
a/sqrt(E) + b + c/E fit per method and particle, the "network vs baseline" table),
``summary.md`` (that table) and ``plots/`` (Figs 13-15, 17-19, 26-28 analogues).
"""

from __future__ import annotations

import glob
import os

from absl import flags, logging

from caloml import cli, outputs
from caloml.errors import MissingFileError

FLAGS = flags.FLAGS
flags.DEFINE_list("runs", None, "Work directories holding predictions*.npz (searched "
                  "recursively).", required=True)
flags.DEFINE_string("workdir", "runs/reco_report", "Output directory.")


def main(argv):
    del argv
    from caloml.reco import evaluation, figures

    paths = []
    for run in FLAGS.runs:
        if not os.path.isdir(run):
            raise MissingFileError(f"--runs: {run!r} is not a directory")
        found = sorted(glob.glob(os.path.join(run, "**", "predictions*.npz"), recursive=True))
        if not found:
            raise MissingFileError(f"--runs: no predictions*.npz under {run!r} (train/reco.py, "
                                   "baselines/bdt.py and baselines/regression.py write one)")
        paths += found
    predictions = [evaluation.read_predictions(path) for path in paths]
    os.makedirs(FLAGS.workdir, exist_ok=True)
    outputs.write_json(os.path.join(FLAGS.workdir, "config.json"),
                       {"runs": FLAGS.runs, "predictions": paths})
    summary = evaluation.summarise(predictions)
    summary["plots"] = figures.write_figures(predictions, os.path.join(FLAGS.workdir, "plots"))
    outputs.write_json(os.path.join(FLAGS.workdir, "metrics.json"), summary)
    table = evaluation.summary_markdown(summary)
    with outputs.atomic_path(os.path.join(FLAGS.workdir, "summary.md")) as tmp:
        with open(tmp, "w") as f:
            f.write(table + "\n")
    logging.info("%d predictions files; network vs baseline:\n%s", len(paths), table)


if __name__ == "__main__":
    cli.run(main)
