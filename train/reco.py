"""Trains an end-to-end reconstruction network (paper 003 §5) and evaluates it on the test split.

    python train/reco.py --model=cnn --task=gamma_pi0 --workdir=runs/cnn_gamma_pi0

Defaults are the paper's (§5.2: 400,000 training events per task, batch 1000, the best learning
rates; Triforce's 100 epochs, GoogLeNet 10); the README shows a quick run. The data are
simulated into --workdir/data on first use, or read from --data (one clic-layout file per
particle: electron.h5, photon.h5, pi0.h5, piplus.h5). Rerunning the same command resumes.
"""

from __future__ import annotations

import dataclasses

from absl import flags

from caloml import cli, training
from caloml.data import reco as reco_data
from caloml.reco import config

FLAGS = flags.FLAGS
flags.DEFINE_enum("model", "cnn", list(config.NETWORKS), "Network (§5.1).")
flags.DEFINE_enum("task", "gamma_pi0", list(config.TASKS),
                  "gamma_pi0 or e_pi: classification + energy of both particles; regression: "
                  "the energy of --particle only.")
flags.DEFINE_enum("particle", None, list(reco_data.PARTICLES), "Particle of --task=regression.")
flags.DEFINE_string("workdir", "runs/reco", "Output directory; rerun = resume.")
flags.DEFINE_string("data", None, "Directory with one clic-layout file per particle "
                    "(electron.h5, photon.h5, pi0.h5, piplus.h5; *_fixed_angle.h5 with "
                    "--fixed_angle); default: simulate into --workdir/data.")
flags.DEFINE_bool("fixed_angle", False, "Particles at theta = 90 degrees (appendix I).")
flags.DEFINE_integer("epochs", None, "Training epochs (default: 100, GoogLeNet 10).",
                     lower_bound=1)
flags.DEFINE_integer("num_train", 200_000, "Training events per particle.", lower_bound=1)
flags.DEFINE_integer("num_validation", 20_000, "Validation events per particle.", lower_bound=1)
flags.DEFINE_integer("num_test", 200_000, "Test events per particle.", lower_bound=1)
flags.DEFINE_integer("batch_size", config.BATCH_SIZE, "Global batch (§5.2: 1000).",
                     lower_bound=1)
flags.DEFINE_integer("micro_batch", None, "Events per forward/backward pass, gradients summed "
                     "(default: GoogLeNet 10, others the whole batch).", lower_bound=1)
flags.DEFINE_float("learning_rate", None, "Adam learning rate (default: §5.2's best, DNN 2e-4, "
                   "CNN 4e-4, GoogLeNet 1e-4).", lower_bound=0.0)
flags.DEFINE_float("energy_weight", 200.0, "Weight of the energy MSE (§5: 200).",
                   lower_bound=0.0)
flags.DEFINE_float("direction_weight", 0.0, "Weight of Triforce's eta/phi outputs (paper: 0).",
                   lower_bound=0.0)
flags.DEFINE_integer("hcal_window", None, "HCAL cells per side fed to DNN/CNN (default 11; 5 "
                     "gives the paper's parameter counts).", lower_bound=1)
flags.DEFINE_integer("shuffle_buffer", config.SHUFFLE_BUFFER, "Events in the shuffle buffer.",
                     lower_bound=1)
flags.DEFINE_integer("seed", 1, "Seed of the data, the initialisation and the shuffling.",
                     lower_bound=0)
flags.DEFINE_enum("strategy", "auto", list(training.STRATEGIES), "tf.distribute strategy.")
flags.DEFINE_integer("workers", 2, "Simulator processes.", lower_bound=1)
flags.DEFINE_bool("evaluate", True, "Write predictions, metrics.json and plots at the end.")
flags.DEFINE_bool("progress", True, "Progress bars.")


def main(argv):
    del argv
    network = config.NETWORK_CONFIGS[FLAGS.model]()
    changes = {"learning_rate": FLAGS.learning_rate, "hcal_window": FLAGS.hcal_window}
    network = dataclasses.replace(network, **{
        k: v for k, v in changes.items()
        if v is not None and k in {f.name for f in dataclasses.fields(network)}})
    experiment_config = config.RecoExperiment(
        workdir=FLAGS.workdir, model=FLAGS.model, task=FLAGS.task, particle=FLAGS.particle,
        data=reco_data.DataConfig(
            data=FLAGS.data, num_train=FLAGS.num_train, num_validation=FLAGS.num_validation,
            num_test=FLAGS.num_test, fixed_angle=FLAGS.fixed_angle, seed=FLAGS.seed,
            workers=FLAGS.workers),
        network=network, epochs=FLAGS.epochs, batch_size=FLAGS.batch_size,
        micro_batch=FLAGS.micro_batch,
        loss=config.LossWeights(energy=FLAGS.energy_weight, direction=FLAGS.direction_weight),
        shuffle_buffer=FLAGS.shuffle_buffer, seed=FLAGS.seed, strategy=FLAGS.strategy,
        progress=FLAGS.progress, evaluate=FLAGS.evaluate,
    )
    cli.import_tensorflow()
    from caloml.reco import experiment

    experiment.train_and_evaluate(experiment_config)


if __name__ == "__main__":
    cli.run(main)
