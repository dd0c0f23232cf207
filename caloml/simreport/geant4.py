"""Geant4 reference of the CaloGAN geometry: the digitised fixture and comparisons with it.

The CaloGAN Geant4 showers (paper 004: e⁺, γ, π⁺ in the Pb/LAr stack, layers of 3×96,
12×12 and 12×6 cells, energies in MeV, incident energy uniform in 1-100 GeV) cannot be
downloaded here. Their 1D shower-shape histograms survive as PNG outputs of hep-lbdl/CaloGAN
``analysis/analysis.ipynb`` (matplotlib 2.0.0, 72 dpi): each figure draws the Geant4
histograms as ``histtype='stepfilled', alpha=0.2, normed=True`` in
``gnuplot2(linspace(0.2, 0.8, 3))`` (index 0 e⁺, 1 γ, 2 π⁺, drawn in that order), the GAN
histograms on top as opaque step lines, then a legend.

* :data:`CALOGAN_FIGURES` — what each figure's cell says (bins, scales) and its tick labels,
  read by eye; :func:`digitise_notebook` reads the Geant4 histograms out of the PNGs
  (:mod:`caloml.plotting.digitise`) into the fixture's content, which
  ``eval/digitise_calogan_notebook.py`` writes to :data:`REFERENCE_PATH`
  (``caloml/simreport/reference/calogan_geant4.json``, installed with the package).
* :func:`load_calogan_reference` — the validated fixture.
* :func:`separation_powers` — caloml's features (:func:`caloml.observables.layered.
  shower_shapes`) histogrammed with the fixture's bins, compared per observable and particle
  by :func:`separation_power`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
from collections.abc import Mapping

import numpy as np

from caloml import outputs
from caloml.errors import DataError, InputError, MissingFileError
from caloml.observables.statistics import separation_power
from caloml.plotting import digitise
from caloml.simreport.config import CALOGAN_PARTICLES

__all__ = ["CALOGAN_FIGURES", "FEATURES", "REFERENCE_PATH", "binned_mean", "digitise_notebook",
           "load_calogan_reference", "separation_power", "separation_powers", "write_reference"]

REFERENCE_PATH = os.path.join(os.path.dirname(__file__), "reference", "calogan_geant4.json")
SOURCE_REPOSITORY = "hep-lbdl/CaloGAN"
SOURCE_PATH = "analysis/analysis.ipynb"
# matplotlib.cm.gnuplot2(np.linspace(0.2, 0.8, 3)) in 0-255: e⁺, γ, π⁺ (notebook cell 48).
NOTEBOOK_RGB = np.array([[0.0, 0.0, 204.0], [200.78125, 41.8, 213.2], [255.0, 193.8, 61.2]])
NOTEBOOK_FILL_ALPHA = 0.2
NOTEBOOK_LEGEND_ALPHA = 0.8  # matplotlib 2.0's legend.framealpha


@dataclasses.dataclass(frozen=True)
class NotebookFigure:
    """One histogram figure of the notebook: what its cell's code and tick labels say.

    Attributes:
        observable: key in the fixture.
        cell: 0-based index of the cell in ``nb['cells']``.
        output: index of the PNG among that cell's PNG outputs.
        bins: ``("linspace"|"logspace", start, stop, num)`` or ``("edges", e0, e1, ...)``,
            the cell's ``bins``.
        x_scale, y_scale: ``"lin"`` or ``"log"`` (the cell's ``plt.xscale``/``plt.yscale``).
        x_ticks: values of the labelled major x ticks, left to right, as printed.
        y_ticks: values of the labelled major y ticks, bottom to top, as printed.
        definition: the histogrammed quantity in words (feats1d.py, the cell's code).
        unit: unit of the x axis ("" for a pure number).
    """

    observable: str
    cell: int
    output: int
    bins: tuple
    x_scale: str
    y_scale: str
    x_ticks: tuple[float, ...]
    y_ticks: tuple[float, ...]
    definition: str
    unit: str = ""

    def edges(self) -> np.ndarray:
        """The bin edges ``[B + 1]``, computed as the cell computes them."""
        kind, *args = self.bins
        if kind == "linspace":
            return np.linspace(args[0], args[1], int(args[2]))
        if kind == "logspace":
            return np.logspace(args[0], args[1], int(args[2]))
        return np.asarray(args, np.float64)


def _decades(lo: int, hi: int) -> tuple[float, ...]:
    return tuple(10.0**k for k in range(lo, hi + 1))


_UNIT_RANGE = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
_SPARSITY = "fraction of the layer's cells with energy > 0 (cell 50: (x > 0).mean((1, 2)))"
_FRACTION = "f_{l} = E_{l} / E_tot, the layer's share of the shower energy (feats1d efrac)"
_WIDTH = ("sqrt(x2 / (E + 1e-6) - (x / (E + 1e-6))²) with x, x2 the first and second moments "
          "of the layer's cell energies along its first image axis, rows at the midpoints of "
          "linspace(-240, 240, rows + 1) mm (3, 12, 12 rows in layers 0, 1, 2), E the layer "
          "energy in MeV; showers with a NaN width dropped (feats1d layer_lateral_width)")
_ERATIO = ("(E_max1 - E_max2) / (E_max1 + E_max2) of the layer's two most energetic cells "
           "(cell 82 eratio, without feats1d's epsilon: NaN for an empty layer, dropped)")

# Sources at hep-lbdl/CaloGAN 1adb7ab (analysis/analysis.ipynb, unchanged since fe59ab1 of
# 2017-05-08); tick labels read by eye from each PNG.
CALOGAN_FIGURES: tuple[NotebookFigure, ...] = (
    *(NotebookFigure(f"sparsity_layer{i}", 51, i, ("linspace", 0, 1, 20), "lin", "lin",
                     _UNIT_RANGE, tuple(range(top + 1)), _SPARSITY)
      for i, top in enumerate((7, 8, 6))),
    NotebookFigure("depth", 54, 0, ("edges", 0, 1, 2, 3), "lin", "lin",
                   (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0), _UNIT_RANGE,
                   "index of the deepest layer with energy: 2 if E_2 != 0, else 1 if E_1 != 0, "
                   "else 0 (feats1d depth)", "layer"),
    NotebookFigure("total_energy", 57, 0, ("linspace", 0, 120, 50), "lin", "log",
                   (0, 20, 40, 60, 80, 100, 120), _decades(-5, -1),
                   "E_tot = E_0 + E_1 + E_2 over all cells (feats1d total_energy), / 1000",
                   "GeV"),
    NotebookFigure("energy_layer0", 60, 0, ("logspace", -2, 2, 100), "log", "log",
                   _decades(-2, 1), _decades(-5, 1), "E_0, the energy in layer 0 (feats1d "
                   "energy), / 1000; the figure stops at 40 GeV (plt.xlim(xmax=40))", "GeV"),
    NotebookFigure("energy_layer1", 61, 0, ("logspace", -1, 3, 100), "log", "log",
                   _decades(-1, 2), _decades(-5, 0), "E_1, the energy in layer 1 (feats1d "
                   "energy), / 1000; the figure stops at 140 GeV (plt.xlim(xmax=140))", "GeV"),
    NotebookFigure("energy_layer2", 62, 0, ("logspace", -2, 2, 100), "log", "log",
                   _decades(-2, 2), _decades(-5, 1),
                   "E_2, the energy in layer 2 (feats1d energy), / 1000", "GeV"),
    NotebookFigure("energy_fraction_layer0", 64, 0, ("linspace", 0, 0.4, 100), "lin", "lin",
                   tuple(round(0.05 * k, 2) for k in range(9)), tuple(range(0, 31, 5)),
                   _FRACTION.format(l=0)),
    NotebookFigure("energy_fraction_layer0_log", 65, 0, ("logspace", -4, 0, 100), "log", "log",
                   _decades(-4, 0), _decades(-4, 3), _FRACTION.format(l=0)),
    NotebookFigure("energy_fraction_layer1", 66, 0, ("linspace", 0, 1, 100), "lin", "lin",
                   _UNIT_RANGE, tuple(range(8)), _FRACTION.format(l=1)),
    NotebookFigure("energy_fraction_layer1_log", 67, 0, ("logspace", -1, 0, 100), "log", "log",
                   _decades(-1, 0), _decades(-2, 1), _FRACTION.format(l=1)),
    NotebookFigure("energy_fraction_layer2", 68, 0, ("linspace", 0, 0.008, 100), "lin", "lin",
                   tuple(round(0.001 * k, 3) for k in range(9)), tuple(range(0, 2001, 250)),
                   _FRACTION.format(l=2)),
    NotebookFigure("energy_fraction_layer2_log", 69, 0, ("logspace", -4, 1, 100), "log", "log",
                   _decades(-4, 1), _decades(-3, 3), _FRACTION.format(l=2)),
    NotebookFigure("lateral_depth", 72, 0, ("logspace", 1, 5, 100), "log", "log",
                   _decades(1, 5), _decades(-7, -3),
                   "l_d = sum_l l E_l = E_1 + 2 E_2 (feats1d lateral_depth)", "MeV"),
    NotebookFigure("shower_depth", 73, 0, ("linspace", 0.4, 2, 100), "lin", "lin",
                   tuple(round(0.4 + 0.2 * k, 1) for k in range(9)), tuple(range(8)),
                   "s_d = l_d / E_tot = (E_1 + 2 E_2) / E_tot, the energy-weighted layer index "
                   "(feats1d shower_depth)", "layer"),
    NotebookFigure("shower_depth_width", 75, 0, ("linspace", 0, 0.9, 100), "lin", "lin",
                   (0.0, 0.2, 0.4, 0.6, 0.8), tuple(range(9)),
                   "sigma_sd = sqrt((E_1 + 4 E_2) / E_tot - s_d²), the energy-weighted spread "
                   "of the layer index (feats1d shower_depth_width)", "layer"),
    NotebookFigure("lateral_width_layer0", 78, 0, ("logspace", 0, 3, 100), "log", "log",
                   _decades(0, 2), _decades(-6, 0),
                   _WIDTH + "; the figure stops at 200 mm (plt.xlim(xmax=200))", "mm"),
    NotebookFigure("lateral_width_layer1", 79, 0, ("logspace", 0, 2, 100), "log", "log",
                   _decades(0, 2), _decades(-5, 0), _WIDTH, "mm"),
    NotebookFigure("lateral_width_layer2", 80, 0, ("logspace", 0, 3, 100), "log", "log",
                   _decades(0, 2), _decades(-6, 0),
                   _WIDTH + "; the figure stops at 300 mm (plt.xlim(xmax=300))", "mm"),
    NotebookFigure("energy_ratio_layer0", 83, 0, ("linspace", 0, 1, 100), "lin", "lin",
                   _UNIT_RANGE, (0, 2, 4, 6, 8), _ERATIO),
    NotebookFigure("energy_ratio_layer1", 84, 0, ("linspace", 0, 1, 100), "lin", "lin",
                   _UNIT_RANGE, (0, 5, 10, 15, 20), _ERATIO),
    NotebookFigure("energy_ratio_layer2", 85, 0, ("linspace", 0, 1, 100), "lin", "lin",
                   _UNIT_RANGE, (0, 2, 4, 6, 8, 10), _ERATIO),
)

# Fixture observable -> (key of caloml.observables.layered.shower_shapes, factor from the
# features' unit (MeV) to the figure's).
FEATURES: dict[str, tuple[str, float]] = {
    figure.observable: (
        figure.observable.removesuffix("_log"),
        1e-3 if figure.unit == "GeV" else 1.0,
    )
    for figure in CALOGAN_FIGURES
}

_NOTES = (
    "density: matplotlib hist(normed=True) = counts / (entries inside the bin range x bin "
    "width), one value per bin; null where unreadable.",
    "density_low / density_high bracket each bin: the fill's top edge is known to +-0.5 px "
    "where visible and to the height of the GAN lines stacked over it where hidden (up to "
    f"{digitise.MAX_BRACKET_PX:g} px, else null), widened by the tick fit's residual (<= 0.5 "
    "px). A pixel is 1/66 to 1/540 of a linear axis's range and 1-3 % of the value on the log "
    "axes. Synthetic histograms drawn the same way are recovered within their brackets.",
    "integral: sum of density x bin width over the readable bins (1 where every bin in the "
    "drawn range is readable; 0.98-1.01 found).",
    "null bins: bins beyond the figure's x limit (energy_layer0 above 40 GeV, energy_layer1 "
    "above 140 GeV, lateral_width_layer0 above 200 mm, lateral_width_layer2 above 300 mm); "
    "the Geant4 histograms hold (almost) nothing there.",
    "mean: over the readable bins, each bin at its centre; good to about a quarter of a bin "
    "width (sparsity: +-0.02), and a mean over the plotted range only (e.g. "
    "energy_fraction_layer2 stops at 0.008; its _log twin covers the whole range).",
)


def digitise_notebook(notebook: str | os.PathLike, commit: str) -> tuple[dict, dict]:
    """Digitise the Geant4 histograms of every figure in :data:`CALOGAN_FIGURES`.

    Args:
        notebook: path of hep-lbdl/CaloGAN ``analysis/analysis.ipynb``.
        commit: the repository commit the notebook was taken from (recorded in the fixture).

    Returns:
        ``(fixture, read)``: the fixture's JSON-ready content and ``{observable: (rgb,
        DigitisedFigure)}`` (for :func:`caloml.plotting.digitise.plot_overlay`).

    Raises:
        DataError: if a figure is missing from the notebook or cannot be calibrated.
    """
    pngs = digitise.notebook_pngs(notebook)
    observables, read = {}, {}
    for figure in CALOGAN_FIGURES:
        rgb = pngs.get((figure.cell, figure.output))
        if rgb is None:
            raise DataError(f"{notebook}: cell {figure.cell} has no PNG output {figure.output}")
        try:
            result = digitise.digitise_stepfilled(
                rgb, figure.edges(), figure.x_ticks, figure.y_ticks, NOTEBOOK_RGB,
                NOTEBOOK_FILL_ALPHA, figure.x_scale, figure.y_scale, NOTEBOOK_LEGEND_ALPHA)
        except DataError as error:
            raise DataError(f"{notebook} cell {figure.cell} ({figure.observable}): {error}") \
                from None
        read[figure.observable] = (rgb, result)
        edges = figure.edges()
        histograms = {}
        for p, particle in enumerate(CALOGAN_PARTICLES):
            density = result.density[p]
            readable = np.isfinite(density)
            histograms[particle] = {
                "density": _rounded(density),
                "density_low": _rounded(result.low[p]),
                "density_high": _rounded(result.high[p]),
                "integral": round(float(np.sum((density * np.diff(edges))[readable])), 4),
                "null_bins": int(np.sum(~readable)),
                "mean": _rounded([digitise.histogram_mean(edges, density)])[0],
            }
        observables[figure.observable] = {
            "name": figure.observable,
            "definition": figure.definition,
            "unit": figure.unit,
            "x_scale": figure.x_scale,
            "y_scale": figure.y_scale,
            "bins": _bins_code(figure.bins),
            "bin_edges": [float(e) for e in edges],
            "source": {"cell": figure.cell, "output": figure.output},
            "geant4": histograms,
        }
    fixture = {
        "description": (
            "Geant4 reference histograms of the CaloGAN geometry (Pb/LAr; layers of 3x96, 12x12 "
            "and 12x6 cells; MeV; e+, gamma, pi+ of 1-100 GeV), digitised from the PNG outputs "
            "of the CaloGAN authors' notebook."),
        "particles": list(CALOGAN_PARTICLES),
        "source": {
            "repository": SOURCE_REPOSITORY,
            "commit": commit,
            "path": SOURCE_PATH,
            "method": (
                "digitised from the PNG outputs by eval/digitise_calogan_notebook.py "
                "(caloml.simreport.geant4, caloml.plotting.digitise): axes calibrated on the "
                "major ticks, overlapping alpha=0.2 fills told apart by their composite "
                "colours, each bin's top bracketed over its pixel columns"),
            "uncertainty": _NOTES[1],
        },
        "notes": list(_NOTES),
        "observables": observables,
    }
    return fixture, read


def _bins_code(bins: tuple) -> str:
    kind, *args = bins
    if kind == "edges":
        return repr(list(args))
    return f"np.{kind}({', '.join(map(str, args))})"


def _rounded(values, digits: int = 4) -> list[float | None]:
    return [float(f"{v:.{digits}g}") if math.isfinite(v) else None for v in values]


def write_reference(path: str | os.PathLike, fixture: dict) -> None:
    """Write ``fixture`` as strict, indented JSON with each list of numbers on one line."""
    text = json.dumps(outputs.to_json(fixture), indent=1, allow_nan=False, ensure_ascii=False)
    number = r"(?:-?[\d.eE+-]+|null)"
    text = re.sub(rf"\[\s*({number}(?:,\s*{number})*)\s*\]",
                  lambda m: "[" + re.sub(r",\s*", ", ", m.group(1)) + "]", text)
    with outputs.atomic_path(path) as tmp_path, open(tmp_path, "w", encoding="utf-8") as f:
        f.write(text + "\n")


def _fail(path: str, where: str, what: str):
    raise DataError(f"{path}: {where}: {what}")


def _numbers(path: str, where: str, values, size: int | None = None) -> np.ndarray:
    """A JSON list of numbers and nulls as float64 (NaN for null), checked."""
    if not isinstance(values, list) or (size is not None and len(values) != size):
        _fail(path, where, f"expected a list of {size or 'some'} numbers, got {values!r:.60}")
    if not all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)
                             and math.isfinite(v)) for v in values):
        _fail(path, where, "expected finite numbers or null")
    return np.array([np.nan if v is None else v for v in values], np.float64)


def load_calogan_reference(path: str | os.PathLike | None = None) -> dict:
    """The Geant4 reference fixture, validated.

    Args:
        path: the JSON file (default :data:`REFERENCE_PATH`, installed with caloml).

    Returns:
        The fixture as written by :func:`write_reference`, with every ``bin_edges``,
        ``density``, ``density_low`` and ``density_high`` as a float64 numpy array (NaN for
        null): ``{"particles", "source", "notes", "observables": {name: {"definition",
        "unit", "x_scale", "bin_edges" [B + 1], "geant4": {particle: {"density" [B], ...,
        "mean"}}}}}``.

    Raises:
        MissingFileError: if the file does not exist.
        DataError: naming the file and key, if it is not valid JSON or misses or mangles a key.
    """
    path = os.fspath(path or REFERENCE_PATH)
    if not os.path.isfile(path):
        raise MissingFileError(f"Geant4 reference {path} does not exist")
    try:
        with open(path, encoding="utf-8") as f:
            fixture = json.load(f)
    except ValueError as error:
        raise DataError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(fixture, dict):
        _fail(path, "top level", "expected an object")
    particles = fixture.get("particles")
    if particles != list(CALOGAN_PARTICLES):
        _fail(path, "particles", f"expected {list(CALOGAN_PARTICLES)}, got {particles!r}")
    source = fixture.get("source")
    if not isinstance(source, dict) or not all(
            isinstance(source.get(k), str) for k in ("repository", "commit", "path")):
        _fail(path, "source", "expected an object with repository, commit and path")
    observables = fixture.get("observables")
    if not isinstance(observables, dict) or not observables:
        _fail(path, "observables", "expected a non-empty object")
    for name, entry in observables.items():
        where = f"observables/{name}"
        if not isinstance(entry, dict):
            _fail(path, where, "expected an object")
        if name not in FEATURES:
            _fail(path, where, f"unknown observable (known: {', '.join(FEATURES)})")
        for key in ("definition", "unit"):
            if not isinstance(entry.get(key), str):
                _fail(path, f"{where}/{key}", "expected a string")
        if entry.get("x_scale") not in ("lin", "log"):
            _fail(path, f"{where}/x_scale", f"expected lin or log, got {entry.get('x_scale')!r}")
        edges = _numbers(path, f"{where}/bin_edges", entry.get("bin_edges"))
        if len(edges) < 2 or not np.all(np.diff(edges) > 0):
            _fail(path, f"{where}/bin_edges", "expected at least two increasing finite edges")
        entry["bin_edges"] = edges
        histograms = entry.get("geant4")
        if not isinstance(histograms, dict):
            _fail(path, f"{where}/geant4", "expected an object")
        for particle in CALOGAN_PARTICLES:
            hist = histograms.get(particle)
            if not isinstance(hist, dict):
                _fail(path, f"{where}/geant4/{particle}", "missing")
            arrays = {key: _numbers(path, f"{where}/geant4/{particle}/{key}", hist.get(key),
                                    len(edges) - 1)
                      for key in ("density", "density_low", "density_high")}
            density = arrays["density"]
            if np.any(density < 0) or not np.array_equal(np.isnan(density),
                                                         np.isnan(arrays["density_low"])):
                _fail(path, f"{where}/geant4/{particle}/density",
                      "expected non-negative values, null where density_low is null")
            hist.update(arrays)
    return fixture


def binned_mean(values: np.ndarray, bin_edges) -> float:
    """Mean of a sample as the fixture states Geant4's: histogrammed on the figure's bins,
    each bin at its centre (values outside the bins and non-finite ones dropped)."""
    edges = np.asarray(bin_edges, np.float64)
    values = np.asarray(values, np.float64).reshape(-1)
    counts = np.histogram(values[np.isfinite(values)], edges)[0]
    return digitise.histogram_mean(edges, counts / np.diff(edges))


def separation_powers(features: Mapping[str, Mapping[str, np.ndarray]],
                      reference: dict | None = None) -> dict[str, dict[str, float]]:
    """Separation power of caloml's showers from the Geant4 reference, per figure.

    Each sample is histogrammed with the fixture's bins after scaling to the figure's unit
    (:data:`FEATURES`); non-finite values (NaN E_ratio of empty layers, NaN widths) and
    values outside the bins are dropped, as the notebook's ``hist(normed=True)`` drops them.
    The reference densities times the bin widths are compared with the counts by
    :func:`separation_power`, skipping the reference's null bins (outside a figure's x limit).

    Args:
        features: ``{particle: shower_shapes(layers)}`` (:func:`caloml.observables.layered.
            shower_shapes` of showers in MeV) for some of ``positron``, ``photon``,
            ``piplus``.
        reference: a fixture from :func:`load_calogan_reference` (default: the packaged one).

    Returns:
        ``{observable: {particle: separation power}}`` for the particles given; NaN where
        no sample value falls into the bins.

    Raises:
        InputError: for an unknown particle or a missing feature.
    """
    reference = reference if reference is not None else load_calogan_reference()
    unknown = set(features) - set(CALOGAN_PARTICLES)
    if unknown:
        raise InputError(f"unknown particles {sorted(unknown)}; the reference has "
                         f"{', '.join(CALOGAN_PARTICLES)}")
    out: dict[str, dict[str, float]] = {}
    for name, entry in reference["observables"].items():
        feature, factor = FEATURES[name]
        edges = entry["bin_edges"]
        out[name] = {}
        for particle, sample in features.items():
            if feature not in sample:
                raise InputError(f"the {particle} features have no {feature!r} (needed for "
                                 f"{name}); pass caloml.observables.layered.shower_shapes")
            values = np.asarray(sample[feature], np.float64).reshape(-1) * factor
            counts = np.histogram(values[np.isfinite(values)], edges)[0]
            expected = entry["geant4"][particle]["density"] * np.diff(edges)
            out[name][particle] = separation_power(expected, counts)
    return out
