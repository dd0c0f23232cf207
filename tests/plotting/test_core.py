"""Shared figure helpers: atomic PNG + PDF, log image scales, histograms, moving means."""

import os

import matplotlib.pyplot as plt
import numpy as np

from caloml.plotting import core as plotting


def test_save_figure_writes_png_and_pdf_and_nothing_else(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3])
    paths = plotting.save_figure(fig, tmp_path / "line")
    assert paths == [str(tmp_path / "line.png"), str(tmp_path / "line.pdf")]
    assert sorted(os.listdir(tmp_path)) == ["line.pdf", "line.png"]
    assert (tmp_path / "line.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "line.pdf").read_bytes()[:5] == b"%PDF-"
    assert not plt.fignum_exists(fig.number)  # closed


def test_log_norm_spans_four_decades_below_the_brightest_cell():
    norm = plotting.log_norm([np.array([[0.0, 2.0]]), np.array([[50.0]])])
    assert norm.vmax == 50.0 and norm.vmin == 50.0 * 10.0**-plotting.LOG_DECADES
    assert plotting.log_norm([np.zeros((2, 2))]).vmax == 1.0


def test_draw_image_masks_empty_cells_and_puts_x_to_the_right():
    fig, ax = plt.subplots()
    image = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 2.0]])  # [x, y]
    plotting.draw_image(ax, image, 6.0, plotting.log_norm([image]), plotting.image_cmap())
    shown = ax.images[0].get_array()
    np.testing.assert_array_equal(shown.mask, (image <= 0).T)
    assert ax.images[0].get_extent() == [-3.0, 3.0, -3.0, 3.0]
    plt.close(fig)


def test_histogram_fractions_and_moving_mean():
    fractions, counts = plotting.histogram_fractions([0.5, 1.5, 1.6, 9.0], np.array([0, 1, 2]))
    np.testing.assert_array_equal(counts, [1, 2])
    np.testing.assert_allclose(fractions, [0.25, 0.5])  # the overflow counts in the total
    smooth = plotting.moving_mean(np.array([1.0, np.nan, 3.0, 5.0]), 3)
    np.testing.assert_allclose(smooth, [1.0, 2.0, 4.0, 4.0])
