"""Trains the CaloGAN (paper 004) and assesses it: ``python train/calogan.py --particle=positron``.

Defaults are the original's (hep-lbdl/CaloGAN ``train.py``: batch 256, 50 epochs, Adam 2e-4 /
2e-5, β1 0.5, latent 1024) on 90k training + 10k test showers per particle of the embedded
simulator, or of the public ``eplus.hdf5``/``gamma.hdf5``/``piplus.hdf5`` with ``--data``. Several
particles (``--particle=positron,photon``) train one ACGAN. Rerunning the same command in the same
``--workdir`` resumes.
"""

from __future__ import annotations

import dataclasses

from absl import flags

from caloml import cli, training
from caloml.calogan import config

FLAGS = flags.FLAGS
flags.DEFINE_list("particle", ["positron"], "Particle(s): positron, photon, piplus; several "
                  "train one ACGAN (the original's multi-particle mode).")
flags.DEFINE_string("workdir", "runs/calogan", "Output directory; rerun = resume.")
flags.DEFINE_string("data", None, "A public CaloGAN file (one particle) or a directory with "
                    "eplus.hdf5 / gamma.hdf5 / piplus.hdf5 (default: simulate into "
                    "--workdir/data).")
flags.DEFINE_integer("epochs", 50, "Training epochs (original: 50).", lower_bound=1)
flags.DEFINE_integer("num_train", 90_000, "Training showers per particle (the first rows).",
                     lower_bound=1)
flags.DEFINE_integer("num_test", 10_000, "Held-out showers per particle after them, for the "
                     "assessment.", lower_bound=1)
flags.DEFINE_integer("batch_size", 256, "Global mini-batch size (original: 256).", lower_bound=1)
flags.DEFINE_integer("latent_dim", 1024, "Latent size (original: 1024).", lower_bound=1)
flags.DEFINE_bool("attention", True, "The in-painting attention between layers (original: on; "
                  "its --no-attn is --noattention).")
flags.DEFINE_bool("fake_batch_training_mode", False, "Make the discriminator's fake batch with "
                  "the generator in training mode (original: inference mode, Keras' predict).")
flags.DEFINE_integer("num_response", 1000, "Showers per energy of the energy-response "
                     "assessment.", lower_bound=10)
flags.DEFINE_integer("seed", 1, "Seed of data, initialisation, noise and order.", lower_bound=0)
flags.DEFINE_enum("strategy", "auto", list(training.STRATEGIES), "tf.distribute strategy.")
flags.DEFINE_integer("workers", 2, "Simulator processes.", lower_bound=1)
flags.DEFINE_bool("evaluate", True, "Write the assessment (figures, metrics.json) at the end.")
flags.DEFINE_bool("progress", True, "Progress bars for the simulation and the epochs.")


def main(argv):
    del argv
    particles = tuple(FLAGS.particle)
    experiment_config = config.for_particles(
        particles, workdir=FLAGS.workdir, data=FLAGS.data, epochs=FLAGS.epochs,
        num_train=FLAGS.num_train, num_test=FLAGS.num_test, seed=FLAGS.seed,
        strategy=FLAGS.strategy, num_response=FLAGS.num_response, workers=FLAGS.workers,
        evaluate=FLAGS.evaluate, progress=FLAGS.progress,
        generator=dataclasses.replace(config.GeneratorConfig(), latent_dim=FLAGS.latent_dim,
                                      attention=FLAGS.attention),
        gan=dataclasses.replace(config.CaloGANConfig(), batch_size=FLAGS.batch_size,
                                fake_batch_training_mode=FLAGS.fake_batch_training_mode),
    )
    cli.import_tensorflow()
    from caloml.calogan import experiment

    experiment.train_and_evaluate(experiment_config)


if __name__ == "__main__":
    cli.run(main)
