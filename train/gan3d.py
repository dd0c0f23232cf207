"""Trains the 3DGAN (paper 003 §4) and compares it with the simulator: ``python train/gan3d.py``.

Defaults are the paper's and the original's (svalleco/3Dgan ``Anglegan``: 51 × 51 × 25 electron
showers of 100–200 GeV at θ of 60°–120°, cells to the power 0.85, RMSprop 1e-3, batch 64, 60
epochs, loss weights 3, 0.1, 25, 0.1, 0.1) on 180k training + 20k test events of the embedded
simulator, or of 3DGAN-layout files with ``--data`` (``train/prepare_3dgan_data.py`` makes them
from CLIC files). ``--architecture=energygan`` is the fixed-angle 25³ model of the first 3DGAN.
Rerunning the same command in the same ``--workdir`` resumes.
"""

from __future__ import annotations

import dataclasses

from absl import flags

from caloml import cli, training
from caloml.errors import UsageError
from caloml.gan3d import config

LOSS_WEIGHTS = {"paper": config.PAPER_LOSS_WEIGHTS, "tf2_port": config.TF2_PORT_LOSS_WEIGHTS}

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", "runs/gan3d", "Output directory; rerun = resume.")
flags.DEFINE_string("data", None, "A 3DGAN-layout file or a directory of them (default: "
                    "simulate CLIC electrons into --workdir/data).")
flags.DEFINE_enum("architecture", "anglegan", list(config.ARCHITECTURES),
                  "anglegan: the original code's networks; paper_text: the generator as §4.1 "
                  "describes it; energygan: the fixed-angle 25^3 model of the first 3DGAN.")
flags.DEFINE_integer("epochs", 60, "Training epochs (paper: 60).", lower_bound=1)
flags.DEFINE_integer("num_train", 180_000, "Training events (the first rows).", lower_bound=1)
flags.DEFINE_integer("num_test", 20_000, "Held-out events after them.", lower_bound=1)
flags.DEFINE_integer("num_eval", 2000, "Test events compared with as many generated showers.",
                     lower_bound=10)
flags.DEFINE_integer("batch_size", None, "Global mini-batch (default: 64; energygan 128).",
                     lower_bound=1)
flags.DEFINE_list("energy", ["100", "200"], "Simulated electron energies 'low,high' in GeV "
                  "(paper: 100,200).")
flags.DEFINE_list("loss_weights", ["paper"], "'paper' (3,0.1,25,0.1,0.1), 'tf2_port' (the TF2 "
                  "port's 3,0.1,25,0.1 without the bin loss) or five numbers for the real/fake, "
                  "energy, angle, ECAL-sum and bin-count terms.")
flags.DEFINE_bool("fake_batch_training_mode", False, "Make the discriminator's fake batch with "
                  "the generator in training mode (original: inference mode, Keras' predict).")
flags.DEFINE_integer("shuffle_buffer", 2048, "Events in the streaming shuffle buffer.",
                     lower_bound=1)
flags.DEFINE_list("runtime_batch_sizes", [str(b) for b in config.RUNTIME_BATCH_SIZES],
                  "Batch sizes of the assessment's generation-time table (the benchmark times "
                  "1,64,256,1024).")
flags.DEFINE_string("reco_workdir", None, "A train/reco.py work directory whose network "
                    "reconstructs simulated and generated showers (paper Appendix B).")
flags.DEFINE_integer("seed", 1, "Seed of data, initialisation, noise, flips and order.",
                     lower_bound=0)
flags.DEFINE_enum("strategy", "auto", list(training.STRATEGIES), "tf.distribute strategy.")
flags.DEFINE_integer("workers", 2, "Simulator processes.", lower_bound=1)
flags.DEFINE_bool("evaluate", True, "Write the assessment (figures, metrics.json) at the end.")
flags.DEFINE_bool("progress", True, "Progress bars for the simulation and the epochs.")


def _loss_weights() -> tuple[float, ...] | None:
    values = FLAGS.loss_weights
    if len(values) == 1 and values[0] in LOSS_WEIGHTS:
        return None if values[0] == "paper" else LOSS_WEIGHTS[values[0]]
    if len(values) != len(config.LOSS_TERMS):
        raise UsageError(f"--loss_weights expects 'paper', 'tf2_port' or "
                         f"{len(config.LOSS_TERMS)} numbers ({', '.join(config.LOSS_TERMS)}), "
                         f"got {','.join(values)}")
    return cli.parse_numbers("loss_weights", values, minimum=0)


def main(argv):
    del argv
    energy = cli.parse_numbers("energy", FLAGS.energy, minimum=0)
    if len(energy) != 2:
        raise UsageError(f"--energy expects 'low,high' in GeV, got {','.join(FLAGS.energy)}")
    gan = dataclasses.replace(config.Gan3DConfig(),
                              fake_batch_training_mode=FLAGS.fake_batch_training_mode)
    weights = _loss_weights()
    if weights is not None:
        gan = dataclasses.replace(gan, loss_weights=weights)
    experiment_config = config.for_architecture(
        FLAGS.architecture, workdir=FLAGS.workdir, data=FLAGS.data, epochs=FLAGS.epochs,
        num_train=FLAGS.num_train, num_test=FLAGS.num_test, num_eval=FLAGS.num_eval,
        energy_gev=energy, seed=FLAGS.seed, strategy=FLAGS.strategy,
        shuffle_buffer=FLAGS.shuffle_buffer, reco_workdir=FLAGS.reco_workdir,
        runtime_batch_sizes=cli.parse_numbers("runtime_batch_sizes", FLAGS.runtime_batch_sizes,
                                              int, minimum=1),
        workers=FLAGS.workers, evaluate=FLAGS.evaluate, progress=FLAGS.progress, gan=gan,
        batch_size=FLAGS.batch_size)
    cli.import_tensorflow()
    from caloml.gan3d import experiment

    experiment.train_and_evaluate(experiment_config)


if __name__ == "__main__":
    cli.run(main)
