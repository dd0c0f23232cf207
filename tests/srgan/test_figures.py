"""What the SR-GAN figures (paper 000, Figs. 6-13) show: data, labels, panels."""

import numpy as np
import pytest

from caloml.observables import statistics
from caloml.srgan import figures


@pytest.fixture
def windows():
    rng = np.random.default_rng(0)
    n = 8
    hr = rng.exponential(size=(n, 24, 24)) * (rng.random((n, 24, 24)) < 0.3)
    lr = hr.reshape(n, 6, 4, 6, 4).sum(axis=(2, 4))
    sr = hr * rng.uniform(0.5, 1.5, size=hr.shape)
    labels = np.array([0, 1] * (n // 2), np.float32)
    return lr, hr, sr, labels


def test_ks_history_draws_both_particles_and_the_selected_epoch(captured_figures):
    history = {"epoch": [1, 2, 3, 4], "val_ks_photon": [0.5, 0.3, 0.2, 0.4],
               "val_ks_pi0": [0.4, 0.3, 0.1, 0.2]}
    paths = figures.plot_ks_history(history, None, "ks")
    assert paths == ["ks.png", "ks.pdf"]
    (ax,) = captured_figures[0].axes
    raw = [line for line in ax.lines if line.get_alpha() == 0.3]
    np.testing.assert_array_equal(raw[0].get_ydata(), history["val_ks_photon"])
    np.testing.assert_array_equal(raw[1].get_ydata(), history["val_ks_pi0"])
    selected = [line for line in ax.lines if line.get_label().startswith("selected epoch")]
    assert selected[0].get_xdata()[0] == 3  # lowest mean KS
    figures.plot_ks_history(history, 2, "ks")
    (ax,) = captured_figures[1].axes
    assert [line.get_label() for line in ax.lines if "selected" in line.get_label()] == [
        "selected epoch 2"]
    with pytest.raises(ValueError, match="no 'ks_photon'"):
        figures.plot_ks_history({"loss": [1.0]}, None, "bad")


def test_training_history_panels_skip_infinite_rejections(captured_figures):
    epochs = np.arange(1, 6)
    history = {"epoch": list(epochs), "critic_loss": list(-1.0 / epochs),
               "val_critic_accuracy": [0.9, 0.8, 0.7, 0.6, 0.55],
               "val_rejection_at_0.9": [np.inf, 4.0, 5.0, 6.0, np.inf]}
    figures.plot_training_history(history, "history", title="50 GeV")
    loss_ax, per_ax, acc_ax, rej_ax = captured_figures[0].axes
    assert [line.get_label() for line in loss_ax.lines] == ["critic loss (train.)"]
    assert "critic accuracy (val.)" in [line.get_label() for line in acc_ax.lines]
    (rejection,) = rej_ax.lines
    np.testing.assert_array_equal(rejection.get_xdata(), [2, 3, 4])
    np.testing.assert_array_equal(rejection.get_ydata(), [4.0, 5.0, 6.0])
    assert rej_ax.get_yscale() == "log"
    assert per_ax.texts[0].get_text() == "perceptual loss: not recorded"


def test_sr_examples_show_lr_hr_sr_of_photons_then_pions(captured_figures, windows):
    lr, hr, sr, labels = windows
    figures.plot_sr_examples(lr, hr, sr, labels, "examples", num_per_class=2)
    image_axes = [ax for ax in captured_figures[0].axes if ax.images]
    assert len(image_axes) == 2 * 2 * 3
    titles = [ax.get_title() for ax in image_axes]
    assert titles[:3] == [r"$\gamma$ event 0, LR", r"$\gamma$ event 0, HR",
                          r"$\gamma$ event 0, SR"]
    assert titles[6].startswith(r"$\pi^0$ event 1")
    # Images are drawn transposed (x to the right), zeros masked.
    shown = image_axes[2].images[0].get_array()
    np.testing.assert_allclose(shown.filled(0.0), sr[0].T)


def test_training_evolution_shows_averages_differences_and_widths(captured_figures):
    rng = np.random.default_rng(1)
    hr_average = rng.random((24, 24))
    averages = {"epoch 1": hr_average * 0.5, "epoch 3 (selected)": hr_average * 1.1}
    widths = {name: {"photon": rng.normal(0.010, 0.002, 200), "pi0": rng.normal(0.015, 0.003, 200)}
              for name in averages}
    hr_widths = {"photon": rng.normal(0.010, 0.002, 200), "pi0": rng.normal(0.016, 0.003, 200)}
    figures.plot_training_evolution(averages, hr_average, widths, hr_widths, "evolution")
    axes = np.array([ax for ax in captured_figures[0].axes if ax.get_label() != "<colorbar>"
                     and not ax.get_label().startswith("secondary")])
    image_axes = [ax for ax in axes if ax.images]
    titles = [ax.get_title() for ax in image_axes]
    assert titles == ["mean SR, epoch 1", "mean SR, epoch 3 (selected)", "mean HR",
                      "SR $-$ HR, epoch 1", "SR $-$ HR, epoch 3 (selected)"]
    np.testing.assert_allclose(image_axes[3].images[0].get_array(), (-0.5 * hr_average).T)
    width_axes = [ax for ax in axes if ax.patches and not ax.images]
    assert len(width_axes) == 2 * 2
    ks = statistics.ks_statistic(widths["epoch 1"]["pi0"], hr_widths["pi0"])
    labels = [t.get_text() for ax in width_axes for t in ax.get_legend().get_texts()]
    assert f"SR (KS {ks:.3g})" in labels


def test_width_distributions_draw_every_kind_and_particle_with_overlaps(captured_figures):
    rng = np.random.default_rng(2)
    widths = {kind: {"photon": rng.gamma(4.0, scale, 500), "pi0": rng.gamma(6.0, scale, 400)}
              for kind, scale in (("LR", 2e-3), ("HR", 1e-3), ("SR", 1.1e-3))}
    overlaps = {"HR": statistics.histogram_overlap(widths["HR"]["photon"], widths["HR"]["pi0"])}
    figures.plot_width_distributions(widths, overlaps, "widths")
    top, ratio = captured_figures[0].axes
    assert len(top.patches) == 3 * 2  # one histogram per kind and particle
    labels = [t.get_text() for t in top.get_legend().get_texts()]
    assert f"HR (overlap {100 * overlaps['HR']:.3g} %)" in labels
    assert any(label.startswith("LR (overlap") for label in labels)  # computed for LR too
    assert ratio.get_ylabel() == "SR / HR"


def test_barycentre_distances_report_means(captured_figures):
    rng = np.random.default_rng(3)
    distances = {"SR": rng.rayleigh(0.05, 300), "LR": rng.rayleigh(0.15, 300)}
    figures.plot_barycentre_distances(distances, "barycentres")
    (ax,) = captured_figures[0].axes
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0].startswith(f"LR (mean {distances['LR'].mean():.3g}")  # LR, HR, SR order
    assert labels[1].startswith(f"SR (mean {distances['SR'].mean():.3g}")


def test_rejection_curves_and_their_ratio(captured_figures):
    rng = np.random.default_rng(4)
    curves = {}
    for size, quality in (("1k", 1.0), ("10k", 2.0)):
        for kind, boost in (("LR", 0.0), ("SR", 0.5)):
            curves[kind, size] = statistics.rejection_curve(
                rng.normal(0.0, 1.0, 2000), rng.normal(quality + boost, 1.0, 2000))
    figures.plot_rejection_curves(curves, "rejection")
    top, ratio = captured_figures[0].axes
    assert sorted(line.get_label() for line in top.lines) == [
        "LR, 10k", "LR, 1k", "SR, 10k", "SR, 1k"]
    assert top.get_yscale() == "log"
    (one_k,) = [line for line in ratio.lines if line.get_label() == "1k"]
    eff, rej_lr, _ = curves["LR", "1k"]
    sr_rej = curves["SR", "1k"][1]
    np.testing.assert_allclose(one_k.get_ydata(), (sr_rej / rej_lr)[np.isfinite(sr_rej / rej_lr)])
