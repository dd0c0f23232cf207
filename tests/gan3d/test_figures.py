"""What the 3DGAN assessment figures show: data, labels, panels."""

import math
import os

import matplotlib.colors as mcolors
import numpy as np
import pytest

from caloml.gan3d import evaluation, figures


def _stairs(ax):
    return [p for p in ax.patches if hasattr(p, "get_data")]


def _image_axes(fig):
    return [ax for ax in fig.axes if ax.images]


def _histogram(rng, shift=0.0):
    return evaluation.compare(rng.normal(0, 1, 200), rng.normal(shift, 1, 150))[1]


def test_bin_labels():
    assert figures.bin_label("62deg") == "θ ≈ 62°"
    assert figures.bin_label("all") == "all events"
    assert figures.bin_label("110") == "110 GeV"


def test_example_showers_show_both_projections_side_by_side(captured_figures):
    rng = np.random.default_rng(0)
    simulated = rng.exponential(size=(2, 5, 6, 7)) * (rng.random((2, 5, 6, 7)) < 0.5)
    generated = 2 * simulated[::-1]
    paths = figures.plot_example_showers(simulated, generated, ["100 GeV, 60°", "200 GeV, 120°"],
                                         "examples", title="test")
    assert paths == ["examples.png", "examples.pdf"]
    axes = _image_axes(captured_figures[0])
    assert len(axes) == 8
    assert [ax.get_title() for ax in axes[:4]] == [
        "simulator: 100 GeV, 60°", "3DGAN: 100 GeV, 60°", "simulator: 100 GeV, 60°",
        "3DGAN: 100 GeV, 60°"]
    # y–z: rows y, columns the layers; x–y: rows y, columns x.
    np.testing.assert_allclose(axes[0].images[0].get_array().filled(0.0),
                               simulated[0].sum(axis=0))
    assert (axes[0].get_xlabel(), axes[0].get_ylabel()) == ("z (layer)", "y [cell]")
    np.testing.assert_allclose(axes[7].images[0].get_array().filled(0.0),
                               generated[1].sum(axis=2).T)
    assert axes[7].get_xlabel() == "x [cell]"
    assert isinstance(axes[4].images[0].norm, mcolors.LogNorm)
    assert axes[4].images[0].norm.vmax == axes[5].images[0].norm.vmax == pytest.approx(
        max(simulated[1].sum(axis=0).max(), generated[1].sum(axis=0).max()))
    with pytest.raises(ValueError, match="need K >= 1"):
        figures.plot_example_showers(simulated, generated[:1], ["a", "b"], "bad")


def test_sampling_fraction_panels_per_angle_bin(captured_figures):
    edges = np.array([100.0, 150.0, 200.0])
    profiles = {
        "62deg": evaluation.binned_means(np.array([110.0, 120.0, 180.0]), {
            "simulator": np.array([0.9, 1.0, 0.95]), "gan": np.array([0.8, 0.8, 0.9])}, edges),
        "90deg": evaluation.binned_means(np.array([160.0]), {
            "simulator": np.array([0.94]), "gan": np.array([0.93])}, edges),
    }
    figures.plot_sampling_fraction(profiles, "sf")
    first, second = captured_figures[0].axes
    assert first.get_title() == "θ ≈ 62° (3 showers)"
    assert second.get_title() == "θ ≈ 90° (1 showers)"
    simulator_line, gan_line = (container[0] for container in first.containers)
    np.testing.assert_allclose(simulator_line.get_xdata(), [125.0, 175.0])
    np.testing.assert_allclose(simulator_line.get_ydata(), [0.95, 0.95])
    np.testing.assert_allclose(gan_line.get_ydata(), [0.8, 0.9])
    assert first.get_ylabel() == r"$E_\mathrm{ECAL}$ / $E$"
    assert [t.get_text() for t in first.get_legend().get_texts()] == ["simulator", "3DGAN"]


