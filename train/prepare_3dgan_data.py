"""Makes a 3DGAN training file from a CLIC file: ``python train/prepare_3dgan_data.py``.

For example, from a Triforce_CaloML electron file or one written by ``caloml.sim``::

    python train/prepare_3dgan_data.py --input=EleEscan_1_1.h5 --output=Ele_3dgan_1.h5

The output holds the ECAL window, energy, theta, eta, the ECAL sum and the measured angle
mtheta (caloml.data.threedgan, measured along the beam axis y of the CLIC layout), as 3DGAN's
``misc/GetProcessedData.py`` writes them.
"""

from __future__ import annotations

from absl import flags, logging

from caloml import cli
from caloml.data import threedgan

FLAGS = flags.FLAGS
flags.DEFINE_string("input", None, "Input HDF5 file in the CLIC layout.", required=True)
flags.DEFINE_string("output", None, "Output HDF5 file in the 3DGAN layout.", required=True)
flags.DEFINE_integer("chunk_size", 500, "Events converted at a time (about 0.3 MB each).",
                     lower_bound=1)
flags.DEFINE_enum("compression", "gzip", ["gzip", "lzf", "none"], "HDF5 compression.")


def main(argv):
    del argv
    num_events = threedgan.convert_file(
        FLAGS.input, FLAGS.output, chunk_size=FLAGS.chunk_size,
        compression=None if FLAGS.compression == "none" else FLAGS.compression, progress=True,
    )
    logging.info("wrote %d events to %s", num_events, FLAGS.output)


if __name__ == "__main__":
    cli.run(main)
