"""What the jet super-resolution figures show: data, labels, panels."""

import os

import matplotlib.colors as mcolors
import numpy as np
import pytest

from caloml.jet_sr import evaluation, figures


def _stairs(ax):
    return [p for p in ax.patches if hasattr(p, "get_data")]


def _visible(fig):
    return [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]


def _observables(rng, num=60, shift=0.0):
    return {"mass": rng.normal(100 + shift, 20, num), "girth": rng.uniform(0, 0.3, num),
            "c02": rng.uniform(0.3, 0.8, num), "tau1": rng.uniform(0, 0.4, num),
            "tau2": rng.uniform(0, 0.2, num), "tau3": rng.uniform(0, 0.1, num),
            "tau21": rng.uniform(0, 1, num), "tau32": np.append(rng.uniform(0, 1, num - 1),
                                                                np.nan),
            "num_constituents": rng.integers(10, 60, num).astype(float),
            "pt": rng.normal(600, 20, num)}


def test_ordinals_and_labels():
    assert [figures.ordinal(k) for k in (1, 2, 3, 4, 11, 12, 13, 21, 22)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd"]
    assert figures.observable_label("mass") == r"$m_\mathrm{jet}$ [GeV]"
    assert figures.observable_label("num_constituents") == "active pixels"
    assert figures.factor_of("hr") == 1 and figures.factor_of("lr8") == 8
    with pytest.raises(ValueError, match="'hr' and 'lr<f>'"):
        figures.factor_of("sr")


def test_average_images_pair_hr_with_sr_and_lr_with_lr_gen(captured_figures):
    rng = np.random.default_rng(0)
    hr, sr = rng.exponential(size=(16, 16)), rng.exponential(size=(16, 16)) * 3
    lr, lr_gen = rng.exponential(size=(4, 4)) * 16, rng.exponential(size=(4, 4)) * 16
    hr[0, 0] = 0.0
    paths = figures.plot_average_images(hr, sr, lr, lr_gen, "avg", pixel_size_rad=0.1,
                                        title="trained on QCD, applied to top")
    assert paths == ["avg.png", "avg.pdf"]
    fig = captured_figures[0]
    axes = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in axes] == [
        "HR (16×16 pixels)", "SR (16×16 pixels)", "LR (4×4 pixels)",
        r"LR$_\mathrm{gen}$ (4×4 pixels)"]
    assert fig.get_suptitle() == "average jet images (trained on QCD, applied to top)"
    # Drawn [φ, η] (η to the right), zero pixels masked, over ±0.8 rad.
    np.testing.assert_allclose(axes[0].images[0].get_array().filled(0.0), hr.T)
    assert axes[0].images[0].get_array().mask[0, 0]
    assert axes[2].images[0].get_extent() == pytest.approx([-0.8, 0.8, -0.8, 0.8])
    assert (axes[1].get_xlabel(), axes[1].get_ylabel()) == (r"$\Delta\eta$ [rad]",
                                                            r"$\Delta\phi$ [rad]")
    norms = [ax.images[0].norm for ax in axes]
    assert all(isinstance(norm, mcolors.LogNorm) for norm in norms)
    assert norms[0].vmax == norms[1].vmax == pytest.approx(max(hr.max(), sr.max()))
    assert norms[2].vmax == norms[3].vmax == pytest.approx(max(lr.max(), lr_gen.max()))
    with pytest.raises(ValueError, match="must pair up"):
        figures.plot_average_images(hr, sr[:8], lr, lr_gen, "bad", 0.1)


def test_sqrt_spectrum_puts_missing_constituents_in_the_zero_bin():
    values = np.array([0.0, 0.0, 4.0, 9.0, 100.0])
    edges = figures.spectrum_edges(values, num_bins=4)
    assert edges[1] == 0.0 and edges[0] == -(edges[2] - edges[1])
    fractions = figures.sqrt_spectrum(values, edges)
    assert fractions[0] == pytest.approx(0.4) and fractions.sum() == pytest.approx(1.0)
    assert fractions[-1] >= 0.2  # √100 lies beyond the 99.5 % quantile: last bin


