"""What the simulator reports' figures show."""

import numpy as np
import pytest

from caloml.sim import calogan
from caloml.simreport import figures


def test_centred_average_moves_hottest_crystal_to_centre():
    lr = np.zeros((3, 24, 24))
    for i, (r, c) in enumerate([(3, 4), (12, 12), (22, 1)]):
        lr[i, r, c] = 10.0
        lr[i, r, c + 1] = 1.0
    hr = np.repeat(np.repeat(lr, 4, axis=1), 4, axis=2) / 16.0
    averages = figures.centred_average({"hr": hr, "lr": lr}, reference="lr", half_size=2)
    assert averages["lr"].shape == (5, 5) and averages["hr"].shape == (20, 20)
    expected = np.zeros((5, 5))
    expected[2, 2], expected[2, 3] = 10.0, 1.0
    np.testing.assert_allclose(averages["lr"], expected)
    np.testing.assert_allclose(averages["hr"][8:12, 8:12], 10.0 / 16.0)
    np.testing.assert_allclose(averages["hr"].sum(), 11.0)
    # A shower in the corner: cells shifted in from outside the window count as zero.
    corner = np.zeros((1, 24, 24))
    corner[0, 0, 0], corner[0, 0, 1], corner[0, 1, 0] = 10.0, 1.0, 2.0
    expected = np.zeros((3, 3))
    expected[1, 1], expected[1, 2], expected[2, 1] = 10.0, 1.0, 2.0
    np.testing.assert_allclose(figures.centred_average({"lr": corner}, half_size=1)["lr"],
                               expected)
    with pytest.raises(ValueError, match="not a multiple"):
        figures.centred_average({"lr": lr, "hr": np.zeros((3, 50, 50))})


def _toy_data(num=4, seed=0):
    rng = np.random.default_rng(seed)
    data = {}
    for particle in ("photon", "pi0"):
        hr = np.zeros((num, 96, 96), np.float32)
        for i, (r, c) in enumerate(rng.integers(30, 66, size=(num, 2))):
            hr[i, r - 2 : r + 3, c - 2 : c + 3] = rng.exponential(1.0, (5, 5))
        data[particle] = {"hr": hr, "lr": hr.reshape(num, 24, 4, 24, 4).sum(axis=(2, 4)),
                          "energy": np.full(num, 50.0, np.float32)}
    return data


def test_srgamma_examples_outline_the_selected_windows():
    data = _toy_data()
    windows = {p: np.array([[5, 6]] * 4) for p in data}
    fig = figures.plot_srgamma_examples(data, None, num_examples=2, windows=windows)
    image_axes = [ax for ax in fig.axes if ax.images]
    assert len(image_axes) == 2 * 2 * 2  # (photon, pi0) × (hr, lr) rows, 2 examples
    assert image_axes[0].get_title() == r"$\gamma$ 50 GeV, HR, event 0"
    (window,) = image_axes[0].patches
    assert window.get_xy() == (5 * 22.0 - 264.0, 6 * 22.0 - 264.0)
    assert window.get_width() == 6 * 22.0


def test_srgamma_averages_add_a_difference_column():
    data = _toy_data()
    fig = figures.plot_srgamma_averages(data, None)
    image_axes = [ax for ax in fig.axes if ax.images]
    assert len(image_axes) == 2 * 3  # (hr, lr) rows × (photon, pi0, difference)
    assert image_axes[2].get_title() == r"$\gamma$ $-$ $\pi^0$, HR"
    for arrays in data.values():  # a third kind (super-resolved) adds a row
        arrays["sr"] = arrays["hr"] * 0.9
    assert len([ax for ax in figures.plot_srgamma_averages(data, None).axes if ax.images]) == 9


def test_clic_figures(captured_figures):
    rng = np.random.default_rng(1)
    response = {e: rng.normal(1.0, 0.15 / np.sqrt(e), 300) for e in (5.0, 50.0, 400.0)}
    figures.plot_clic_response(response, (0.15, 0.01), (0.165, 0.011), "response")
    top, bottom = captured_figures[0].axes
    np.testing.assert_allclose(bottom.lines[0].get_ydata(),
                               [100 * response[e].std() for e in (5.0, 50.0, 400.0)])
    assert [line.get_label() for line in bottom.lines][1:] == [
        r"fit 15.0%/$\sqrt{E}$ $\oplus$ 1.0%", r"reference 16.5%/$\sqrt{E}$ $\oplus$ 1.1%"]
    pions = np.full(100, 5.0)
    pions[:25] = 1e12  # an empty ECAL window
    ratios = {"electron": (None, np.full(100, 0.01)), "piplus": (None, pions)}
    figures.plot_hcal_ecal(ratios, 0.1, "ratio")
    (ax,) = captured_figures[1].axes
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == [r"$e^-$ (100% below 0.1)", r"$\pi^+$ (0% below 0.1, 25% off scale)"]
    pion_histogram = ax.patches[1].get_data()[0]
    assert pion_histogram[-1] == 0.25 and pion_histogram.sum() == pytest.approx(1.0)
    figures.plot_incidence_slopes({1.047: rng.normal(0.577, 0.01, 50)}, "slopes")
    (ax,) = captured_figures[2].axes
    assert ax.lines[0].get_xdata()[0] == pytest.approx(1 / np.tan(1.047))


def test_calogan_figures(captured_figures):
    rng = np.random.default_rng(2)
    grids = calogan.CaloGANGeometry().grids
    samples = {p: {"layers": [rng.exponential(1.0, (20, g.num_x, g.num_y)) for g in grids],
                   "energy": rng.uniform(1.0, 100.0, 20)} for p in ("positron", "piplus")}
    figures.plot_calogan_averages(samples, "averages")
    image_axes = [ax for ax in captured_figures[0].axes if ax.images]
    assert len(image_axes) == 2 * 3
    np.testing.assert_allclose(image_axes[4].images[0].get_array(),
                               samples["piplus"]["layers"][1].mean(axis=0).T)
    assert image_axes[3].images[0].get_extent() == [-240.0, 240.0, -240.0, 240.0]
    figures.plot_calogan_layer_fractions(samples, {"10": (0.31, 0.69, 0.0)}, "fractions")
    layer0 = captured_figures[1].axes[0]
    assert [line.get_label() for line in layer0.lines][-1].startswith("$e^+$ expectation")
    figures.plot_calogan_cell_spectra(samples, "spectra")
    assert all(ax.get_xscale() == "log" for ax in captured_figures[2].axes)