def test_hit_second_moment_and_fraction_panels_show_both_histograms(captured_figures):
    rng = np.random.default_rng(1)
    hits = {"62deg": _histogram(rng), "90deg": None, "118deg": _histogram(rng, 1.0)}
    figures.plot_hits(hits, "hits", threshold=3e-4)
    axes = captured_figures[0].axes
    assert len(axes) == 3
    simulator, gan = _stairs(axes[0])
    np.testing.assert_allclose(simulator.get_data()[0], hits["62deg"]["simulator"] / 200)
    np.testing.assert_allclose(gan.get_data()[0], hits["62deg"]["gan"] / 150)
    assert simulator.get_fill() and not gan.get_fill()
    assert axes[0].get_xlabel() == "hits above 0.0003, θ ≈ 62°"
    assert axes[0].get_title() == f"separation power {hits['62deg']['separation_power']:.3g}"
    assert axes[1].texts[0].get_text().endswith("not recorded") and not axes[1].patches
    moments = {f"second_moment_{a}": _histogram(rng) for a in "xyz"}
    figures.plot_second_moments(moments, "moments")
    assert [ax.get_xlabel() for ax in captured_figures[1].axes][2] == (
        r"$\langle (z - \bar z)^2 \rangle$ [layer$^2$]")
    thirds = {f"longitudinal_fraction_{k}": _histogram(rng) for k in (1, 2, 3)}
    figures.plot_longitudinal_fractions(thirds, "thirds", title="100–200 GeV")
    assert len(captured_figures[2].axes) == 3
    assert captured_figures[2].get_suptitle() == "longitudinal energy fractions (100–200 GeV)"


def test_profiles_draw_mean_energy_per_cell_linear_and_log(captured_figures):
    profile = {axis: {"simulator": np.array([1.0, 4.0, 0.0]), "gan": np.array([2.0, 3.0, 0.5])}
               for axis in "xyz"}
    figures.plot_profiles({"62deg": profile, "90deg": None}, "profiles")
    axes = captured_figures[0].axes
    assert len(axes) == 6
    simulator, gan = _stairs(axes[1])
    np.testing.assert_array_equal(simulator.get_data()[0], [1.0, 4.0, 0.0])
    np.testing.assert_array_equal(simulator.get_data()[1], [-0.5, 0.5, 1.5, 2.5])
    assert axes[1].get_xlabel() == "y [cell]" and axes[2].get_xlabel() == "z (layer)"
    assert axes[3].texts[0].get_text() == "x profile: not recorded"
    assert axes[0].get_yscale() == "linear"
    figures.plot_profiles({"all": profile}, "profiles_log", log=True)
    assert all(ax.get_yscale() == "log" for ax in captured_figures[1].axes)
    assert captured_figures[1].get_suptitle() == "shower profiles (log scale)"


def test_relative_errors_per_energy_bin(captured_figures):
    entry = {"moments": {"per_order": np.array([0.01, 0.2])},
             "projections": {"per_axis": np.array([0.1, 0.2, 0.3]), "total": 0.2}}
    relative = {"all": entry, "110": {"moments": None, "projections": None},
                "150": {"moments": {"per_order": np.array([0.02, 0.4])},
                        "projections": {"per_axis": np.array([0.3, 0.2, 0.1]), "total": 0.2}}}
    figures.plot_relative_errors(relative, "relative")
    left, right = captured_figures[0].axes
    assert [t.get_text() for t in left.get_xticklabels()] == ["all events", "150 GeV"]
    assert len(left.lines) == 2 and len(right.lines) == 4
    np.testing.assert_allclose(left.lines[1].get_ydata(), [0.2, 0.4])
    np.testing.assert_allclose(right.lines[0].get_ydata(), [0.1, 0.3])
    assert [t.get_text() for t in left.get_legend().get_texts()] == [
        "moment 1 (barycentre)", "moment 2"]