def test_leading_spectra_grid(captured_figures):
    rng = np.random.default_rng(1)
    n = 15
    hr = np.sort(rng.exponential(20, (50, n)), axis=1)[:, ::-1]
    hr[:10, 7:] = 0.0  # 10 of 50 jets have only 7 constituents
    sr, lr, lr_gen = hr * 1.1, hr * 2, hr * 2.2
    figures.plot_leading_spectra(hr, sr, lr, lr_gen, "lead", title="trained on top, applied to top")
    axes = _visible(captured_figures[0])
    assert len(axes) == 2 * n
    assert axes[0].get_title() == "1st constituent, HR vs SR"
    assert axes[n + 14].get_title() == r"15th constituent, LR vs LR$_\mathrm{gen}$"
    assert all(len(_stairs(ax)) == 2 for ax in axes)
    hr_stairs, sr_stairs = _stairs(axes[7])  # the 8th constituent
    assert hr_stairs.get_data()[0][0] == pytest.approx(0.2)  # the zero bin
    edges = hr_stairs.get_data()[1]
    np.testing.assert_allclose(hr_stairs.get_data()[0], figures.sqrt_spectrum(hr[:, 7], edges))
    assert axes[7].texts[0].get_text() == "none: HR 20%, SR 20%"
    assert axes[0].get_xlabel() == r"$\sqrt{p_{T,1}}$ [$\sqrt{\mathrm{GeV}}$]"
    assert [t.get_text() for t in axes[n].get_legend().get_texts()] == ["LR", r"LR$_\mathrm{gen}$"]
    figures.plot_leading_spectra(hr[:, :4], sr[:, :4], lr[:, :4], lr_gen[:, :4], "lead4")
    assert len(_visible(captured_figures[1])) == 8


def test_patches_show_both_and_their_relative_difference(captured_figures):
    hr = np.array([[0.4, 0.1], [0.1, 0.4]])
    sr = np.full((2, 2), 0.25)
    figures.plot_patches(hr, sr, "patches")
    axes = [ax for ax in captured_figures[0].axes if ax.images]
    assert len(axes) == 3
    np.testing.assert_allclose(axes[0].images[0].get_array(), hr.T)
    np.testing.assert_allclose(axes[2].images[0].get_array(), [[-0.375, 1.5], [1.5, -0.375]])
    assert axes[2].get_title() == "(SR − HR) / HR (2×2 patch)"
    assert captured_figures[0].get_suptitle() == "average patches, L1(SR, HR) = 0.600"
    assert [t.get_text() for t in axes[1].texts] == ["0.250"] * 4


def test_observables_draw_four_samples_per_panel(captured_figures):
    rng = np.random.default_rng(2)
    samples = {"hr": _observables(rng), "sr": _observables(rng, shift=5),
               "lr": _observables(rng, shift=-10), "lr_gen": _observables(rng, shift=-9)}
    figures.plot_observables(samples, "obs", title="trained on QCD, applied to QCD")
    axes = _visible(captured_figures[0])
    assert len(axes) == len(figures.OBSERVABLE_PANELS) == 8
    assert [ax.get_xlabel() for ax in axes[:5]] == [
        r"$m_\mathrm{jet}$ [GeV]", r"girth $w_\mathrm{pf}$", r"$C_{0.2}$",
        r"$\tau_2 / \tau_1$", r"$\tau_3 / \tau_2$"]
    assert all(len(_stairs(ax)) == 4 for ax in axes)
    assert [t.get_text() for t in axes[0].get_legend().get_texts()] == [
        "LR", r"LR$_\mathrm{gen}$", "HR", "SR"]
    lr, lr_gen, hr, sr = _stairs(axes[0])
    assert hr.get_data()[0].sum() == pytest.approx(1.0)
    assert sr.get_fill() is False and hr.get_fill() is True
    assert axes[4].get_title().startswith("sep. power HR–SR ")
    assert captured_figures[0].get_suptitle() == "jet observables (trained on QCD, applied to QCD)"
    figures.plot_observables({"hr": samples["hr"]}, "hr_only", names=("mass", "tau21"))
    hr_only = _visible(captured_figures[1])
    assert len(hr_only) == 2 and not hr_only[0].get_title()  # no pair to compare


