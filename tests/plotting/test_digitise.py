"""Histograms drawn by matplotlib as the CaloGAN notebook draws them, read back from the PNG."""

import base64
import io
import json

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from caloml.errors import DataError, MissingFileError  # noqa: E402
from caloml.plotting import digitise  # noqa: E402

COLOURS = matplotlib.cm.gnuplot2(np.linspace(0.2, 0.8, 3))
EDGES = np.logspace(-2, 2, 41)


def draw(truth, y_scale, seed=0):
    """PNG bytes: three filled histograms, opaque step lines on top, a legend (as cell 60)."""
    rng = np.random.default_rng(seed)
    fig = plt.figure(figsize=(10, 10), dpi=72)
    for i, weights in enumerate(truth):
        plt.hist(EDGES[:-1], bins=EDGES, weights=weights, histtype="stepfilled", alpha=0.2,
                 color=COLOURS[i], linewidth=2, label=f"geant {i}")
    for i, weights in enumerate(truth):
        plt.hist(EDGES[:-1], bins=EDGES, weights=weights * rng.uniform(0.7, 1.3, len(weights)),
                 histtype="step", linewidth=3, color=COLOURS[i], label=f"gan {i}")
    plt.xscale("log")
    plt.yscale({"lin": "linear"}.get(y_scale, y_scale))
    plt.ylim(*((1e-4, 1e2) if y_scale == "log" else (0, 12)))
    plt.legend(loc="upper right", ncol=2, fontsize=20)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=72)
    plt.close(fig)
    return buffer.getvalue()


def rgb_of(png):
    from PIL import Image

    return digitise.composite_over_white(np.asarray(Image.open(io.BytesIO(png)).convert("RGBA")))


@pytest.mark.parametrize("y_scale", ["lin", "log"])
def test_overlapping_filled_histograms_are_recovered_within_their_brackets(y_scale):
    rng = np.random.default_rng(1)
    truth = rng.uniform(1e-3, 9.0, (3, len(EDGES) - 1))
    truth[1, 5:9] = 0.0  # empty bins read 0
    y_ticks = tuple(10.0 ** np.arange(-4, 3)) if y_scale == "log" else tuple(range(0, 13, 2))
    read = digitise.digitise_stepfilled(
        rgb_of(draw(truth, y_scale)), EDGES, tuple(10.0 ** np.arange(-2, 3)), y_ticks,
        COLOURS[:, :3] * 255, 0.2, "log", y_scale)
    assert read.legend is not None
    readable = np.isfinite(read.density)
    assert readable.mean() > 0.9  # only tops hidden under the legend's text are lost
    tolerance = 1e-9 * np.maximum(truth, 1.0)[readable]
    assert np.all(read.low[readable] <= truth[readable] + tolerance)
    assert np.all(truth[readable] <= read.high[readable] + tolerance)
    np.testing.assert_array_equal(read.density[1, 5:9], 0.0)
    # Where no line hides the top, the value is good to about half a pixel.
    axes = read.axes
    visible = readable & (np.abs(axes.value_to_y(read.high) - axes.value_to_y(read.low)) < 2.5)
    assert visible.mean() > 0.5
    visible &= truth > 0
    error_px = np.abs(axes.value_to_y(read.density[visible]) - axes.value_to_y(truth[visible]))
    assert error_px.max() < 1.0


def test_axes_calibration_needs_one_label_per_major_tick():
    rgb = rgb_of(draw(np.ones((3, len(EDGES) - 1)), "lin"))
    axes = digitise.find_axes(rgb, tuple(10.0 ** np.arange(-2, 3)), tuple(range(0, 13, 2)),
                              "log", "lin")
    assert axes.y_residual_px < 0.6
    assert axes.x_to_px(np.array([1e-2, 1e2])) == pytest.approx([axes.left, axes.right], abs=60)
    with pytest.raises(DataError, match="found 5 x and 7 y major ticks, labels given for 5 and 6"):
        digitise.find_axes(rgb, tuple(10.0 ** np.arange(-2, 3)), tuple(range(0, 11, 2)), "log")
    with pytest.raises(DataError, match="no axes frame"):
        digitise.find_axes(np.full((50, 50, 3), 255), (0, 1), (0, 1))


def test_fill_colours_compose_in_drawing_order():
    colours = digitise.fill_colours(np.array([[0.0, 0.0, 200.0], [255.0, 200.0, 50.0]]), 0.2)
    np.testing.assert_allclose(colours[0], [255, 255, 255])
    np.testing.assert_allclose(colours[1], [204, 204, 244])
    np.testing.assert_allclose(colours[3], 0.8 * colours[1] + 0.2 * np.array([255, 200, 50]))
    pixels = np.array([[[204, 204, 245], [0, 0, 0]]])
    np.testing.assert_array_equal(digitise.classify(pixels, colours), [[1, -1]])


def test_notebook_pngs_are_found_by_cell_and_output(tmp_path):
    png = draw(np.ones((3, len(EDGES) - 1)), "lin")
    image = {"output_type": "display_data",
             "data": {"image/png": base64.b64encode(png).decode(), "text/plain": "<Figure>"}}
    notebook = {"cells": [{"cell_type": "markdown", "source": []},
                          {"cell_type": "code", "outputs": [{"output_type": "stream"}, image,
                                                            image]}]}
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(notebook))
    pngs = digitise.notebook_pngs(path)
    assert sorted(pngs) == [(1, 0), (1, 1)]
    assert pngs[(1, 0)].shape == (720, 720, 3)
    with pytest.raises(MissingFileError):
        digitise.notebook_pngs(tmp_path / "none.ipynb")
    (tmp_path / "bad.ipynb").write_text("[]")
    with pytest.raises(DataError, match="not a Jupyter notebook"):
        digitise.notebook_pngs(tmp_path / "bad.ipynb")


def test_histogram_mean_uses_bin_centres_of_readable_bins():
    assert digitise.histogram_mean([0, 1, 2, 4], [1.0, np.nan, 0.25]) == pytest.approx(
        (0.5 * 1 + 3 * 0.5) / 1.5)
    assert np.isnan(digitise.histogram_mean([0, 1], [0.0]))


def test_the_overlay_draws_one_line_per_histogram(tmp_path):
    truth = np.full((3, len(EDGES) - 1), 2.0)
    rgb = rgb_of(draw(truth, "lin"))
    read = digitise.digitise_stepfilled(rgb, EDGES, tuple(10.0 ** np.arange(-2, 3)),
                                        tuple(range(0, 13, 2)), COLOURS[:, :3] * 255,
                                        x_scale="log")
    captured = {}
    original = plt.Figure.savefig

    def spy(fig, *args, **kwargs):
        captured["axes"] = fig.axes
        return original(fig, *args, **kwargs)

    plt.Figure.savefig = spy
    try:
        digitise.plot_overlay(rgb, read, tmp_path / "overlay.png", panels=[[0, 1], [2]])
    finally:
        plt.Figure.savefig = original
    assert (tmp_path / "overlay.png").exists()
    assert [len(ax.patches) for ax in captured["axes"]] == [3, 2]  # stairs + the legend box
    assert [len(ax.images) for ax in captured["axes"]] == [1, 1]
