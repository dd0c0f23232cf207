"""The shell of a two-network adversarial trainer: networks, optimizers, trackers, averaging.

:class:`AdversarialTrainer` holds what every GAN trainer of caloml shares, so that a system's
trainer writes only its ``train_step`` and its losses: the generator and the discriminator,
their two optimizers (built in ``compile``, inside the strategy scope), one
``keras.metrics.Mean`` tracker per reported value, and the replica-correct mean of a
per-example loss over the global batch.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import keras
import tensorflow as tf


class AdversarialTrainer(keras.Model):
    """A ``keras.Model`` training ``generator`` against ``discriminator``.

    Args:
        generator: the generator (what ``call`` runs).
        discriminator: the discriminator.
        config: the training settings; ``config.batch_size`` is the global batch.
        metric_names: the values the trainer reports (one ``Mean`` tracker each).
    """

    def __init__(self, generator: keras.Model, discriminator: keras.Model, config: Any,
                 metric_names: Sequence[str], **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.config = config
        self.trackers = {name: keras.metrics.Mean(name=name) for name in metric_names}

    def compile(self, generator_optimizer: keras.optimizers.Optimizer,
                discriminator_optimizer: keras.optimizers.Optimizer, **kwargs) -> None:
        # Keras' `optimizer` slot holds the generator's (what callbacks such as TensorBoard
        # report); both are built now, inside the strategy scope, so that no variable is created
        # in a replica context.
        super().compile(optimizer=generator_optimizer, **kwargs)
        self.generator_optimizer = generator_optimizer
        self.discriminator_optimizer = discriminator_optimizer
        generator_optimizer.build(self.generator.trainable_variables)
        discriminator_optimizer.build(self.discriminator.trainable_variables)
        self.built = True

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return list(self.trackers.values())

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def _average(self, per_example: tf.Tensor) -> tf.Tensor:
        """Mean over the global batch: the optimizer sums the replicas' gradients."""
        return tf.nn.compute_average_loss(per_example, global_batch_size=self.config.batch_size)


def fit_adversarial(build: Callable[[], tuple[keras.Model, keras.Model, AdversarialTrainer]],
                    *, distribution: Any, out: str, workdir: str, epochs: int,
                    make_dataset: Callable[[int], Any], steps_per_epoch: Callable[[], int],
                    progress_metrics: Sequence[str], progress: bool,
                    describe: Callable[[int], str],
                    extra_callbacks: Callable[[int], Sequence[Any]] | None = None
                    ) -> keras.Model:
    """Builds (or restores) a GAN and trains it up to ``epochs``; returns the generator.

    Inside the strategy's scope ``build()`` makes the generator, the discriminator and the
    compiled trainer; a :class:`~caloml.training.checkpoint.Checkpointer` of both networks and
    both optimizers restores the last completed epoch from ``workdir/checkpoints`` (it writes
    into ``out/checkpoints``, the chief's work directory or a worker's temporary one). Training
    runs ``fit`` with the divergence guard on the trainer's trackers, the history, TensorBoard,
    the checkpointer and, with ``progress`` on the chief, a progress bar of
    ``progress_metrics``.

    Args:
        build: ``() -> (generator, discriminator, trainer)``, called in the strategy scope;
            ``discriminator`` may be None when the trainer has ``checkpoint_items()``.
        distribution: the ``tf.distribute`` strategy.
        out: the directory this process writes into.
        workdir: the run's work directory (where a resumed run's checkpoints are).
        epochs: train up to this epoch.
        make_dataset: ``first_epoch -> dataset`` of endless, reproducible batches.
        steps_per_epoch: ``() -> steps`` (called only when there is training left).
        progress_metrics: trackers shown in the progress bar.
        progress: show a progress bar (else one log line per epoch).
        describe: ``initial_epoch -> text`` logged before training starts.
        extra_callbacks: ``initial_epoch -> callbacks`` run after the history and before the
            checkpointer (so what they record at an epoch's end is there when it is saved).
    """
    from absl import logging

    from caloml.training import callbacks, checkpoint, strategy

    with distribution.scope():
        generator, discriminator, trainer = build()
        # A trainer with more networks than two (the jet SR GAN's four discriminators) names
        # them all in checkpoint_items().
        items = (trainer.checkpoint_items() if hasattr(trainer, "checkpoint_items") else
                 dict(generator=generator, discriminator=discriminator,
                      generator_optimizer=trainer.generator_optimizer,
                      discriminator_optimizer=trainer.discriminator_optimizer))
        checkpointer = checkpoint.Checkpointer(
            os.path.join(out, "checkpoints"),
            restore_directory=os.path.join(workdir, "checkpoints"), **items)
        initial_epoch = checkpointer.restore()
    if initial_epoch >= epochs:
        return generator
    steps = steps_per_epoch()
    logging.info("%s", describe(initial_epoch))
    guard = callbacks.DivergenceGuard(
        tuple(trainer.trackers), lambda: checkpointer.latest,
        remedy="rerun the same command to resume from it, or use a new --workdir with another "
               "--seed")
    bar = ([callbacks.EpochProgress(tuple(progress_metrics))]
           if progress and strategy.is_chief(distribution) else [])
    trainer.fit(
        make_dataset(initial_epoch), epochs=epochs, initial_epoch=initial_epoch,
        steps_per_epoch=steps,
        shuffle=False,  # the datasets shuffle, reproducibly
        verbose=0 if progress else 2,
        callbacks=[
            *bar,
            guard,
            callbacks.History(os.path.join(out, "history.json"), initial_epoch),
            *(extra_callbacks(initial_epoch) if extra_callbacks else ()),
            keras.callbacks.TensorBoard(os.path.join(out, "logs")),
            checkpointer,
        ],
    )
    return generator