def test_relative_differences_with_closer_fraction(captured_figures):
    rng = np.random.default_rng(3)
    relative = {name: {"hr_lr": rng.normal(0.2, 0.1, 100), "hr_sr": rng.normal(0.0, 0.05, 100)}
                for name in ("mass", "tau2", "tau3", "c02")}
    relative["mass"]["hr_sr"][0] = np.nan
    closer = {"mass": 0.5, "tau2": 0.9, "tau3": 0.81, "c02": 0.7}
    figures.plot_relative_differences(relative, closer, "rel", paper={"tau2": 0.54},
                                      title="trained on top, applied to top")
    fig = captured_figures[0]
    assert len(fig.axes) == 8
    upper = fig.axes[:4]
    assert [ax.get_title() for ax in upper] == [
        r"$m_\mathrm{jet}$: p = 50%", r"$\tau_2$: p = 90% (paper 54%)", r"$\tau_3$: p = 81%",
        r"$C_{0.2}$: p = 70%"]
    lr_line, sr_line = _stairs(upper[1])
    np.testing.assert_allclose(lr_line.get_data()[1], np.linspace(-1, 1, 41))
    assert lr_line.get_data()[0].sum() == pytest.approx(1.0)
    assert upper[0].get_xlabel() == r"relative difference of $m_\mathrm{jet}$"
    (ratio,) = _stairs(fig.axes[5])
    values, edges = ratio.get_data()[:2]
    expected = np.log10(np.abs(relative["tau2"]["hr_sr"]) / np.abs(relative["tau2"]["hr_lr"]))
    assert values[edges[:-1] < 0].sum() == pytest.approx(np.mean(expected < 0))
    assert fig.axes[4].get_xlabel() == r"$\log_{10}$ |HR − SR| / |HR − LR|"


def test_log_deviation_ratio():
    np.testing.assert_allclose(figures.log_deviation_ratio([0.1, -0.5, 0.2], [0.01, 0.5, 0.0]),
                               [-1.0, 0.0, -np.inf])


def test_factor_scan_panels(captured_figures):
    rng = np.random.default_rng(4)
    samples = {"lr8": _observables(rng, shift=20), "hr": _observables(rng),
               "lr2": _observables(rng, shift=5), "lr4": _observables(rng, shift=10)}
    samples["lr8"]["num_constituents"] = np.array([3.0, 4.0, 4.0] * 20)
    figures.plot_factor_scan(samples, "scan", title="QCD jets")
    axes = _visible(captured_figures[0])
    assert len(axes) == 6
    assert [ax.get_xlabel() for ax in axes] == [
        "active pixels", r"$m_\mathrm{jet}$ [GeV]", r"$\tau_2 / \tau_1$", r"$\tau_3 / \tau_2$",
        r"girth $w_\mathrm{pf}$", r"$C_{0.2}$"]
    assert [t.get_text() for t in axes[0].get_legend().get_texts()] == [
        "HR", "LR, f = 2", "LR, f = 4", "LR, f = 8"]
    lr8 = _stairs(axes[0])[3]
    values, edges = lr8.get_data()[:2]
    np.testing.assert_allclose(np.diff(edges), 1.0)  # one bin per pixel count
    assert values[edges[:-1] == 2.5] == pytest.approx(1 / 3)
    assert values[edges[:-1] == 3.5] == pytest.approx(2 / 3)
    assert captured_figures[0].get_suptitle() == "down-scaling by f = 2, 4, 8 (QCD jets)"


def test_rrdb_scan_one_line_per_constituent(captured_figures):
    top = evaluation.rrdb_scan([(1, np.linspace(1, 2, 15)), (5, np.linspace(0.5, 1, 15)),
                                (10, np.linspace(0.4, 0.9, 15)), (10, np.linspace(0.6, 1.1, 15))])
    qcd = evaluation.rrdb_scan([(1, np.full(15, 3.0)), (10, np.full(15, 1.0))])
    figures.plot_rrdb_scan({"trained on top, applied to top": top,
                            "trained on QCD, applied to QCD": qcd}, "rrdb")
    left, right = captured_figures[0].axes
    assert len(left.containers) == 15 and len(right.containers) == 15
    first = left.containers[0][0]  # the data line of the 1st constituent's error bars
    np.testing.assert_array_equal(first.get_xdata(), [1, 5, 10])
    np.testing.assert_allclose(first.get_ydata(), [1.0, 0.5, 0.5])
    assert left.get_title() == "trained on top, applied to top"
    assert left.get_xlabel() == "number of RRDBs"
    assert left.get_ylabel() == r"$W_1$(HR, SR) of $p_{T,k}$ [GeV]"
    assert left.get_legend().get_texts()[14].get_text() == "15th"
    assert left.get_yscale() == "log"


def test_figures_are_written_as_png_and_pdf(tmp_path):
    paths = figures.plot_patches(np.full((2, 2), 0.25), np.full((2, 2), 0.25),
                                 tmp_path / "patches")
    assert paths == [f"{tmp_path / 'patches'}.png", f"{tmp_path / 'patches'}.pdf"]
    assert all(os.path.isfile(p) for p in paths)
