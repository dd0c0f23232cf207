"""Evaluation of a trained SR-GAN on the independent test set (paper 000, sections 4–5).

Writes the paper's figures (PNG + PDF in ``plots/``) and ``metrics.json``:

- Fig. 6 / 7: KS statistics, losses and metrics per epoch (from ``history.json``);
- Fig. 8: average SR windows of the validation sample after the first epoch, an intermediate
  epoch and the selected one, against HR, with their shower widths;
- Figs. 9/10: example LR, HR and SR images;
- Fig. 11: shower widths (Eq. 4) of photons and π⁰ in LR, HR and SR, with the overlapping
  area of the photon and π⁰ histograms;
- Fig. 12: distance of the SR and LR barycentres from the HR barycentre;
- Fig. 13: pion rejection vs photon efficiency of CNNs trained on LR and on SR images with
  1k, 10k and 100k events, and their ratio.

The test set (1.1 million events at 20 GeV, paper footnote 3) is streamed block by block: only
per-event numbers (widths, distances, classifier logits) are kept, never all images. The LR and
SR CNNs of Fig. 13 are saved in ``classifiers/`` and reused by later evaluations (the SR ones
only while the generator is unchanged).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from typing import Any

import keras
import numpy as np
from absl import logging

from caloml import outputs
from caloml.data import preprocessing
from caloml.data import srgamma as srgamma_data
from caloml.observables import showers, statistics
from caloml.sim import srgamma as srgamma_geometry
from caloml.srgan import config as config_lib
from caloml.srgan import figures, networks
from caloml.training import callbacks, classifier, export, seeds

EFFICIENCIES = np.linspace(0.5, 0.99, 50)
REPORTED_EFFICIENCIES = (0.5, 0.7, 0.9, 0.95)
CELL_MM = {"LR": srgamma_geometry.CRYSTAL_MM, "HR": srgamma_geometry.CELL_MM,
           "SR": srgamma_geometry.CELL_MM}
CELL_RAD = {kind: showers.cell_size_rad(mm, srgamma_geometry.GUN_DISTANCE_MM)
            for kind, mm in CELL_MM.items()}
# Events per block of the streamed test set (about 40 MB of full images).
TEST_BLOCK_SIZE = 8192
PREDICT_BATCH = 512


def size_label(size: int) -> str:
    """``"1k"`` for 1000 (the paper's labels of the CNN training sizes), else the number."""
    return f"{size // 1000}k" if size % 1000 == 0 else str(size)


def _balanced(labels: np.ndarray, size: int) -> np.ndarray:
    """Indices of the first size/2 photons and size/2 π⁰."""
    half = size // 2
    return np.concatenate([np.flatnonzero(labels == 0)[:half], np.flatnonzero(labels == 1)[:half]])


def _by_particle(values: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
    return {p: values[labels == srgamma_data.LABELS[p]] for p in srgamma_data.PARTICLES}


def rejections(scores: np.ndarray, labels: np.ndarray):
    """``(curve, table)``: rejection vs photon efficiency, and at the reported efficiencies."""
    photons, pions = scores[labels == 0], scores[labels == 1]
    rejection, error, _ = statistics.rejection_at_efficiency(photons, pions, EFFICIENCIES)
    at = statistics.rejection_at_efficiency(photons, pions, np.asarray(REPORTED_EFFICIENCIES))
    table = {f"{e:g}": {"rejection": float(r), "error": float(d)}
             for e, r, d in zip(REPORTED_EFFICIENCIES, at[0], at[1], strict=True)}
    return (EFFICIENCIES, rejection, error), table


def weights_fingerprint(model: keras.Model) -> str:
    """SHA-256 of a model's weights: which generator the SR classifiers were trained on."""
    digest = hashlib.sha256()
    for weight in model.get_weights():
        digest.update(np.ascontiguousarray(weight).tobytes())
    return digest.hexdigest()


def _classifier_path(workdir: str, kind: str, size: int) -> str:
    return os.path.join(workdir, "classifiers", f"{kind.lower()}_{size_label(size)}.keras")


def train_cnns(config: config_lib.SRGANExperiment, paths: dict[str, str],
               generator: keras.Model, retrain: bool = False) -> dict[tuple[str, int], keras.Model]:
    """The LR and SR CNNs of Fig. 13, one per training-set size, trained or reused.

    A CNN saved in ``classifiers/`` by an earlier evaluation is reused unless ``retrain``; an
    SR CNN only if it was trained on the SR images of this same generator (its weights'
    fingerprint is kept in ``classifiers/manifest.json``). The CNNs of the largest size are
    exported as ``classifier_lr`` and ``classifier_sr`` (``.keras`` + SavedModel).
    """
    splits = config.splits
    train = srgamma_data.load_split(paths, splits, "classifier_train")
    validation = srgamma_data.load_split(paths, splits, "validation")
    sizes = [s for s in config.classifier_sizes if s <= len(train["label"])]
    skipped = sorted(set(config.classifier_sizes) - set(sizes))
    if skipped:
        logging.warning("classifier sizes %s exceed the %d classifier-training events; skipped",
                        skipped, len(train["label"]))
    manifest_path = os.path.join(config.workdir, "classifiers", "manifest.json")
    manifest = outputs.read_json(manifest_path) if os.path.exists(manifest_path) else {}
    fingerprint = weights_fingerprint(generator)
    images: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    models = {}
    os.makedirs(os.path.dirname(manifest_path), exist_ok=True)
    for size in sizes:
        for kind in ("LR", "SR"):
            path = _classifier_path(config.workdir, kind, size)
            current = kind == "LR" or manifest.get("generator") == fingerprint
            # The largest CNN is complete only with its export (a run killed in between
            # trains it again, to the same weights).
            exported = size < max(sizes) or export.is_complete(config.workdir,
                                                               f"classifier_{kind.lower()}")
            if not retrain and current and exported and os.path.exists(path):
                logging.info("reusing the %s CNN %s", kind, path)
                models[kind, size] = keras.saving.load_model(path)
                continue
            if kind not in images:
                images[kind] = (train["lr"], validation["lr"]) if kind == "LR" else (
                    generator.predict(train["lr"], batch_size=PREDICT_BATCH, verbose=0),
                    generator.predict(validation["lr"], batch_size=PREDICT_BATCH, verbose=0))
            train_images, val_images = images[kind]
            index = _balanced(train["label"], size)
            seed = seeds.seed_component(config.seed, f"classifier_{kind.lower()}_{size}")
            model = networks.PhotonPionClassifier(config_lib.ClassifierConfig.for_input(kind))
            training = config.classifier_training
            classifier.train_classifier(
                model, train_images[index], train["label"][index],
                (val_images, validation["label"]), learning_rate=training.learning_rate,
                batch_size=training.batch_size, epochs=training.epochs,
                patience=training.patience, seed=seed,
            )
            with outputs.atomic_path(path) as tmp:
                model.save(tmp)
            if size == max(sizes):
                export.export_model(model, config.workdir, f"classifier_{kind.lower()}")
            models[kind, size] = model
    outputs.write_json(manifest_path, {"generator": fingerprint,
                                       "sizes": [int(s) for s in sizes]})
    return models


class _TestAccumulator:
    """Per-event numbers of the streamed test set, gathered block by block."""

    def __init__(self):
        self.columns: dict[str, list[np.ndarray]] = {}
        self.examples: dict[str, list[np.ndarray]] = {}

    def add(self, **values: np.ndarray) -> None:
        for key, value in values.items():
            self.columns.setdefault(key, []).append(np.asarray(value))

    def keep_examples(self, labels: np.ndarray, per_class: int, **images: np.ndarray) -> None:
        """Keeps the first ``per_class`` photons and π⁰ of the test set for Figs. 9/10."""
        have = self.examples.get("label", [])
        counts = {v: sum(int(np.sum(x == v)) for x in have) for v in (0.0, 1.0)}
        take = np.concatenate([np.flatnonzero(labels == v)[: max(per_class - counts[v], 0)]
                               for v in (0.0, 1.0)]).astype(int)
        if take.size:
            for key, value in {"label": labels, **images}.items():
                self.examples.setdefault(key, []).append(np.asarray(value)[take])

    def arrays(self) -> dict[str, np.ndarray]:
        return {key: np.concatenate(values) for key, values in self.columns.items()}

    def example_arrays(self) -> dict[str, np.ndarray]:
        return {key: np.concatenate(values) for key, values in self.examples.items()}


def _stream_test(config, paths, generator, classifier_hr, cnns, num_examples):
    """One pass over the test split: widths, distances and every classifier's logits.

    Rejections are computed from logits, not sigmoid outputs, which saturate into ties.
    """
    acc = _TestAccumulator()
    hr_logits, cnn_logits = networks.classifier_logits(classifier_hr), {
        key: networks.classifier_logits(model) for key, model in cnns.items()}

    def logits(model, images):
        return model.predict(images, batch_size=1024, verbose=0)[:, 0]

    for block in srgamma_data.iter_split(paths, config.splits, "test",
                                         block_size=TEST_BLOCK_SIZE):
        labels = block["label"]
        sr = generator.predict(block["lr"], batch_size=PREDICT_BATCH, verbose=0)
        gev = {kind: preprocessing.postprocess_srgamma(images[..., 0], block["window_sum_gev"])
               for kind, images in (("LR", block["lr"]), ("HR", block["hr"]), ("SR", sr))}
        acc.add(label=labels, **{f"width_{k}": showers.shower_width(gev[k], CELL_RAD[k])
                                 for k in gev})
        acc.add(**{f"distance_{k}": showers.barycentre_distance(
            gev[k], CELL_MM[k], gev["HR"], CELL_MM["HR"], unit_mm=CELL_MM["LR"])
            for k in ("SR", "LR")})
        acc.add(hr_cnn_HR=logits(hr_logits, block["hr"]), hr_cnn_SR=logits(hr_logits, sr))
        acc.add(**{f"cnn_{kind}_{size}": logits(model, block["lr"] if kind == "LR" else sr)
                   for (kind, size), model in cnn_logits.items()})
        acc.keep_examples(labels, num_examples, **{k.lower(): v for k, v in gev.items()})
    return acc.arrays(), acc.example_arrays()


def _snapshot_columns(config, paths, generator, selection):
    """Fig. 8: the validation sample's average SR window and widths per generator state."""
    validation = srgamma_data.load_split(paths, config.splits, "validation")
    labels = validation["label"]
    hr = preprocessing.postprocess_srgamma(validation["hr"][..., 0],
                                           validation["window_sum_gev"])
    states = {}
    for epoch, path in sorted(snapshot_files(config.workdir).items()):
        if epoch != selection.get("epoch"):
            model = networks.SRGenerator(config.generator)
            model.load_weights(path)
            states[f"epoch {epoch}"] = model
    selected = selection.get("epoch")
    states[f"epoch {selected} (selected)" if selected else "final"] = generator
    averages, widths = {}, {}
    for name, model in states.items():
        sr = model.predict(validation["lr"], batch_size=PREDICT_BATCH, verbose=0)
        sr = preprocessing.postprocess_srgamma(sr[..., 0], validation["window_sum_gev"])
        averages[name] = sr.mean(axis=0)
        widths[name] = _by_particle(showers.shower_width(sr, CELL_RAD["SR"]), labels)
    hr_widths = _by_particle(showers.shower_width(hr, CELL_RAD["HR"]), labels)
    return averages, hr.mean(axis=0), widths, hr_widths


def snapshot_files(workdir: str) -> dict[int, str]:
    """``{epoch: path}`` of the generator snapshots kept for Fig. 8."""
    directory = os.path.join(workdir, "snapshots")
    if not os.path.isdir(directory):
        return {}
    out = {}
    for name in os.listdir(directory):
        stem = name.removesuffix(".weights.h5")
        if stem.startswith("generator_epoch_") and stem[16:].isdigit():
            out[int(stem[16:])] = os.path.join(directory, name)
    return out


def snapshot_path(workdir: str, epoch: int) -> str:
    """Where the generator's weights after ``epoch`` are kept for Fig. 8."""
    return os.path.join(workdir, "snapshots", f"generator_epoch_{epoch}.weights.h5")


def evaluate(config: config_lib.SRGANExperiment, paths: dict[str, str], generator: keras.Model,
             classifier_hr: keras.Model, retrain_classifiers: bool = False,
             num_examples: int = 2) -> dict[str, Any]:
    """Evaluates ``generator`` on the test split; writes ``plots/`` and ``metrics.json``.

    Args:
        config: the resolved :class:`~caloml.srgan.config.SRGANExperiment`.
        paths: ``{particle: file}`` holding the splits.
        generator: the selected generator.
        classifier_hr: the CNN trained on HR images (the perceptual network).
        retrain_classifiers: train the LR/SR CNNs of Fig. 13 again even if saved ones fit.
        num_examples: example events per particle in ``plots/examples``.

    Returns:
        The metrics written to ``metrics.json``.
    """
    workdir = config.workdir
    plots = os.path.join(workdir, "plots")
    os.makedirs(plots, exist_ok=True)
    title = f"{config.energy_gev:g} GeV"
    cnns = train_cnns(config, paths, generator, retrain_classifiers)
    test, examples = _stream_test(config, paths, generator, classifier_hr, cnns, num_examples)
    labels = test["label"]
    widths = {kind: _by_particle(test[f"width_{kind}"], labels) for kind in ("LR", "HR", "SR")}
    bins = statistics.default_width_bins(*[w for d in widths.values() for w in d.values()])
    overlaps = {kind: statistics.histogram_overlap(w["photon"], w["pi0"], bins)
                for kind, w in widths.items()}
    distances = {kind: test[f"distance_{kind}"] for kind in ("SR", "LR")}
    curves, cnn_table = {}, {}
    for kind, size in cnns:
        curve, table = rejections(test[f"cnn_{kind}_{size}"], labels)
        curves[kind, size_label(size)] = curve
        cnn_table[f"{kind}_{size_label(size)}"] = table
        logging.info("%s CNN, %d training events: rejection at 90%% efficiency %.1f",
                     kind, size, table["0.9"]["rejection"])
    hr_cnn = {kind: rejections(test[f"hr_cnn_{kind}"], labels)[1] for kind in ("HR", "SR")}

    history = callbacks.read_history(os.path.join(workdir, "history.json"))
    columns = {k: [e.get(k, float("nan")) for e in history]
               for k in sorted({k for e in history for k in e})}
    selection_path = os.path.join(workdir, "selection.json")
    selection = outputs.read_json(selection_path) if os.path.exists(selection_path) else {}

    def stem(name):
        return os.path.join(plots, name)

    if history:
        figures.plot_ks_history(columns, selection.get("epoch"), stem("ks_history"), title=title)
        figures.plot_training_history(columns, stem("training_history"), title=title)
    evolution = _snapshot_columns(config, paths, generator, selection)
    figures.plot_training_evolution(*evolution, stem("training_evolution"),
                                    title=f"{title}, validation sample")
    figures.plot_sr_examples(examples["lr"], examples["hr"], examples["sr"], examples["label"],
                             stem("examples"), num_per_class=num_examples, title=title)
    figures.plot_width_distributions(widths, overlaps, stem("shower_widths"), bins=bins,
                                     title=title)
    figures.plot_barycentre_distances(distances, stem("barycentre_distances"), title=title)
    if curves:
        figures.plot_rejection_curves(curves, stem("rejection"), title=title)

    paper_key = srgamma_data.paper_energy(config.energy_gev)
    metrics = {
        "energy_gev": config.energy_gev,
        "selected_epoch": selection.get("epoch"),
        "validation_ks_at_selection": {k: selection.get(k) for k in ("ks_photon", "ks_pi0")},
        "epochs_trained": len(history),
        "test_events": {p: int(np.sum(labels == srgamma_data.LABELS[p]))
                        for p in srgamma_data.PARTICLES},
        "ks_sr_vs_hr_widths": {
            p: statistics.ks_statistic(widths["SR"][p], widths["HR"][p])
            for p in srgamma_data.PARTICLES
        },
        "width_overlap": overlaps,
        "paper_width_overlap": config_lib.PAPER_WIDTH_OVERLAP.get(paper_key),
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
