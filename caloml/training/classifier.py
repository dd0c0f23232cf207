"""Training of the photon/pi0 CNN classifiers of paper 000 §5."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np


@dataclasses.dataclass(frozen=True)
class ClassifierTraining:
    """How the photon/pi0 CNNs are trained (paper 000 §5).

    Attributes:
        learning_rate: Adam's initial learning rate, 1e-3 (§5).
        batch_size: not given in the paper; 128.
        epochs: upper limit; training stops when the validation loss has not improved for
            ``patience`` epochs and the best weights are restored (the paper tunes each
            training by hand; early stopping is caloml's automatic equivalent).
        patience: see ``epochs``.
    """

    learning_rate: float = 1e-3
    batch_size: int = 128
    epochs: int = 50
    patience: int = 5


def train_classifier(
    model: keras.Model,
    images: np.ndarray,
    labels: np.ndarray,
    validation: tuple[np.ndarray, np.ndarray],
    training: ClassifierTraining = ClassifierTraining(),
    seed: int = 0,
    verbose: int = 0,
) -> dict[str, list[float]]:
    """Fits ``model`` with binary cross-entropy and Adam; returns the Keras history.

    Args:
        model: a photon/pi0 classifier, output P(pi0) [B, 1].
        images: [N, H, W, 1] training images; labels: [N] (1 = pi0).
        validation: (images, labels) for early stopping.
        training: optimiser settings.
        seed: seed of the shuffling.
    """
    keras.utils.set_random_seed(seed)
    model.compile(
        optimizer=keras.optimizers.Adam(training.learning_rate),
        loss=keras.losses.BinaryCrossentropy(),
        metrics=[keras.metrics.BinaryAccuracy(name="accuracy"), keras.metrics.AUC(name="auc")],
    )
    stop = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=training.patience, restore_best_weights=True
    )
    history = model.fit(
        images, labels, batch_size=min(training.batch_size, len(images)),
        epochs=training.epochs, validation_data=validation, callbacks=[stop], shuffle=True,
        verbose=verbose,
    )
    return {k: [float(v) for v in values] for k, values in history.history.items()}
