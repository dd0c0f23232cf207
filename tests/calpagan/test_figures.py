"""What the CALPAGAN figures show: panels, curves, labels and the data drawn."""

import matplotlib.colors as mcolors
import numpy as np
import pytest

from caloml.calpagan import figures
from caloml.events import observables as event_obs
from caloml.events import towers


def _stairs(ax):
    return [p for p in ax.patches if hasattr(p, "get_data")]


def _visible(fig):
    return [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]


def test_observable_labels():
    assert figures.observable_label("jet2_tau1") == r"jet 2 $\tau_1$"
    assert figures.observable_label("jet1_two_point_moment") == "jet 1 two-point moment"
    assert figures.observable_label("delta_phi") == r"$\Delta\phi$(jet 1, jet 2)"
    assert figures.chi2_legend_title({"fast-detailed": 12.34, "detailed-calpagan": 4.0,
                                      "fast-calpagan": float("nan")}) == "χ² D–G 12.3, G–C 4.0"


def test_event_examples_show_events_above_their_jets(captured_figures):
    rng = np.random.default_rng(0)
    images = {s: rng.exponential(1.0, (2, *towers.IMAGE_SHAPE)) * (
        rng.random((2, *towers.IMAGE_SHAPE)) < 0.05) for s in figures.SAMPLES}
    for sample in figures.SAMPLES:
        images[sample][:, 40, 20] += 150.0
    jets = {s: event_obs.cluster_jets(v) for s, v in images.items()}
    paths = figures.plot_event_examples(images, jets, "events", title="W+jets")
    assert paths == ["events.png", "events.pdf"]
    fig = captured_figures[0]
    panels = [ax for ax in _visible(fig) if ax.collections]
    assert len(panels) == 2 * 2 * 3  # 2 events x (event row, jet row) x 3 samples
    assert panels[1].get_title().startswith("event 1: detailed simulation (G)")
    assert (panels[0].get_xlabel(), panels[0].get_ylabel()) == (r"$\eta$", r"$\phi$ [rad]")
    # Event row: the image (eta right, phi up) with empty towers masked.
    mesh = panels[0].collections[0]
    np.testing.assert_allclose(mesh.get_array().filled(0.0).reshape(72, 72),
                               images["fast"][0].T)
    np.testing.assert_allclose(mesh.get_coordinates()[0, :, 0], towers.ETA_EDGES)
    # Jet row below it: only the towers of the trimmed jets.
    jet_mesh = panels[3].collections[0].get_array().filled(0.0).reshape(72, 72)
    expected = np.where(jets["fast"]["tower_jet"][0] >= 0, images["fast"][0], 0.0)
    np.testing.assert_allclose(jet_mesh, expected.T)
    assert panels[3].get_title() == f"jets: {jets['fast']['pt'][0, 0]:.0f} GeV"
    circles = [p for p in panels[3].patches if hasattr(p, "get_radius")]
    assert len(circles) == 1 and circles[0].get_radius() == event_obs.JET_RADIUS
    assert circles[0].center == pytest.approx((jets["fast"]["eta"][0, 0],
                                               jets["fast"]["phi"][0, 0]))
    assert not [p for p in panels[0].patches if hasattr(p, "get_radius")]
    norms = [ax.collections[0].norm for ax in panels[:6]]
    assert all(isinstance(n, mcolors.LogNorm) for n in norms)
    assert len({n.vmax for n in norms}) == 1  # one scale per example
    assert fig.get_suptitle().endswith("(W+jets)")


