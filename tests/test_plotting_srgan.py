"""Smoke tests of the SR-GAN result figures in caloml.plotting (paper 000, Figs. 6-13)."""

import os

import numpy as np
import pytest

from caloml import plotting
from caloml.observables import statistics


def _check_written(tmp_path, stem, returned):
    assert returned == os.fspath(stem)
    for ext in ("png", "pdf"):
        path = tmp_path / f"{stem.name}.{ext}"
        assert path.stat().st_size > 1000, path
    # save_figure writes under temporary names and renames: nothing else is left behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{stem.name}.pdf", f"{stem.name}.png"]


@pytest.fixture
def windows():
    rng = np.random.default_rng(0)
    n = 8
    hr = rng.exponential(size=(n, 24, 24)) * (rng.random((n, 24, 24)) < 0.3)
    lr = hr.reshape(n, 6, 4, 6, 4).sum(axis=(2, 4))
    sr = hr * rng.uniform(0.5, 1.5, size=hr.shape)
    labels = np.array([0, 1] * (n // 2), np.float32)
    return lr, hr, sr, labels


def test_plot_ks_history(tmp_path):
    rng = np.random.default_rng(1)
    epochs = 60
    history = {"val_ks_photon": list(0.5 * np.exp(-np.arange(epochs) / 10) + rng.random(epochs)
                                     * 0.05),
               "val_ks_pi0": list(0.4 * np.exp(-np.arange(epochs) / 15) + 0.02)}
    stem = tmp_path / "ks"
    _check_written(tmp_path, stem, plotting.plot_ks_history(history, None, stem))
    stem2 = tmp_path / "sub"
    stem2.mkdir()
    out = plotting.plot_ks_history({"ks_photon": [0.3, 0.2], "ks_pi0": [0.1, np.nan]}, 2,
                                   stem2 / "ks")
    assert os.path.getsize(f"{out}.png") > 0
    with pytest.raises(ValueError):
        plotting.plot_ks_history({"loss": [1.0]}, None, tmp_path / "bad")


def test_plot_training_history(tmp_path):
    epochs = np.arange(20)
    history = {
        "critic_loss": list(-np.exp(-epochs / 5)),
        "gradient_penalty": list(0.1 * np.exp(-epochs / 3)),
        "critic_accuracy": list(0.5 + 0.5 * np.exp(-epochs / 4)),
        "perceptual_loss": list(1.0 / (1 + epochs)),
        "val_perceptual_loss": list(1.2 / (1 + epochs)),
        "val_rejection_at_0.9": list(5 + epochs),
        "val_rejection_at_0.7": [np.inf] + list(20 + epochs[1:]),
    }
    stem = tmp_path / "history"
    _check_written(tmp_path, stem, plotting.plot_training_history(history, stem, title="50 GeV"))
    # Missing quantities leave empty panels rather than failing.
    other = tmp_path / "other"
    other.mkdir()
    plotting.plot_training_history({"critic_loss": [1.0, 0.5]}, other / "h")
    assert (other / "h.png").stat().st_size > 0


def test_plot_sr_examples(tmp_path, windows):
    lr, hr, sr, labels = windows
    stem = tmp_path / "examples"
    # One example per class keeps the test fast; the default (2) gives the paper's four rows.
    returned = plotting.plot_sr_examples(lr, hr, sr, labels, stem, num_per_class=1)
    _check_written(tmp_path, stem, returned)


def test_plot_average_images(tmp_path, windows):
    lr, hr, sr, _ = windows
    stem = tmp_path / "averages"
    _check_written(tmp_path, stem, plotting.plot_average_images(lr, hr, sr, stem))
    other = tmp_path / "other"
    other.mkdir()
    plotting.plot_average_images(None, hr, sr, other / "a")
    assert (other / "a.pdf").stat().st_size > 0


def test_plot_width_distributions(tmp_path):
    rng = np.random.default_rng(2)
    widths = {
        kind: {"photon": rng.gamma(4.0, scale, 500), "pi0": rng.gamma(6.0, scale, 400)}
        for kind, scale in (("LR", 2e-3), ("HR", 1e-3), ("SR", 1.1e-3))
    }
    overlaps = {"HR": statistics.histogram_overlap(widths["HR"]["photon"], widths["HR"]["pi0"])}
    stem = tmp_path / "widths"
    _check_written(tmp_path, stem, plotting.plot_width_distributions(widths, overlaps, stem))


def test_plot_barycentre_distances(tmp_path):
    rng = np.random.default_rng(3)
    distances = {"SR": rng.rayleigh(0.05, 300), "LR": rng.rayleigh(0.15, 300)}
    stem = tmp_path / "barycentres"
    _check_written(tmp_path, stem, plotting.plot_barycentre_distances(distances, stem))


def test_plot_rejection_curves(tmp_path):
    rng = np.random.default_rng(4)
    curves = {}
    for size, quality in (("1k", 1.0), ("10k", 2.0), ("100k", 3.0)):
        for kind, boost in (("LR", 0.0), ("SR", 0.5)):
            photons = rng.normal(0.0, 1.0, 2000)
            pions = rng.normal(quality + boost, 1.0, 2000)
            curves[kind, size] = statistics.rejection_curve(photons, pions)
    stem = tmp_path / "rejection"
    _check_written(tmp_path, stem, plotting.plot_rejection_curves(curves, stem, title="50 GeV"))
