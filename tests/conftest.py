"""Fixtures shared by every test folder."""

import matplotlib.pyplot as plt
import pytest

from caloml.plotting import core as plotting


@pytest.fixture
def captured_figures(monkeypatch):
    """Figures passed to :func:`caloml.plotting.core.save_figure`, kept instead of saved.

    Lets a test inspect what a figure shows (axes, lines, images, labels) rather than only
    that a file was written.
    """
    figures = []

    def capture(fig, path_stem, formats=("png", "pdf"), dpi=150):
        figures.append(fig)
        return [f"{path_stem}.{fmt}" for fmt in formats]

    monkeypatch.setattr(plotting, "save_figure", capture)
    yield figures
    for fig in figures:
        plt.close(fig)