def test_observables_carry_chi2_in_the_legends(captured_figures):
    rng = np.random.default_rng(1)
    keys = list(event_obs.EVENT_OBSERVABLES)
    observables = {s: {k: rng.normal(i, 1.0, 80) for k in keys}
                   for i, s in enumerate(figures.SAMPLES)}
    observables["calpagan"]["jet2_phi"] = np.full(80, np.nan)  # no second jet anywhere
    for sample in figures.SAMPLES:
        observables[sample]["jet2_phi"] = np.full(80, np.nan)
    chi2 = {k: {"fast-detailed": 1.0, "detailed-calpagan": 2.0, "fast-calpagan": 3.0}
            for k in keys}
    figures.plot_observables(observables, chi2, "obs", title="dijet")
    fig = captured_figures[0]
    axes = _visible(fig)
    assert len(axes) == len(keys) == 18
    first = axes[0]
    assert first.get_xlabel() == r"jet 1 $\tau_1$"
    assert len(_stairs(first)) == 3
    legend = first.get_legend()
    assert legend.get_title().get_text() == "χ² D–G 1.0, G–C 2.0, D–C 3.0"
    assert [t.get_text() for t in legend.get_texts()] == [
        "fast sim. (D)", "detailed sim. (G)", "CALPAGAN (C)"]
    # Fractions of the events per bin: each sample sums to 1 (values beyond go to end bins).
    for stairs in _stairs(first):
        assert stairs.get_data().values.sum() == pytest.approx(1.0)
    empty = axes[keys.index("jet2_phi")]
    assert not _stairs(empty) and "not recorded" in empty.texts[0].get_text()


def test_frechet_history_train_solid_test_dashed(captured_figures):
    entries = [{"epoch": e, "train": {p: 10.0 / (e + 1) * (k + 1)
                                      for k, p in enumerate(figures.PAIRS)},
                "test": {p: 20.0 / (e + 1) for p in figures.PAIRS}} for e in (2, 0, 1)]
    entries[0]["test"]["fast-calpagan"] = None  # not measured that epoch
    figures.plot_frechet_history(entries, "fid")
    ax = captured_figures[0].axes[0]
    lines = ax.get_lines()
    assert len(lines) == 6
    assert [line.get_label() for line in lines] == [
        "D–G (train)", "G–C (train)", "D–C (train)", "D–G (test)", "G–C (test)", "D–C (test)"]
    assert [line.get_linestyle() for line in lines] == ["-"] * 3 + ["--"] * 3
    np.testing.assert_array_equal(lines[0].get_xdata(), [0, 1, 2])  # sorted by epoch
    np.testing.assert_allclose(lines[1].get_ydata(), [20.0, 10.0, 20.0 / 3])
    assert np.isnan(lines[5].get_ydata()[2])
    assert ax.get_yscale() == "log"


def test_losses_per_epoch(captured_figures):
    history = [{"epoch": 1, "generator_loss": 5.0, "discriminator_loss": 0.7, "l1_loss": 0.01},
               {"epoch": 2, "generator_loss": 4.0, "discriminator_loss": 0.5, "l1_loss": 0.008}]
    figures.plot_losses(history, "losses")
    lines = captured_figures[0].axes[0].get_lines()
    assert [line.get_label() for line in lines] == [
        "discriminator loss", "generator loss", "generator: L1 part"]
    np.testing.assert_allclose(lines[1].get_ydata(), [5.0, 4.0])
    with pytest.raises(ValueError, match="at least one loss"):
        figures.plot_losses([{"epoch": 1, "accuracy": 0.5}], "none")


def test_inference_time_log_log(captured_figures):
    runtime = {"device": "cpu", "rows": [
        {"batch_size": 64, "ms_per_event": 2.0, "ms_per_event_all": [1.8, 2.0, 2.5]},
        {"batch_size": 1, "ms_per_event": 9.0, "ms_per_event_all": [9.0]}]}
    figures.plot_inference_time(runtime, "runtime")
    ax = captured_figures[0].axes[0]
    line = ax.get_lines()[0]
    np.testing.assert_array_equal(line.get_xdata(), [1, 64])
    np.testing.assert_array_equal(line.get_ydata(), [9.0, 2.0])
    assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log")
    assert ax.get_legend().get_texts()[0].get_text().startswith("CALPAGAN, CPU")
