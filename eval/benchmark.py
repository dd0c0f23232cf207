"""Measures the speed of a model's networks and writes it as JSON.

    python eval/benchmark.py --model=sr_gan --output=benchmark_sr_gan.json

For ``sr_gan`` (paper 000): the device's FP32 matmul rate, generator inference per batch size
(plain and XLA) against it, one training step of SRGANTrainer against a hand-written step,
the input-pipeline wait share, and the paper's training time projected on this device. The
whole run takes about 5 minutes on two CPU cores.
"""

from __future__ import annotations

from absl import flags, logging

from caloml import benchmarks_srgan, cli, outputs
from caloml.data import hdf5

FLAGS = flags.FLAGS
flags.DEFINE_enum("model", "sr_gan", ["sr_gan"], "Model whose networks are timed.")
flags.DEFINE_string("output", None, "JSON file to write; default benchmark_<model>.json.")
flags.DEFINE_integer("steps", 5, "Timed training steps per repeat.", lower_bound=1)
flags.DEFINE_integer("repeats", 3, "Repeats of every measurement; the fastest counts.",
                     lower_bound=1)
flags.DEFINE_integer("seed", 1, "Seed of the weights and the random inputs.", lower_bound=0)
flags.DEFINE_list("batch_sizes", ["1", "32", "256", "1024"], "Inference batch sizes.")
flags.DEFINE_integer("matmul_size", 4096, "n of the n×n matmul giving the FP32 rate.",
                     lower_bound=1)
flags.register_validator(
    "batch_sizes",
    lambda values: bool(values) and all(v.isdigit() and int(v) > 0 for v in values),
    message="--batch_sizes must be a comma-separated list of positive integers",
)


def main(argv):
    del argv
    output = FLAGS.output or f"benchmark_{FLAGS.model}.json"
    try:
        hdf5.check_writable(output)
    except OSError as e:
        raise cli.UsageError(f"--output: {e}") from None
    settings = benchmarks_srgan.BenchmarkSettings(
        batch_sizes=tuple(int(b) for b in FLAGS.batch_sizes), steps=FLAGS.steps,
        repeats=FLAGS.repeats, matmul_size=FLAGS.matmul_size, seed=FLAGS.seed,
    )
    result = benchmarks_srgan.benchmark_srgan(settings)
    outputs.write_json(output, result)
    logging.info("%s speed:\n%s", FLAGS.model, benchmarks_srgan.format_summary(result))
    logging.info("wrote %s", output)


if __name__ == "__main__":
    cli.run(main)
