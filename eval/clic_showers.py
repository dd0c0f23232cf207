"""Physics figures of the embedded ``clic`` simulator (paper 003 §2 geometry).

    python eval/clic_showers.py --output=clic_showers.json

Electron calibration and a/√E ⊕ b resolution, HCAL/ECAL of electrons and charged pions, the
paper's π± and π⁰ selections, reco-angle residuals and the incidence-angle slope of the layer
barycentres (the README's CLIC table). About 5 minutes on 2 cores with the defaults.
"""

from __future__ import annotations

from absl import flags, logging

from caloml import cli, outputs, reports

FLAGS = flags.FLAGS
flags.DEFINE_string("output", "clic_showers.json", "JSON file to write the figures to.")
flags.DEFINE_integer("num_showers", 512, "Showers per energy point.", lower_bound=16)
flags.DEFINE_integer("seed", 1, "Simulator seed.", lower_bound=0)
flags.DEFINE_integer("workers", 2, "Simulator worker processes.", lower_bound=1)


def main(argv):
    del argv
    result = reports.clic_validation(FLAGS.num_showers, FLAGS.seed, FLAGS.workers)
    outputs.write_json(FLAGS.output, result)
    logging.info("wrote %s: %s", FLAGS.output, result)


if __name__ == "__main__":
    cli.run(main)
