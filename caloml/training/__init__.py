"""Training machinery shared by every trainer: strategy, checkpoints, callbacks, losses, export.

* :mod:`caloml.training.strategy` — ``--strategy`` to a ``tf.distribute`` strategy; the chief.
* :mod:`caloml.training.checkpoint` — networks, optimizers, epoch and epoch selection, saved
  and restored: the commit point of a training.
* :mod:`caloml.training.callbacks` — divergence guard, history, validation monitor, progress.
* :mod:`caloml.training.seeds` — one seed per random component, derived from ``--seed``.
* :mod:`caloml.training.losses` — per-example GAN losses (reduce with ``compute_average_loss``).
* :mod:`caloml.training.adversarial` — the shell of a generator-vs-discriminator trainer.
* :mod:`caloml.training.classifier` — fitting a binary classifier with early stopping.
* :mod:`caloml.training.export` — ``.keras`` and SavedModel exports of inference networks.
"""

# The values of every training script's --strategy flag (here, not in ``strategy``, so that the
# scripts can define their flags without importing TensorFlow).
STRATEGIES = ("auto", "default", "mirrored", "multi_worker")
