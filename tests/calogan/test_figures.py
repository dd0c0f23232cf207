"""What the CaloGAN assessment figures show: data, labels, panels."""

import matplotlib.colors as mcolors
import numpy as np
import pytest

from caloml.calogan import config, evaluation, figures


def _images(rng, num=None, scale=1.0):
    lead = () if num is None else (num,)
    return {key: scale * rng.exponential(size=lead + shape) * (rng.random(lead + shape) < 0.5)
            for key, shape in zip(config.LAYER_KEYS, config.LAYER_SHAPES, strict=True)}


def _image_axes(fig):
    return [ax for ax in fig.axes if ax.images]


def _stairs(ax):
    return [p for p in ax.patches if hasattr(p, "get_data")]


def test_observable_labels():
    assert figures.observable_label("energy_layer1") == r"$E_{1}$ [MeV]"
    assert figures.observable_label("energy_ratio_layer2") == r"$E_{\mathrm{ratio},2}$"
    assert figures.observable_label("lateral_width_y_layer0") == r"$\sigma_{y,0}$ [mm]"
    assert figures.observable_label("shower_depth_width") == r"$\sigma_{s_d}$ [layer]"
    assert figures.layer_title(0, (3, 96)) == "layer 0: 3×96 cells of 160×5 mm"


def test_average_images_share_a_log_scale_per_layer_in_mm(captured_figures):
    rng = np.random.default_rng(0)
    simulator, gan = _images(rng), _images(rng, scale=3.0)
    paths = figures.plot_average_images(simulator, gan, "average", title="e+")
    assert paths == ["average.png", "average.pdf"]
    axes = _image_axes(captured_figures[0])
    assert len(axes) == 6
    assert [ax.get_title() for ax in axes[:3]] == [
        "simulator, layer 0: 3×96 cells of 160×5 mm",
        "simulator, layer 1: 12×12 cells of 40×40 mm",
        "simulator, layer 2: 12×6 cells of 40×80 mm"]
    assert axes[4].get_title().startswith("CaloGAN, layer 1")
    for column, key in enumerate(config.LAYER_KEYS):
        top, bottom = axes[column].images[0], axes[3 + column].images[0]
        # Drawn transposed (x to the right), zeros masked, over ±240 mm.
        np.testing.assert_allclose(bottom.get_array().filled(0.0), gan[key].T)
        assert top.get_extent() == [-240.0, 240.0, -240.0, 240.0]
        assert isinstance(top.norm, mcolors.LogNorm)
        assert top.norm.vmax == bottom.norm.vmax == pytest.approx(
            max(simulator[key].max(), gan[key].max()))
    assert captured_figures[0].get_suptitle() == "e+: average showers"
    with pytest.raises(ValueError, match=r"must end in \(12, 6\)"):
        figures.plot_average_images(simulator, {**gan, "layer_2": np.zeros((6, 12))}, "bad")


def test_shower_shape_panels_show_both_histograms_and_their_separation_power(
        captured_figures):
    rng = np.random.default_rng(1)
    histograms = {}
    metrics, histograms["total_energy"] = evaluation.compare(rng.normal(10, 1, 300),
                                                             rng.normal(11, 1, 200))
    histograms["depth"] = evaluation.compare(np.array([1, 2, 2]), np.array([2, 2, 2]))[1]
    histograms["energy_ratio_layer0"] = None
    figures.plot_shower_shapes(histograms, "shapes", num_columns=2)
    fig = captured_figures[0]
    first, second, third, spare = fig.axes
    simulator, gan = _stairs(first)
    values, edges, _ = simulator.get_data()
    np.testing.assert_allclose(values, histograms["total_energy"]["simulator"] / 300)
    np.testing.assert_allclose(gan.get_data()[0], histograms["total_energy"]["gan"] / 200)
    np.testing.assert_array_equal(edges, histograms["total_energy"]["edges"])
    assert simulator.get_fill() and not gan.get_fill()
    assert first.get_title() == f"separation power {metrics['separation_power']:.3g}"
    assert first.get_xlabel() == r"$E_\mathrm{tot}$ [MeV]"
    assert [t.get_text() for t in first.get_legend().get_texts()] == ["simulator", "CaloGAN"]
    np.testing.assert_allclose(_stairs(second)[0].get_data()[0], [1 / 3, 2 / 3])
    # ½ [(1/3)² / (1/3) + (1/3)² / (5/3)] = 0.2
    assert second.get_title() == "separation power 0.2"
    assert third.texts[0].get_text().endswith("not recorded") and not third.patches
    assert not spare.axison


