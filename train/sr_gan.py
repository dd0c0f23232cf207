"""Trains the SR-GAN for SR-γ (paper 000) and evaluates it: ``python train/sr_gan.py --energy=50``.

Defaults are the paper's (100k photons + 100k π⁰, batch 32, up to 5,000 epochs); the README
shows a short run. Rerunning the same command in the same --workdir resumes.
"""

from __future__ import annotations

import dataclasses

from absl import flags

from caloml import cli, training
from caloml.errors import UsageError
from caloml.srgan import config

FLAGS = flags.FLAGS
flags.DEFINE_float("energy", 50.0, "Photon/pi0 energy in GeV (paper: 20 and 50).",
                   lower_bound=8.0, upper_bound=500.0)
flags.DEFINE_string("workdir", "runs/sr_gan", "Output directory; rerun = resume.")
flags.DEFINE_string("data", None, "Directory with photon.h5 and pi0.h5 in the srgamma layout "
                    "(default: simulate them into --workdir/data).")
flags.DEFINE_integer("epochs", 5000, "GAN training epochs.", lower_bound=1)
flags.DEFINE_integer("num_train", 100_000, "GAN-training events per particle.", lower_bound=1)
flags.DEFINE_integer("num_classifier_train", 50_000, "Classifier-training events per particle.",
                     lower_bound=10)
flags.DEFINE_integer("num_val", 5_000, "Validation events per particle.", lower_bound=10)
flags.DEFINE_integer("num_test_photon", None, "Test photons (default: the paper's, 25,000 at "
                     "50 GeV, 100,000 at 20 GeV).", lower_bound=10)
flags.DEFINE_integer("num_test_pi0", None, "Test pi0 (default: the paper's, 25,000 at 50 GeV, "
                     "1,000,000 at 20 GeV).", lower_bound=10)
flags.DEFINE_list("classifier_sizes", ["1000", "10000", "100000"],
                  "Training-set sizes of the LR/SR CNNs (Fig. 13).")
flags.DEFINE_integer("num_rrdb", 5, "RRDBs in the generator (paper: 5; 1–10 scanned).",
                     lower_bound=1)
flags.DEFINE_integer("batch_size", 32, "Global GAN mini-batch size.", lower_bound=1)
flags.DEFINE_integer("critic_steps", 5, "Critic mini-batches per generator mini-batch.",
                     lower_bound=1)
flags.DEFINE_float("learning_rate", 1e-4, "Adam learning rate of both networks (paper: 1e-4); "
                   "may be lowered when resuming a diverged run.", lower_bound=0.0)
flags.DEFINE_float("lambda_per", None, "Perceptual-loss weight (default: 3e-2 at 20 GeV, "
                   "3e-1 at 50 GeV; required at other energies).", lower_bound=0.0)
flags.DEFINE_enum("perceptual_features", "pre_activation", list(config.PERCEPTUAL_FEATURES),
                  "Phi of the perceptual loss: the HR CNN's third convolution before (ESRGAN) "
                  "or after its ReLU.")
flags.DEFINE_integer("classifier_epochs", 50, "Upper limit of CNN epochs (early stopping).",
                     lower_bound=1)
flags.DEFINE_integer("pretrain_epochs", 0, "Epochs of L1 pre-training of the generator before "
                     "the GAN (ESRGAN's initialisation; not in the paper, default 0).",
                     lower_bound=0)
flags.DEFINE_integer("seed", 1, "Seed of data, initialisation and shuffling.", lower_bound=0)
flags.DEFINE_enum("strategy", "auto", list(training.STRATEGIES), "tf.distribute strategy.")
flags.DEFINE_integer("workers", 2, "Simulator processes.", lower_bound=1)
flags.DEFINE_bool("evaluate", True, "Write the figures and metrics.json at the end.")
flags.DEFINE_bool("progress", True, "Progress bars for the simulation and the GAN epochs.")


def main(argv):
    del argv
    sizes = cli.parse_numbers("classifier_sizes", FLAGS.classifier_sizes, int, minimum=2)
    if FLAGS.lambda_per is None:
        try:
            config.perceptual_weight(FLAGS.energy)
        except ValueError as e:
            raise UsageError(f"--energy={FLAGS.energy:g}: {e}") from None
    experiment_config = config.SRGANExperiment(
        workdir=FLAGS.workdir, energy_gev=FLAGS.energy, data=FLAGS.data, epochs=FLAGS.epochs,
        num_train=FLAGS.num_train, num_classifier_train=FLAGS.num_classifier_train,
        num_val=FLAGS.num_val, num_test_photon=FLAGS.num_test_photon,
        num_test_pi0=FLAGS.num_test_pi0, classifier_sizes=sizes, seed=FLAGS.seed,
        strategy=FLAGS.strategy, lambda_per=FLAGS.lambda_per,
        generator=config.GeneratorConfig(num_rrdb=FLAGS.num_rrdb),
        gan=dataclasses.replace(config.SRGANConfig(), batch_size=FLAGS.batch_size,
                                critic_steps=FLAGS.critic_steps,
                                learning_rate=FLAGS.learning_rate,
                                perceptual_features=FLAGS.perceptual_features),
        classifier_training=dataclasses.replace(config.ClassifierTraining(),
                                                epochs=FLAGS.classifier_epochs),
        pretrain_epochs=FLAGS.pretrain_epochs, workers=FLAGS.workers, evaluate=FLAGS.evaluate,
        progress=FLAGS.progress,
    )
    cli.import_tensorflow()
    from caloml.srgan import experiment

    experiment.run(experiment_config)


if __name__ == "__main__":
    cli.run(main)
