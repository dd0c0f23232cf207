"""Evaluation of a trained SR-GAN on the independent test set (paper 000, sections 4–5).

Writes the paper's figures (PNG + PDF in ``plots/``) and ``metrics.json``:

- Fig. 6 / 7: KS statistics, losses and metrics per epoch (from ``history.json``);
- Fig. 8: average HR and SR windows and their difference;
- Figs. 9/10: example LR, HR and SR images;
- Fig. 11: shower widths (Eq. 4) of photons and pi0 in LR, HR and SR, with the overlapping
  area of the photon and pi0 histograms;
- Fig. 12: distance of the SR and LR barycentres from the HR barycentre;
- Fig. 13: pion rejection vs photon efficiency of CNNs trained on LR and on SR images with
  1k, 10k and 100k events, and their ratio.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

import keras
import numpy as np
from absl import logging

from caloml import outputs, plotting
from caloml.data import preprocessing
from caloml.data import srgamma as srgamma_data
from caloml.models import srgan as models
from caloml.observables import showers, statistics
from caloml.training import classifier, export

# Paper 000 §5: overlapping area of the photon and pi0 width histograms ("with a binning as
# in Fig. 11").
PAPER_WIDTH_OVERLAP = {
    "20": {"LR": 0.52, "HR": 0.0053, "SR": 0.0090},
    "50": {"LR": 0.85, "HR": 0.19, "SR": 0.29},
}
EFFICIENCIES = np.linspace(0.5, 0.99, 50)
REPORTED_EFFICIENCIES = (0.5, 0.7, 0.9, 0.95)
CELL_RAD = {"LR": showers.cell_size_rad(showers.LR_CELL_MM),
            "HR": showers.cell_size_rad(showers.HR_CELL_MM),
            "SR": showers.cell_size_rad(showers.HR_CELL_MM)}


def _size_label(size: int) -> str:
    return f"{size // 1000}k" if size % 1000 == 0 else str(size)


def _columns(entries: list[dict[str, float]]) -> dict[str, list[float]]:
    keys = sorted({k for e in entries for k in e})
    return {k: [e.get(k, float("nan")) for e in entries] for k in keys}


def _balanced(labels: np.ndarray, size: int) -> np.ndarray:
    """Indices of the first size/2 photons and size/2 pi0."""
    half = size // 2
    return np.concatenate([np.flatnonzero(labels == 0)[:half], np.flatnonzero(labels == 1)[:half]])


def _by_particle(values: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
    return {"photon": values[labels == 0], "pi0": values[labels == 1]}


def _rejections(scores: np.ndarray, labels: np.ndarray):
    rejection, error, _ = statistics.rejection_at_efficiency(
        scores[labels == 0], scores[labels == 1], EFFICIENCIES
    )
    at = statistics.rejection_at_efficiency(scores[labels == 0], scores[labels == 1],
                                            np.asarray(REPORTED_EFFICIENCIES))
    table = {f"{e:g}": {"rejection": float(r), "error": float(d)}
             for e, r, d in zip(REPORTED_EFFICIENCIES, at[0], at[1], strict=True)}
    return (EFFICIENCIES, rejection, error), table


def _cnn_study(config, paths, generator, test_lr, test_sr, test_labels):
    """Fig. 13: CNNs trained on LR or SR images of growing training sets."""
    splits = config.splits
    train = srgamma_data.load_split(paths, splits, "classifier_train")
    validation = srgamma_data.load_split(paths, splits, "validation")
    images = {
        "LR": (train["lr"], validation["lr"], test_lr),
        "SR": (generator.predict(train["lr"], batch_size=512, verbose=0),
               generator.predict(validation["lr"], batch_size=512, verbose=0), test_sr),
    }
    sizes = [s for s in config.classifier_sizes if s <= len(train["label"])]
    skipped = sorted(set(config.classifier_sizes) - set(sizes))
    if skipped:
        logging.warning("classifier sizes %s exceed the %d classifier-training events; skipped",
                        skipped, len(train["label"]))
    curves, table = {}, {}
    for size in sizes:
        index = _balanced(train["label"], size)
        for kind, (train_images, val_images, test_images) in images.items():
            model = models.PhotonPionClassifier(models.ClassifierConfig.for_input(kind.lower()))
            classifier.train_classifier(
                model, train_images[index], train["label"][index],
                (val_images, validation["label"]), config.classifier_training, seed=config.seed,
            )
            scores = model.predict(test_images, batch_size=1024, verbose=0)[:, 0]
            curve, at = _rejections(scores, test_labels)
            curves[(kind, _size_label(size))] = curve
            table[f"{kind}_{_size_label(size)}"] = at
            if size == max(sizes):
                export.export_model(model, config.workdir, f"classifier_{kind.lower()}")
            logging.info("%s CNN, %d training events: rejection at 90%% efficiency %.1f",
                         kind, size, at["0.9"]["rejection"])
    return curves, table


def evaluate(config, paths: dict[str, str], generator: keras.Model,
             classifier_hr: keras.Model) -> dict[str, Any]:
    """Evaluates ``generator`` on the test split; writes ``plots/`` and ``metrics.json``.

    Args:
        config: the resolved :class:`~caloml.training.srgan_experiment.SRGANExperiment`.
        paths: ``{particle: file}`` holding the splits.
        generator: the selected generator.
        classifier_hr: the CNN trained on HR images (the perceptual network).

    Returns:
        The metrics written to ``metrics.json``.
    """
    workdir = config.workdir
    plots = os.path.join(workdir, "plots")
    os.makedirs(plots, exist_ok=True)
    title = f"{config.energy_gev:g} GeV"
    test = srgamma_data.load_split(paths, config.splits, "test")
    labels = test["label"]
    sr = generator.predict(test["lr"], batch_size=512, verbose=0)
    window_sum = test["window_sum_gev"]
    gev = {kind: preprocessing.postprocess_srgamma(images[..., 0], window_sum)
           for kind, images in (("LR", test["lr"]), ("HR", test["hr"]), ("SR", sr))}

    widths = {kind: _by_particle(showers.shower_width(gev[kind], CELL_RAD[kind]), labels)
              for kind in ("LR", "HR", "SR")}
    bins = statistics.default_width_bins(*[w for d in widths.values() for w in d.values()])
    overlaps = {kind: statistics.histogram_overlap(w["photon"], w["pi0"], bins)
                for kind, w in widths.items()}
    distances = {
        "SR": showers.barycentre_distance(gev["SR"], showers.HR_CELL_MM, gev["HR"],
                                          showers.HR_CELL_MM),
        "LR": showers.barycentre_distance(gev["LR"], showers.LR_CELL_MM, gev["HR"],
                                          showers.HR_CELL_MM),
    }
    curves, cnn_table = _cnn_study(config, paths, generator, test["lr"], sr, labels)
    hr_cnn = {}
    for kind in ("HR", "SR"):
        images = test["hr"] if kind == "HR" else sr
        scores = classifier_hr.predict(images, batch_size=1024, verbose=0)[:, 0]
        hr_cnn[kind] = _rejections(scores, labels)[1]

    history_path = os.path.join(workdir, "history.json")
    history = {}
    if os.path.exists(history_path):
        with open(history_path) as f:
            history = _columns(json.load(f))
    selection = {}
    selection_path = os.path.join(workdir, "selection.json")
    if os.path.exists(selection_path):
        with open(selection_path) as f:
            selection = json.load(f)

    stem = lambda name: os.path.join(plots, name)  # noqa: E731
    if history:
        plotting.plot_ks_history(history, selection.get("epoch"), stem("ks_history"), title=title)
        plotting.plot_training_history(history, stem("training_history"), title=title)
    plotting.plot_average_images(gev["LR"], gev["HR"], gev["SR"], stem("average_images"),
                                 title=title)
    plotting.plot_sr_examples(gev["LR"], gev["HR"], gev["SR"], labels, stem("examples"),
                              title=title)
    plotting.plot_width_distributions(widths, overlaps, stem("shower_widths"), bins=bins,
                                      title=title)
    plotting.plot_barycentre_distances(distances, stem("barycentre_distances"), title=title)
    if curves:
        plotting.plot_rejection_curves(curves, stem("rejection"), title=title)

    energy_key = f"{config.energy_gev:g}"
    metrics = {
        "energy_gev": config.energy_gev,
        "selected_epoch": selection.get("epoch"),
        "validation_ks_at_selection": {k: selection.get(k) for k in ("ks_photon", "ks_pi0")},
        "epochs_trained": len(history.get("epoch", [])),
        "test_events": {"photon": int(np.sum(labels == 0)), "pi0": int(np.sum(labels == 1))},
        "ks_sr_vs_hr_widths": {
            p: statistics.ks_statistic(widths["SR"][p], widths["HR"][p]) for p in ("photon", "pi0")
        },
        "width_overlap": overlaps,
        "paper_width_overlap": PAPER_WIDTH_OVERLAP.get(energy_key),
        "barycentre_distance_crystals": {
            k: {"mean": float(np.mean(d)), "median": float(np.median(d))}
            for k, d in distances.items()
        },
        "hr_classifier_rejection": hr_cnn,
        "cnn_rejection": cnn_table,
        "config": dataclasses.asdict(config),
    }
    outputs.write_json(os.path.join(workdir, "metrics.json"), metrics)
    logging.info("width overlap LR %.3f, HR %.3f, SR %.3f; wrote %s", overlaps["LR"],
                 overlaps["HR"], overlaps["SR"], os.path.join(workdir, "metrics.json"))
    return metrics