def test_nearest_neighbours_pair_each_generated_shower_with_its_neighbour(captured_figures):
    rng = np.random.default_rng(2)
    generated, nearest = _images(rng, num=2), _images(rng, num=2)
    figures.plot_nearest_neighbours(generated, nearest, np.array([1.5, 2.25]), "neighbours")
    axes = _image_axes(captured_figures[0])
    assert len(axes) == 2 * 6
    assert axes[0].get_title() == "generated 0, layer 0"
    assert axes[9].get_title() == "nearest training (d = 2.25 GeV), layer 0"
    np.testing.assert_allclose(axes[9].images[0].get_array().filled(0.0),
                               nearest["layer_0"][1].T)
    # A layer's pair shares one colour scale.
    assert axes[7].images[0].norm.vmax == axes[10].images[0].norm.vmax == pytest.approx(
        max(generated["layer_1"][1].max(), nearest["layer_1"][1].max()))
    with pytest.raises(ValueError, match="need K"):
        figures.plot_nearest_neighbours(generated, nearest, np.array([1.0]), "bad")


def test_nn_distances_draw_both_samples_with_medians(captured_figures):
    rng = np.random.default_rng(3)
    generated, test = rng.gamma(4.0, 1.0, 300), rng.gamma(5.0, 1.0, 250)
    figures.plot_nn_distances(generated, test, "distances", separation_power=0.123)
    (ax,) = captured_figures[0].axes
    test_stairs, generated_stairs = _stairs(ax)
    assert test_stairs.get_data()[0].sum() == pytest.approx(1.0)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == [f"test → train (median {np.median(test):.3g} GeV)",
                      f"generated → train (median {np.median(generated):.3g} GeV)"]
    assert ax.get_legend().get_title().get_text() == "separation power 0.123"
    assert [line.get_xdata()[0] for line in ax.lines] == pytest.approx(
        [np.median(test), np.median(generated)])


def test_energy_response_marks_energies_outside_the_training_range(captured_figures):
    rng = np.random.default_rng(4)
    ratios = {energy: {"simulator": rng.normal(0.95, 0.02, 100), "gan": rng.normal(m, 0.03, 80)}
              for energy, m in ((10.0, 0.9), (50.0, 0.94), (150.0, 0.7))}
    ratios[200.0] = {"simulator": rng.normal(0.95, 0.02, 100), "gan": np.full(5, np.nan)}
    figures.plot_energy_response(ratios, "response", training_range_gev=(1.0, 100.0),
                                 title="e+", num_columns=2)
    fig = captured_figures[0]
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["10 GeV", "50 GeV",
                                               "150 GeV (outside training range)",
                                               "200 GeV (outside training range)"]
    assert mcolors.to_hex(axes[2].get_facecolor()) == figures.OUTSIDE_COLOUR
    assert mcolors.to_hex(axes[0].get_facecolor()) == "#ffffff"
    gan = ratios[150.0]["gan"]
    labels = [t.get_text() for t in axes[2].get_legend().get_texts()]
    assert labels[1] == f"CaloGAN ({gan.mean():.3f} ± {gan.std():.3f})"
    assert len(_stairs(axes[2])) == 2
    assert axes[3].texts[0].get_text().endswith("not recorded")
    assert fig.get_suptitle() == "e+: energy response (trained on 1–100 GeV)"


def test_runtime_shows_this_machine_and_the_slides(captured_figures):
    runtime = {"device": "cpu", "rows": [{"batch_size": 4, "ms_per_shower": 0.5},
                                         {"batch_size": 1, "ms_per_shower": 2.0}],
               "paper_ms_per_shower": {"geant4_cpu": 1772.0,
                                       "calogan_gpu": {"1024": 0.012, "512": 0.014}}}
    figures.plot_runtime(runtime, "runtime")
    (ax,) = captured_figures[0].axes
    ours, geant4, gpu = ax.lines  # the slides' entries in their order
    np.testing.assert_array_equal(ours.get_xdata(), [1, 4])
    np.testing.assert_array_equal(ours.get_ydata(), [2.0, 0.5])
    assert ours.get_label() == "CaloGAN, this CPU (median)"
    np.testing.assert_array_equal(gpu.get_xdata(), [512, 1024])  # JSON's string keys sorted
    np.testing.assert_array_equal(gpu.get_ydata(), [0.014, 0.012])
    assert gpu.get_label() == "CaloGAN, GPU (slides)"
    assert list(geant4.get_ydata()) == [1772.0, 1772.0]
    assert geant4.get_label() == "Geant4, CPU (slides): 1772 ms"
    assert ax.get_xscale() == ax.get_yscale() == "log"
