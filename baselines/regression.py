"""Energy-regression baselines of paper 003 (appendix D): linear (Eq. 2) and XGBoost.

    python baselines/regression.py --method=xgboost --particle=all --workdir=runs/reg_xgboost

One model per particle, trained on the train split (XGBoost early-stopped on the validation
split) and tested on the test split. Writes ``config.json``, the models,
``predictions_regression.npz``, ``metrics.json`` (a, b, c or the best iteration; test bias and
resolution) and ``plots/`` into --workdir; simulated events are cached in ``<workdir>/data``
unless --data is given.
"""

from __future__ import annotations

import dataclasses

from absl import flags

from caloml import cli
from caloml.data import reco as data_reco
from caloml.reco import config as reco_config

_DEFAULT = reco_config.RegressionConfig()
FLAGS = flags.FLAGS
flags.DEFINE_enum("method", _DEFAULT.method, list(reco_config.REGRESSION_METHODS),
                  "linear (E = a E_ECAL + b E_HCAL + c) or xgboost.")
flags.DEFINE_enum("particle", _DEFAULT.particle, list(reco_config.REGRESSION_PARTICLES),
                  "Particle to regress (all: one model per particle).")
flags.DEFINE_string("workdir", None, "Output directory (default: runs/regression_<method>).")
flags.DEFINE_string("data", None, "Directory with one clic file per particle (<particle>.h5); "
                    "default: simulate into --workdir/data.")
flags.DEFINE_integer("num_train", _DEFAULT.data.num_train, "Training events per particle.",
                     lower_bound=1)
flags.DEFINE_integer("num_validation", _DEFAULT.data.num_validation,
                     "Validation events per particle (XGBoost early stopping).", lower_bound=1)
flags.DEFINE_integer("num_test", _DEFAULT.data.num_test, "Test events per particle.",
                     lower_bound=1)
flags.DEFINE_float("pion_min_sum_fraction", _DEFAULT.pion_min_sum_fraction,
                   "Charged pions need ECAL + HCAL window sum > this x true energy.",
                   lower_bound=0.0)
flags.DEFINE_bool("fixed_angle", False, "Theta = 90 degree samples (appendix I).")
flags.DEFINE_integer("seed", 1, "Seed of the simulation and the trees.", lower_bound=0)
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
        _DEFAULT, method=FLAGS.method, particle=FLAGS.particle, data=data,
        pion_min_sum_fraction=FLAGS.pion_min_sum_fraction, seed=FLAGS.seed,
        threads=FLAGS.threads, progress=FLAGS.progress)
    from caloml.reco import baselines

    baselines.run_regression(config, FLAGS.workdir or f"runs/regression_{FLAGS.method}")


if __name__ == "__main__":
    cli.run(main)
