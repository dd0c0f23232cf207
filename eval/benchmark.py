"""Measures the speed of a model (or the simulator) and writes it as JSON.

    python eval/benchmark.py --model=sim --output=benchmark_sim.json
    python eval/benchmark.py --model=sr_gan --output=benchmark_sr_gan.json
    python eval/benchmark.py --model=reco --output=benchmark_reco.json
    python eval/benchmark.py --model=calogan --output=benchmark_calogan.json
    python eval/benchmark.py --model=gan3d --output=benchmark_gan3d.json
    python eval/benchmark.py --model=jet_sr --output=benchmark_jet_sr.json
    python eval/benchmark.py --model=calpagan --output=benchmark_calpagan.json

``sim``: simulator throughput in showers/s per geometry (one and two worker processes in
memory, and end to end into gzip HDF5) against the project's targets (about 3 minutes with the
defaults). ``sr_gan`` (paper 000): the device's FP32 matmul rate, generator inference per batch
size (plain and XLA) against it, one training step of SRGANTrainer against a hand-written step,
the input-pipeline wait share, and the paper's training time projected on this device (about 5
minutes on two CPU cores). ``reco`` (paper 003 §5): inference showers/s of the DNN and CNN at
batch 1000 and of GoogLeNet at a small batch (in micro-batches) against the FP32 matmul rate,
GoogLeNet's activation memory at batch 1000, fit and prediction times of the BDT baselines,
the resampler's showers/s on one core, and the peak memory of streaming files of 4 and 8 shuffle
buffers (about 5 minutes on two CPU cores). ``calogan`` (paper 004): generator ms/shower at the
slides' batch sizes against the FP32 matmul rate and beside the slides' runtime table, the
forward+backward time of the CaloGAN's locally-connected layers against a Conv2D of the same
shapes, and one training step of CaloGANTrainer against a hand-written step (about 5 minutes on
two CPU cores). ``gan3d`` (paper 003 §4): generator ms/shower at batch 1, 64, 256, 1024 against
the FP32 matmul rate and beside the paper's 13 ms / 4 ms and Geant4's 17 s, one training step of
Gan3DTrainer against a hand-written step, and the peak memory of streaming files of 1 and 4
shuffle buffers (about 15 minutes on two CPU cores). ``jet_sr`` (paper 001): Pythia 8 jet
generation (qcd and top, 1 and 2 worker processes) as jets/s, ms per event and acceptance beside
the issue's 22 ms per tt̄ event on one core, the super-resolution generator's images/s at batch 1,
32, 256 against the FP32 matmul rate, and one training step of JetSRTrainer against a
hand-written step (7–9 minutes on two CPU cores). ``calpagan`` (paper 002): Pythia 8 alone and the
fast and detailed renderings of its events as ms/event on one core, the whole event generation
with 1 and 2 worker processes as events/s against the issue's 30 events/s on 2 cores, the
exported fast → detailed translation's ms/event at batch 1, 64, 512 against the FP32 matmul rate
(paper Fig. 13), and one training step of CalpaganTrainer against a hand-written step.
"""

from __future__ import annotations

from absl import flags, logging

from caloml import cli, outputs
from caloml.errors import UsageError
from caloml.simreport import benchmark as sim_benchmark

MODELS = ("sim", "sr_gan", "reco", "calogan", "gan3d", "jet_sr", "calpagan")
# The reconstruction networks (caloml.reco.config.NETWORKS; not imported: --help stays light).
RECO_NETWORKS = ("dnn", "cnn", "googlenet")

FLAGS = flags.FLAGS
flags.DEFINE_enum("model", "sr_gan", list(MODELS), "What is timed: the simulator or a model.")
flags.DEFINE_string("output", None, "JSON file to write; default benchmark_<model>.json.")
flags.DEFINE_integer("seed", 1, "Seed of the simulator, the weights and the random inputs.",
                     lower_bound=0)
flags.DEFINE_integer("repeats", None, "Repeats of every measurement; the fastest counts "
                     "(default: 1 for sim, 3 for sr_gan, reco and calogan, 2 for gan3d and "
                     "jet_sr).",
                     lower_bound=1)
# --model=sim
flags.DEFINE_integer("num_showers", 5000, "sim: showers per configuration.", lower_bound=1)
flags.DEFINE_multi_enum("geometry", list(sim_benchmark.GRIDS), list(sim_benchmark.GRIDS),
                        "sim: geometries to time (repeat the flag for several).")
# --model=sr_gan
flags.DEFINE_integer("steps", 5, "sr_gan, calogan, gan3d, jet_sr, calpagan: timed training "
                     "steps per repeat (calogan's and calpagan's default: 3, gan3d's and "
                     "jet_sr's: 2).", lower_bound=1)
flags.DEFINE_list("batch_sizes", ["1", "32", "256", "1024"], "sr_gan, calogan, gan3d, jet_sr, "
                  "calpagan: inference batch sizes (calogan's default: the slides' "
                  "1,4,128,512,1024; gan3d's: 1,64,256,1024; jet_sr's: 1,32,256; calpagan's: "
                  "1,64,512).")
