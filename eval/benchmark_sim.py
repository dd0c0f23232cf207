"""Measures the throughput of the embedded simulator and writes it as JSON.

    python eval/benchmark_sim.py --output=benchmark_sim.json --num_showers=5000

Times, with one and two worker processes in memory and once per particle end to end into a
gzip HDF5 file (``caloml.benchmarks.GRIDS``): srgamma photons and pi0 at 20 and 50 GeV (targets
1500 showers/s per core, 3000 with two workers), and calogan positrons, photons and π⁺ at uniform
1-100 GeV (targets 2500 per core, 5000 with two workers).
"""

from __future__ import annotations

from absl import flags, logging

from caloml import benchmarks, cli, outputs
from caloml.data import hdf5

FLAGS = flags.FLAGS
flags.DEFINE_string("output", "benchmark_sim.json", "JSON file to write the results to.")
flags.DEFINE_integer("num_showers", 5000, "Showers per configuration.", lower_bound=1)
flags.DEFINE_integer("seed", 1, "Simulator seed.", lower_bound=0)
flags.DEFINE_integer("repeats", 1, "Runs per configuration; the fastest counts.", lower_bound=1)
flags.DEFINE_multi_enum("geometry", list(benchmarks.GRIDS), list(benchmarks.GRIDS),
                        "Geometries to time (repeat the flag for several).")


def main(argv):
    del argv
    try:
        hdf5.check_writable(FLAGS.output)
    except OSError as e:
        raise cli.UsageError(f"--output: {e}") from None
    configs = benchmarks.standard_configs(FLAGS.geometry)
    result = benchmarks.benchmark_simulator(
        configs, FLAGS.num_showers, seed=FLAGS.seed, repeats=FLAGS.repeats
    )
    outputs.write_json(FLAGS.output, result)
    logging.info("simulator throughput (%s):\n%s", result["machine"]["platform"],
                 benchmarks.format_table(result))
    logging.info("wrote %s; all targets %s", FLAGS.output,
                 "met" if result["all_passed"] else "NOT met")


if __name__ == "__main__":
    cli.run(main)
