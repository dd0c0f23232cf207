"""Classification baseline of paper 003 (appendix C): a BDT on expert shower features.

    python baselines/bdt.py --task=gamma_pi0 --method=xgboost --workdir=runs/bdt_gamma_pi0

``xgboost`` tunes an XGBoost classifier with scikit-optimize's BayesSearchCV (the paper's
baseline); ``adaboost`` is Triforce's 800-stump AdaBoost. Writes ``config.json``, the model,
``predictions_<task>.npz``, ``metrics.json`` (test AUC) and ``plots/`` into --workdir;
simulated events are cached in ``<workdir>/data`` unless --data names a directory of clic files.
"""

from __future__ import annotations

import dataclasses

from absl import flags

from caloml import cli
from caloml.data import reco as data_reco
from caloml.reco import config as reco_config

_DEFAULT = reco_config.BDTConfig()
FLAGS = flags.FLAGS
flags.DEFINE_enum("task", _DEFAULT.task, list(data_reco.TASKS), "Classification problem.")
flags.DEFINE_enum("method", _DEFAULT.method, list(reco_config.CLASSIFICATION_METHODS),
                  "xgboost (BayesSearchCV-tuned, the paper's) or adaboost (Triforce BDT.py).")
flags.DEFINE_string("workdir", None, "Output directory (default: runs/bdt_<task>_<method>).")
flags.DEFINE_string("data", None, "Directory with one clic file per particle (<particle>.h5); "
                    "default: simulate into --workdir/data.")
flags.DEFINE_integer("num_train", _DEFAULT.data.num_train, "Training events per particle.",
                     lower_bound=1)
flags.DEFINE_integer("num_validation", _DEFAULT.data.num_validation, "Validation rows per "
                     "particle (unused by the BDT; they fix the test rows' place in the files).",
                     lower_bound=1)
flags.DEFINE_integer("num_test", _DEFAULT.data.num_test, "Test events per particle.",
                     lower_bound=1)
flags.DEFINE_integer("n_iter", _DEFAULT.n_iter, "BayesSearchCV points (xgboost).",
                     lower_bound=1)
flags.DEFINE_integer("cv_folds", _DEFAULT.cv_folds, "Cross-validation folds (xgboost).",
                     lower_bound=2)
flags.DEFINE_bool("fixed_angle", False, "Theta = 90 degree samples (appendix I).")
flags.DEFINE_integer("seed", 1, "Seed of the simulation, the search and the trees.",
                     lower_bound=0)
flags.DEFINE_integer("workers", 2, "Simulator processes.", lower_bound=1)
flags.DEFINE_integer("threads", _DEFAULT.threads, "XGBoost threads.", lower_bound=1)
flags.DEFINE_bool("progress", True, "Progress bar while simulating.")


def main(argv):
    del argv
    data = data_reco.DataConfig(
        data=FLAGS.data, num_train=FLAGS.num_train, num_validation=FLAGS.num_validation,
        num_test=FLAGS.num_test, fixed_angle=FLAGS.fixed_angle, seed=FLAGS.seed,
        workers=FLAGS.workers)
    config = dataclasses.replace(
        _DEFAULT, task=FLAGS.task, method=FLAGS.method, data=data, n_iter=FLAGS.n_iter,
        cv_folds=FLAGS.cv_folds, seed=FLAGS.seed, threads=FLAGS.threads,
        progress=FLAGS.progress)
    from caloml.reco import baselines

    baselines.run_bdt(config, FLAGS.workdir or f"runs/bdt_{FLAGS.task}_{FLAGS.method}")


if __name__ == "__main__":
    cli.run(main)
