"""The resampling study's work directory (eval/resample.py) and its example figure."""

import json
import math

import numpy as np
import pytest
from clic_tiny import gaussian_shower

from caloml.data import resample
from caloml.io import hdf5, schema
from caloml.reco import figures, resampling


@pytest.mark.parametrize("name, num_target_layers", [("atlas", 3), ("cms", 1)])
def test_example_figure_shows_before_target_and_after(captured_figures, tmp_path, name,
                                                      num_target_layers):
    ecal = gaussian_shower(1)[0]
    figures.plot_resampling_example(ecal, name, tmp_path / "example", event=3)
    (fig,) = captured_figures
    # The panels come first in fig.axes, their colour bars after them.
    panels = fig.axes[:num_target_layers + 2]
    assert len(fig.axes) == 2 * len(panels)
    images = [ax.images[0] for ax in panels]
    operator = resample.resampler(name)
    readout = operator.to_target(ecal[None])
    after = operator.apply(ecal[None])[0]
    sums = [float(im.get_array().sum()) for im in images]
    assert sums == pytest.approx([ecal.sum(), *(r.sum() for r in readout), after.sum()],
                                 rel=1e-5)
    for image, (nx, ny) in zip(images[1:-1], operator.target_shapes, strict=True):
        assert image.get_array().shape == (ny, nx)
    titles = [ax.get_title() for ax in panels]
    assert titles[0] == "CLIC, summed over depth"
    assert titles[-1] == "back on CLIC, summed over depth"
    assert titles[1].startswith(f"{name} layer 1 (CLIC layers 0-")
    assert "event 3" in fig.get_suptitle()


def test_resample_report_simulates_and_writes_every_output(captured_figures, tmp_path):
    metrics = resampling.resample_report(tmp_path / "run", "cms", num_showers=4, seed=2,
                                         timing_showers=4)
    run = tmp_path / "run"
    assert sorted(p.name for p in run.iterdir()) == [
        "config.json", "data", "metrics.json", "photon_cms.h5", "plots"]
    config = json.loads((run / "config.json").read_text())
    assert (config["target"], config["simulated"], config["num_showers"], config["seed"]) == (
        "cms", True, 4, 2)
    assert config["data"] == str(run / "data" / "photon.h5")
    assert json.loads((run / "metrics.json").read_text()) == metrics
    before = hdf5.read_arrays(run / "data" / "photon.h5", schema.CLIC, keys=["ECAL"])["ECAL"]
    after = hdf5.read_arrays(run / "photon_cms.h5", schema.CLIC, keys=["ECAL"])["ECAL"]
    expected = resample.energy_metrics(before.sum(axis=(1, 2, 3), dtype=np.float64),
                                       after.sum(axis=(1, 2, 3), dtype=np.float64))
    assert {k: metrics[k] for k in expected} == pytest.approx(expected)
    assert metrics["example_event"] == int(np.argmax(before.sum(axis=(1, 2, 3))))
    assert metrics["idempotency_defect"] == pytest.approx(0.4929, abs=1e-4)
    assert metrics["target_grid"] == [[19, 19]]
    assert math.isfinite(metrics["showers_per_s"]) and metrics["showers_per_s"] > 0
    assert len(captured_figures) == 1
