"""Fitting a binary classifier with binary cross-entropy, Adam and early stopping."""

from __future__ import annotations

import keras
import numpy as np

from caloml.training import strategy


def train_classifier(
    model: keras.Model,
    images: np.ndarray,
    labels: np.ndarray,
    validation: tuple[np.ndarray, np.ndarray],
    learning_rate: float = 1e-3,
    batch_size: int = 128,
    epochs: int = 50,
    patience: int = 5,
    seed: int = 0,
    verbose: int = 0,
) -> dict[str, list[float]]:
    """Fits ``model`` (output P(class 1) [B, 1]) and returns the Keras history.

    Training stops when the validation loss has not improved for ``patience`` epochs, and the
    weights of the best epoch are restored. Runs under any ``tf.distribute`` strategy the model
    was built in, several workers included.

    Args:
        model: a classifier ending in a sigmoid (Keras then computes the loss from its logit).
        images: [N, ...] training inputs; labels: [N] (0 or 1).
        validation: (images, labels) for early stopping.
        learning_rate: Adam's learning rate.
        batch_size: mini-batch size (at most N).
        epochs: upper limit of epochs.
        patience: epochs without improvement before stopping.
        seed: seed of the initialisation-independent draws (shuffling, dropout).
        verbose: Keras verbosity.
    """
    keras.utils.set_random_seed(seed)
    strategy.fit_across_workers(model)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.BinaryCrossentropy(),
        metrics=[keras.metrics.BinaryAccuracy(name="accuracy"), keras.metrics.AUC(name="auc")],
    )
    stop = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=patience, restore_best_weights=True
    )
    history = model.fit(
        images, labels, batch_size=min(batch_size, len(images)), epochs=epochs,
        validation_data=validation, callbacks=[stop], shuffle=True, verbose=verbose,
    )
    return {k: [float(v) for v in values] for k, values in history.history.items()}
