"""Trains the jet super-resolution GAN (paper 001) and assesses it: ``python train/jet_sr.py``.

Defaults are the paper's (Table 1 "optimal": 10 RRDBs, 64 filters, β 0.1, p = 0.3, batch 15,
λ_reg 0.001, λ_std 0.2, λ_pow 1, λ_HR 1, λ_LR 0.1, λ_adv 0.01, λ_patch 0.1, the second
discriminator reset every 20k batches; Adam 1e-4, β 0.5/0.9; ×8 from 20×20 to 160×160) on
80k + 20k jets of 550–650 GeV generated with Pythia 8, the detector model and FastJet
(``caloml.jets``), or on a jets-layout file with ``--data``. The network is assessed on its own
process (Figs 4–7) and on the other one (Figs 8–9). Rerunning the same command in the same
``--workdir`` resumes.
"""

from __future__ import annotations

import dataclasses

from absl import flags

from caloml import cli, training
from caloml.errors import UsageError
from caloml.jet_sr import config

DISCRIMINATOR_FILTERS = {"paper": config.DiscriminatorConfig().filters,
                         "original": config.ORIGINAL_DISCRIMINATOR_FILTERS}

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", "runs/jet_sr", "Output directory; rerun = resume.")
flags.DEFINE_enum("jets", "qcd", list(config.PROCESSES), "Process trained on: QCD dijets "
                  "(paper §3.1) or all-hadronic ttbar top jets (§3.2).")
flags.DEFINE_integer("factor", 8, "Up-scaling factor f: 2, 4 or 8 (paper: 8, 20x20 -> 160x160).")
flags.DEFINE_string("data", None, "A jets-layout file of --jets (python -m caloml.jets); "
                    "default: generate with Pythia 8 into --workdir/data.")
flags.DEFINE_string("other_data", None, "A jets-layout file of the other process for the "
                    "cross-process assessment (default: generate --num_eval jets).")
flags.DEFINE_integer("epochs", 15, "Training epochs (15 x 80k/15 = 80k iterations; paper: "
                     "50k-100k).", lower_bound=1)
flags.DEFINE_integer("num_train", 80_000, "Training jets (the first rows).", lower_bound=1)
flags.DEFINE_integer("num_test", 20_000, "Held-out jets after them.", lower_bound=1)
flags.DEFINE_integer("num_eval", 5000, "Held-out jets assessed (and jets of the other "
                     "process).", lower_bound=2)
flags.DEFINE_integer("batch_size", 15, "Global mini-batch (Table 1: 15).", lower_bound=1)
flags.DEFINE_integer("num_rrdb", 10, "RRDBs of the generator (Table 1: 10; Fig. 11 scans "
                     "1-10).", lower_bound=0)
flags.DEFINE_integer("filters", 64, "Filters of the generator's convolutions (paper: 64).",
                     lower_bound=1)
flags.DEFINE_list("discriminator_filters", ["paper"], "'paper' (64,128,256,512), 'original' "
                  "(the original code's 16,32,32,64) or the filters of each block.")
flags.DEFINE_list("upsampling", ["alternate"], "'alternate' (pixel shuffle, transposed "
                  "convolution, ...; paper §3), 'pixel_shuffle' (the original code) or one "
                  "step per factor of 2, each pixel_shuffle or transposed_conv.")
flags.DEFINE_enum("hr_loss", "per_image", list(config.HR_LOSSES), "L_HR of Eq. 3 per image "
                  "(paper) or of the batch-mean images (original code).")
flags.DEFINE_integer("warmup_batches", 500, "First batches trained on L1(SR, HR) only "
                     "(original code: 500).", lower_bound=0)
flags.DEFINE_integer("reset_interval", 20_000, "Batches between re-initialisations of the "
                     "second discriminator (Table 1: 20k; 0: never).", lower_bound=0)
flags.DEFINE_float("sr_threshold", None, "SR pixels at or below this pT (GeV) are zeroed in the "
                   "assessment (default: the smallest non-zero HR pixel of the training jets).",
                   lower_bound=0.0)
flags.DEFINE_integer("shuffle_buffer", 2048, "Jets in the streaming shuffle buffer.",
                     lower_bound=1)
flags.DEFINE_bool("cross_process", True, "Also assess on the other process (Figs 8-9).")
flags.DEFINE_integer("seed", 1, "Seed of the jets, initialisation, order and penalty draws.",
                     lower_bound=0)
flags.DEFINE_enum("strategy", "auto", list(training.STRATEGIES), "tf.distribute strategy.")
flags.DEFINE_integer("workers", 2, "Pythia processes.", lower_bound=1)
flags.DEFINE_bool("evaluate", True, "Write the assessment (figures, metrics.json) at the end.")
flags.DEFINE_bool("progress", True, "Progress bars for the generation and the epochs.")


def _discriminator_filters() -> tuple[int, ...]:
    values = FLAGS.discriminator_filters
    if len(values) == 1 and values[0] in DISCRIMINATOR_FILTERS:
        return DISCRIMINATOR_FILTERS[values[0]]
    return cli.parse_numbers("discriminator_filters", values, int, minimum=1)


def _upsampling(factor: int) -> tuple[str, ...] | None:
    values = FLAGS.upsampling
    steps = factor.bit_length() - 1
    if values == ["alternate"]:
        return None
    if values == ["pixel_shuffle"]:
        return (config.PIXEL_SHUFFLE,) * steps
    if len(values) != steps or any(v not in config.UPSAMPLING_STEPS for v in values):
        raise UsageError(f"--upsampling expects 'alternate', 'pixel_shuffle' or {steps} steps "
                         f"for --factor={factor}, each one of "
                         f"{', '.join(config.UPSAMPLING_STEPS)}; got {','.join(values)}")
    return tuple(values)


def main(argv):
    del argv
    factor = config.check_factor(FLAGS.factor)
    generator = config.GeneratorConfig(factor=factor, num_rrdb=FLAGS.num_rrdb,
                                       filters=FLAGS.filters, upsampling=_upsampling(factor))
    discriminator = config.DiscriminatorConfig(filters=_discriminator_filters())
    train = dataclasses.replace(config.JetSRConfig(), batch_size=FLAGS.batch_size,
                                hr_loss=FLAGS.hr_loss, warmup_batches=FLAGS.warmup_batches,
                                reset_interval=FLAGS.reset_interval)
    experiment_config = config.JetSRExperiment(
        workdir=FLAGS.workdir, jets=FLAGS.jets, data=FLAGS.data, other_data=FLAGS.other_data,
        epochs=FLAGS.epochs, num_train=FLAGS.num_train, num_test=FLAGS.num_test,
        num_eval=FLAGS.num_eval, seed=FLAGS.seed, strategy=FLAGS.strategy,
        shuffle_buffer=FLAGS.shuffle_buffer, workers=FLAGS.workers, evaluate=FLAGS.evaluate,
        progress=FLAGS.progress, cross_process=FLAGS.cross_process,
        sr_threshold_gev=FLAGS.sr_threshold, generator=generator,
        discriminator=discriminator, training=train)
    cli.import_tensorflow()
    from caloml.jet_sr import experiment

    experiment.train_and_evaluate(experiment_config)


if __name__ == "__main__":
    cli.run(main)