def test_measured_angle_against_requested(captured_figures):
    requested = np.radians([60.0, 60.0, 120.0, 120.0, 90.0])
    measured = np.radians([62.0, 64.0, 118.0, 116.0, np.nan])
    figures.plot_measured_angle(requested, measured, "angle", num_bins=2)
    left, right = captured_figures[0].axes
    points = left.containers[0][0]
    (diagonal,) = [line for line in left.lines if line.get_label() == "measured = requested"]
    np.testing.assert_allclose(points.get_xdata(), [75.0, 105.0])
    np.testing.assert_allclose(points.get_ydata(), [63.0, 117.0])
    np.testing.assert_allclose(diagonal.get_ydata(), [60.0, 120.0])
    (stairs,) = _stairs(right)
    assert stairs.get_data()[0].sum() == pytest.approx(1.0)
    assert right.get_legend().get_texts()[0].get_text() == "3DGAN (0.00 ± 3.16°)"
    figures.plot_measured_angle(requested, np.full(5, np.nan), "empty")
    assert captured_figures[1].axes[0].texts[0].get_text().endswith("not recorded")


def test_runtime_beside_the_paper_numbers_is_written_as_png_and_pdf(tmp_path):
    runtime = {"device": "cpu", "rows": [{"batch_size": 64, "ms_per_shower": 2.0},
                                         {"batch_size": 1, "ms_per_shower": 30.0}],
               "paper_ms_per_shower": {"geant4_xeon_8180": 17000.0, "3dgan_xeon_8180": 13.0,
                                       "3dgan_gtx_1080": 4.0}}
    paths = figures.plot_runtime(runtime, tmp_path / "runtime")
    assert paths == [f"{tmp_path / 'runtime'}.png", f"{tmp_path / 'runtime'}.pdf"]
    assert all(os.path.getsize(p) > 0 for p in paths)


def test_runtime_lines(captured_figures):
    runtime = {"device": "gpu", "rows": [{"batch_size": 64, "ms_per_shower": 2.0},
                                         {"batch_size": 1, "ms_per_shower": 30.0}],
               "paper_ms_per_shower": {"geant4_xeon_8180": 17000.0, "3dgan_gtx_1080": 4.0}}
    figures.plot_runtime(runtime, "runtime")
    (ax,) = captured_figures[0].axes
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [1, 64])
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), [30.0, 2.0])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "3DGAN, this GPU (median)", "Geant4, Xeon 8180 (paper): 17000 ms",
        "3DGAN, GTX 1080 (paper): 4 ms"]
    assert ax.get_xscale() == ax.get_yscale() == "log"


def test_reco_figures(captured_figures):
    edges = np.array([100.0, 150.0, 200.0])
    profiles = {
        "simulator": evaluation.response_profile(np.array([120.0, 170.0]),
                                                 np.array([118.0, 171.0]), edges),
        "gan": evaluation.response_profile(np.array([120.0, 170.0, 180.0]),
                                           np.array([110.0, 160.0, 200.0]), edges),
    }
    figures.plot_reco_energy(profiles, "reco_energy")
    left, right = captured_figures[0].axes
    np.testing.assert_allclose(left.lines[1].get_xdata(), [120.0, 175.0])
    np.testing.assert_allclose(left.lines[1].get_ydata(), [110.0, 180.0])
    np.testing.assert_allclose(left.lines[2].get_ydata(), [100.0, 200.0])  # the diagonal
    gan_ratio = np.array([160.0 / 170.0, 200.0 / 180.0])
    np.testing.assert_allclose(right.lines[1].get_ydata(),
                               [0.0, gan_ratio.std() / gan_ratio.mean()])
    figures.plot_reco_classification({"simulator": np.array([0.99, 0.98, 0.2]),
                                      "gan": np.array([0.9, 0.7])}, "reco_id")
    (ax,) = captured_figures[1].axes
    simulator, gan = _stairs(ax)
    assert simulator.get_data()[0][-1] == pytest.approx(2 / 3)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "simulator (P > 0.5: 66.7%)", "3DGAN (P > 0.5: 100.0%)"]
    assert ax.get_yscale() == "log" and not math.isnan(gan.get_data()[0].sum())