flags.DEFINE_integer("matmul_size", 4096, "sr_gan, reco, calogan, gan3d, jet_sr, calpagan: n of "
                     "the n×n matmul giving the FP32 rate.", lower_bound=1)
# --model=calogan, gan3d, jet_sr
flags.DEFINE_integer("train_batch_size", None, "calogan, gan3d, jet_sr, calpagan: batch of the "
                     "timed training steps (default 64 for calogan, whose paper trains at 256, "
                     "8 for gan3d, whose paper-size step at 64 takes about a minute on a CPU, "
                     "4 for jet_sr, timed with 2 RRDBs and the original code's "
                     "discriminators, and 16 for calpagan, whose original code trains at 64).",
                     lower_bound=1)
# --model=calpagan
flags.DEFINE_integer("num_events", 512, "calpagan: events generated per process (wjets, dijet) "
                     "and worker count (1, 2).", lower_bound=1)
# --model=jet_sr
flags.DEFINE_integer("num_jets", 256, "jet_sr: selected jets generated per process (qcd, top) "
                     "and worker count (1, 2).", lower_bound=1)
# --model=gan3d
flags.DEFINE_enum("architecture", "anglegan", ["anglegan", "paper_text", "energygan"],
                  "gan3d: the networks timed.")
# --model=reco
flags.DEFINE_multi_enum("network", list(RECO_NETWORKS), list(RECO_NETWORKS),
                        "reco: networks to time (repeat the flag for several).")
flags.DEFINE_integer("batch_size", 1000, "reco: inference batch of the DNN and CNN (paper §5.2: "
                     "1000), batch of the streamed pipeline.", lower_bound=1)
flags.DEFINE_integer("googlenet_batch_size", 10, "reco: GoogLeNet's inference batch (about 1 s "
                     "per shower on a CPU), run in micro-batches of 10.", lower_bound=1)
flags.DEFINE_integer("num_train", 1000, "reco: simulated training events per particle (γ, π⁰) "
                     "of the BDT timings.", lower_bound=1)
flags.DEFINE_integer("shuffle_buffer", None, "reco, gan3d: events in the shuffle buffer of the "
                     "streamed pipeline (reco: 1024, its files hold 4 and 8 buffers; gan3d: 256, "
                     "its files 1 and 4).", lower_bound=1)
flags.register_validator(
    "batch_sizes",
    lambda values: bool(values) and all(v.isdigit() and int(v) > 0 for v in values),
    message="--batch_sizes must be a comma-separated list of positive integers",
)

# Flags that only some --model values use.
_MODEL_FLAGS = {"sim": ("num_showers", "geometry"),
                "sr_gan": ("steps", "batch_sizes", "matmul_size"),
                "reco": ("network", "batch_size", "googlenet_batch_size", "num_train",
                         "shuffle_buffer", "matmul_size"),
                "calogan": ("steps", "batch_sizes", "matmul_size", "train_batch_size"),
                "gan3d": ("steps", "batch_sizes", "matmul_size", "train_batch_size",
                          "shuffle_buffer", "architecture"),
                "jet_sr": ("steps", "batch_sizes", "matmul_size", "train_batch_size",
                           "num_jets"),
                "calpagan": ("steps", "batch_sizes", "matmul_size", "train_batch_size",
                             "num_events")}


def _benchmark_sim():
    result = sim_benchmark.benchmark_simulator(
        sim_benchmark.standard_configs(FLAGS.geometry), FLAGS.num_showers, seed=FLAGS.seed,
        repeats=FLAGS.repeats or 1,
    )
    logging.info("simulator throughput (%s):\n%s", result["machine"]["platform"],
                 sim_benchmark.format_table(result))
    logging.info("all targets %s", "met" if result["all_passed"] else "NOT met")
    return result


def _benchmark_sr_gan():
    cli.import_tensorflow()
    from caloml.srgan import benchmark

    settings = benchmark.BenchmarkSettings(
        batch_sizes=tuple(int(b) for b in FLAGS.batch_sizes), steps=FLAGS.steps,
        repeats=FLAGS.repeats or 3, matmul_size=FLAGS.matmul_size, seed=FLAGS.seed,
    )
    result = benchmark.benchmark_srgan(settings)
    logging.info("sr_gan speed:\n%s", benchmark.format_summary(result))
    return result


def _benchmark_reco():
    cli.import_tensorflow()
    from caloml.reco import benchmark

    settings = benchmark.BenchmarkSettings(
        networks=tuple(dict.fromkeys(FLAGS.network)), batch_size=FLAGS.batch_size,
        googlenet_batch_size=FLAGS.googlenet_batch_size, repeats=FLAGS.repeats or 3,
        matmul_size=FLAGS.matmul_size, num_train=FLAGS.num_train,
        shuffle_buffer=FLAGS.shuffle_buffer or 1024, seed=FLAGS.seed,
    )
    result = benchmark.benchmark_reco(settings)
    logging.info("reco speed:\n%s", benchmark.format_summary(result))
    return result


