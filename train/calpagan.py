"""Trains CALPAGAN (paper 002) and assesses it: ``python train/calpagan.py --process=wjets``.

Defaults are the paper's (§3: U-Net generator of 72×72×2 → 72×72×1 with 5 contracting and 5
expanding blocks, PatchGAN discriminator with instance normalisation seeing the condition,
cGAN + λ·L1 loss of Eq. 1, each image divided by its own maximum) with what the paper leaves
out taken from its code (Adam 2e-4, batch 64, 50 epochs) or pix2pix (λ_L1 = 100);
``--variant=original_code`` trains what the original code trains (D without the condition,
λ_L1 = 400, both images divided by the fast maximum). The data are Pythia 8 events rendered
twice by ``caloml.events`` (fast Delphes-style towers and detailed showers, 5,000 + 5,000 events
per process), or an events-layout file with ``--data``. The network is assessed on its own
process and on the other one. Rerunning the same command in the same ``--workdir`` resumes.
"""

from __future__ import annotations

import dataclasses

from absl import flags

from caloml import cli, training
from caloml.calpagan import config

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", "runs/calpagan", "Output directory; rerun = resume.")
flags.DEFINE_enum("process", "wjets", list(config.PROCESSES), "Events trained on: W + jets "
                  "(W -> q q') or QCD dijets (paper §2).")
flags.DEFINE_string("data", None, "An events-layout file of --process (python -m "
                    "caloml.events); default: generate with Pythia 8 into --workdir/data.")
flags.DEFINE_string("other_data", None, "An events-layout file of the other process (the "
                    "feature classifier and the cross-process assessment); default: generate.")
flags.DEFINE_enum("variant", "paper", list(config.VARIANTS), "paper: cGAN + L1 (Eq. 1), "
                  "lambda_L1 100, per-image max normalisation; original_code: D without the "
                  "condition, ReLU'd fakes, lambda_L1 400, both images / the fast maximum.")
flags.DEFINE_integer("epochs", 50, "Training epochs (original code: 50).", lower_bound=1)
flags.DEFINE_integer("num_train", 5000, "Training events (the first rows; paper: 5000).",
                     lower_bound=1)
flags.DEFINE_integer("num_test", 5000, "Held-out events after them (paper: 5000).",
                     lower_bound=1)
flags.DEFINE_integer("num_eval", None, "Held-out events assessed, and events of the other "
                     "process (default: --num_test).", lower_bound=1)
flags.DEFINE_integer("batch_size", 64, "Global mini-batch (original code: 64).", lower_bound=1)
flags.DEFINE_float("lambda_l1", None, "Weight of the L1 term of Eq. 1 (default: 100 for "
                   "--variant=paper, 400 for original_code).", lower_bound=0.0)
flags.DEFINE_float("learning_rate", 2e-4, "Adam's step for both networks (original code).",
                   lower_bound=0.0)
flags.DEFINE_integer("fid_events", 1000, "Training and test events of each Frechet-distance "
                     "evaluation, and events per process of the feature classifier.",
                     lower_bound=2)
flags.DEFINE_integer("fid_every", 1, "Epochs between Frechet-distance evaluations (paper Fig. "
                     "5: every epoch; 0: none).", lower_bound=0)
flags.DEFINE_integer("classifier_epochs", 10, "Most epochs of the feature classifier (the "
                     "best validation epoch is kept).", lower_bound=1)
flags.DEFINE_list("runtime_batch_sizes", ["1", "8", "64", "512"], "Batch sizes of the "
                  "assessment's inference timing (paper Fig. 13, CPU).")
flags.register_validator(
    "runtime_batch_sizes",
    lambda values: bool(values) and all(v.isdigit() and int(v) > 0 for v in values),
    message="--runtime_batch_sizes must be a comma-separated list of positive integers")
flags.DEFINE_bool("cross_process", True, "Also assess on the other process (paper §4).")
flags.DEFINE_integer("seed", 0, "Seed of the events, initialisation, order and noise.",
                     lower_bound=0)
flags.DEFINE_enum("strategy", "auto", list(training.STRATEGIES), "tf.distribute strategy.")
flags.DEFINE_integer("workers", 2, "Event-generation processes.", lower_bound=1)
flags.DEFINE_bool("evaluate", True, "Write the assessment (figures, metrics.json) at the end.")
flags.DEFINE_bool("progress", True, "Progress bars for the generation and the epochs.")


def main(argv):
    del argv
    models = config.variant(FLAGS.variant)
    changes = {"batch_size": FLAGS.batch_size, "learning_rate": FLAGS.learning_rate}
    if FLAGS.lambda_l1 is not None:
        changes["lambda_l1"] = FLAGS.lambda_l1
    models["training"] = dataclasses.replace(models["training"], **changes)
    experiment_config = config.CalpaganExperiment(
        workdir=FLAGS.workdir, process=FLAGS.process, data=FLAGS.data,
        other_data=FLAGS.other_data, num_train=FLAGS.num_train, num_test=FLAGS.num_test,
        num_eval=FLAGS.num_eval, epochs=FLAGS.epochs, seed=FLAGS.seed, strategy=FLAGS.strategy,
        workers=FLAGS.workers, progress=FLAGS.progress, evaluate=FLAGS.evaluate,
        cross_process=FLAGS.cross_process, fid_every=FLAGS.fid_every,
        fid_events=FLAGS.fid_events, classifier_epochs=FLAGS.classifier_epochs,
        runtime_batch_sizes=tuple(int(b) for b in FLAGS.runtime_batch_sizes), **models)
    cli.import_tensorflow()
    from caloml.calpagan import experiment

    experiment.train_and_evaluate(experiment_config)


if __name__ == "__main__":
    cli.run(main)
