"""Assesses trained jet super-resolution networks: ``python eval/jet_sr.py --workdir=runs/jet_sr``.

With ``--workdir``: the paper's Figs 4–7 on held-out jets of the trained process (average
images, leading-constituent spectra, average f×f patches, m_jet, w_pf, C_0.2, τ_N, the per-jet
(HR−LR)/HR vs (HR−SR)/HR and the fraction of jets SR improves), Figs 8–9 on the other process
and Fig. 6 (HR vs LR2/4/8); writes --workdir/metrics.json and --workdir/plots
(train/jet_sr.py runs this at the end too). With ``--scan=DIR1,DIR2,...`` (runs with different
``--num_rrdb``): Fig. 11, the Wasserstein distance of the leading constituents vs the number of
RRDBs, into --output.
"""

from __future__ import annotations

from absl import flags

from caloml import cli
from caloml.errors import UsageError

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "Work directory of train/jet_sr.py to assess.")
flags.DEFINE_list("scan", None, "Work directories of runs with different --num_rrdb (Fig. 11).")
flags.DEFINE_string("output", "runs/jet_sr_rrdb_scan", "--scan: where rrdb_scan.json and "
                    "plots/ go.")


def main(argv):
    del argv
    if (FLAGS.workdir is None) == (FLAGS.scan is None):
        raise UsageError("give either --workdir (one run) or --scan (runs with different "
                         "--num_rrdb)")
    cli.import_tensorflow()
    from caloml.jet_sr import experiment

    if FLAGS.scan is not None:
        experiment.rrdb_scan(FLAGS.scan, FLAGS.output)
    else:
        experiment.evaluate_workdir(FLAGS.workdir)


if __name__ == "__main__":
    cli.run(main)