def _benchmark_calogan():
    cli.import_tensorflow()
    from caloml.calogan import benchmark, config

    # --batch_sizes and --steps default to sr_gan's values; calogan's are the slides' batch sizes
    # and the steps that keep the paper-size networks' run near 5 minutes on two CPU cores.
    batch_sizes = (tuple(int(b) for b in FLAGS.batch_sizes) if FLAGS["batch_sizes"].present
                   else config.RUNTIME_BATCH_SIZES)
    settings = benchmark.BenchmarkSettings(
        batch_sizes=batch_sizes, steps=FLAGS.steps if FLAGS["steps"].present else 3,
        repeats=FLAGS.repeats or 3, matmul_size=FLAGS.matmul_size, seed=FLAGS.seed,
        gan=config.CaloGANConfig(batch_size=FLAGS.train_batch_size or 64),
    )
    result = benchmark.benchmark_calogan(settings)
    logging.info("calogan speed:\n%s", benchmark.format_summary(result))
    return result


def _benchmark_gan3d():
    cli.import_tensorflow()
    from caloml.gan3d import benchmark

    defaults = benchmark.BenchmarkSettings()
    settings = benchmark.BenchmarkSettings(
        architecture=FLAGS.architecture,
        batch_sizes=(tuple(int(b) for b in FLAGS.batch_sizes) if FLAGS["batch_sizes"].present
                     else defaults.batch_sizes),
        steps=FLAGS.steps if FLAGS["steps"].present else defaults.steps,
        repeats=FLAGS.repeats or defaults.repeats, matmul_size=FLAGS.matmul_size,
        seed=FLAGS.seed, train_batch_size=FLAGS.train_batch_size or defaults.train_batch_size,
        shuffle_buffer=FLAGS.shuffle_buffer or defaults.shuffle_buffer,
    )
    result = benchmark.benchmark_gan3d(settings)
    logging.info("gan3d speed:\n%s", benchmark.format_summary(result))
    return result


def _benchmark_jet_sr():
    cli.import_tensorflow()
    from caloml.jet_sr import benchmark

    defaults = benchmark.BenchmarkSettings()
    settings = benchmark.BenchmarkSettings(
        num_jets=FLAGS.num_jets,
        batch_sizes=(tuple(int(b) for b in FLAGS.batch_sizes) if FLAGS["batch_sizes"].present
                     else defaults.batch_sizes),
        steps=FLAGS.steps if FLAGS["steps"].present else defaults.steps,
        repeats=FLAGS.repeats or defaults.repeats, matmul_size=FLAGS.matmul_size,
        seed=FLAGS.seed, train_batch_size=FLAGS.train_batch_size or defaults.train_batch_size,
    )
    result = benchmark.benchmark_jet_sr(settings)
    logging.info("jet_sr speed:\n%s", benchmark.format_summary(result))
    return result


def _benchmark_calpagan():
    cli.import_tensorflow()
    from caloml.calpagan import benchmark

    defaults = benchmark.BenchmarkSettings()
    settings = benchmark.BenchmarkSettings(
        num_events=FLAGS.num_events,
        batch_sizes=(tuple(int(b) for b in FLAGS.batch_sizes) if FLAGS["batch_sizes"].present
                     else defaults.batch_sizes),
        steps=FLAGS.steps if FLAGS["steps"].present else defaults.steps,
        repeats=FLAGS.repeats or defaults.repeats, matmul_size=FLAGS.matmul_size,
        seed=FLAGS.seed, train_batch_size=FLAGS.train_batch_size or defaults.train_batch_size,
    )
    result = benchmark.benchmark_calpagan(settings)
    logging.info("calpagan speed:\n%s", benchmark.format_summary(result))
    return result


_BENCHMARKS = {"sim": _benchmark_sim, "sr_gan": _benchmark_sr_gan, "reco": _benchmark_reco,
               "calogan": _benchmark_calogan, "gan3d": _benchmark_gan3d,
               "jet_sr": _benchmark_jet_sr, "calpagan": _benchmark_calpagan}


def main(argv):
    del argv
    for name in dict.fromkeys(n for names in _MODEL_FLAGS.values() for n in names):
        models = [model for model, names in _MODEL_FLAGS.items() if name in names]
        if FLAGS[name].present and FLAGS.model not in models:
            named = [f"--model={m}" for m in models]
            listed = " or ".join(filter(None, [", ".join(named[:-1]), named[-1]]))
            raise UsageError(f"--{name} is an option of {listed} only")
    output = FLAGS.output or f"benchmark_{FLAGS.model}.json"
    cli.check_output_flag("output", output)
    result = _BENCHMARKS[FLAGS.model]()
    outputs.write_json(output, result)
    logging.info("wrote %s", output)


if __name__ == "__main__":
    cli.run(main)
