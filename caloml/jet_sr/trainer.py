"""Adversarial training of the jet super-resolution GAN (paper 001, §2 "Loss function",
"Training", Eqs. 2–8, Fig. 3).

:class:`JetSRTrainer` is the one training loop: a ``keras.Model`` holding the generator and, for
each stream s of Eq. 6 (``"std"``: pT images in GeV; ``"pow"``: pixel values raised to p), two
Markovian discriminators whose patch responses add up to the full response C = C1 + C2 (§2).
What each stream compares:

========  ===================  ============================  ==============================
stream    L_HR (Eq. 3)         L_LR (Eq. 4)                  L_patch, L_adv, Eq. 7–8
========  ===================  ============================  ==============================
std       |SR − HR|            |Σpool(SR) − LR|              SR against HR
pow       |SR^p − HR^p|        |Σpool(SR)^p − LR^p|          SR^p against HR^p
========  ===================  ============================  ==============================

SR^p is the generator's own p-scaled output (what it computes before the p-th root), so no
loss differentiates x^p at an empty pixel; the one power of a generated quantity, Σpool(SR)^p
(the original code's choice for the p-scaled LR term), goes through :func:`safe_power`, whose
gradient is finite and zero at 0. HR^p and LR^p are powers of the data.

Each step computes the generator's and the discriminators' gradients at the same point and
applies both: the original code's order (a generator update, then a discriminator update on
the images generated before it, with discriminator weights the generator update does not
change) amounts to exactly this, and it needs one forward pass of each network per image.

Per example, the losses are:

* L_HR: the mean over pixels of |SR − HR| (``hr_loss="per_image"``, Eq. 3), or the same scalar
  for every example, the L1 distance of the batch-mean SR and HR images (``"batch_mean"``, the
  original code);
* L_LR: the mean over LR pixels of the sum-pooled difference (Eq. 4);
* L_patch (Eq. 5): ``patch(X)`` is the [f, f] map of the fraction of f×f patches (the SR pixels
  one LR pixel is spread over) whose pixel at each in-patch position is active, averaged over
  all patches of the batch, "active" being ``sigmoid(sharpness · (x − threshold))``; L_patch is
  the mean squared difference of the SR and HR maps over the f² positions (the original code's
  ``get_hitogram`` with its MSE), one scalar for the batch;
* L_adv (Eq. 2) and the discriminator loss (Eq. 7): relativistic average GAN,
  ``−log σ(C_G − ⟨C_T⟩) − log(1 − σ(C_T − ⟨C_G⟩))`` for the generator and the labels swapped
  for the discriminators, averaged over the patch responses (⟨·⟩ is the batch mean per patch
  position, as in the original code);
* L_reg (Eq. 8): ``(‖∇_X' Σ_patches C(X')‖₂ − 1)²`` with ``X' = ε X_T + (1 − ε) X_G``, one ε ~
  U(0, 1) per example and stream, the epsilon of the norm inside the square root.

L_G = Σ_s λ_s (λ_HR L_HR + λ_LR L_LR + λ_adv L_adv + λ_patch L_patch) (Eq. 6) and
L_D = Σ_s (L_D,s + λ_reg L_reg,s). For the first ``warmup_batches`` batches the generator
minimises the per-image L1(SR, HR) of the plain images only and the discriminators are not
updated (the original code's warm-up).

Under ``tf.distribute`` the per-example losses are reduced with ``tf.nn.compute_average_loss``
over the global batch (replica batch × replicas: the training batches are split evenly), and
every batch-level quantity (⟨C⟩, the patch maps, the batch-mean images) is a global-batch mean
made with the replica context's ``all_reduce`` (whose gradient is again an all-reduce), so a
``MirroredStrategy`` update equals the one-device update (tested).

The second discriminators are re-initialised every ``reset_interval`` batches, together with
their optimizer's state, by :class:`DiscriminatorSchedule`, a callback that ``fit`` adds by
itself; it also starts the discriminators' optimizers afresh when the warm-up ends.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from caloml.errors import InputError
from caloml.jet_sr.config import STREAMS, JetSRConfig
from caloml.jet_sr.networks import sum_pool
from caloml.training import losses

# What JetSRTrainer reports per epoch (the divergence guard watches exactly these). The loss
# terms are summed over the streams with their weights λ_s, so that after the warm-up
# generator_loss = λ_HR·hr_loss + λ_LR·lr_loss + λ_adv·adversarial_loss + λ_patch·patch_loss.
METRIC_NAMES = (
    "generator_loss", "discriminator_loss", "hr_loss", "lr_loss", "patch_loss",
    "adversarial_loss", "gradient_penalty",
)
# Below this, Σpool(SR)^p counts as 0 (its derivative there is cut to 0, not infinite).
POWER_FLOOR = 1e-12


def make_optimizers(config: JetSRConfig) -> tuple[keras.optimizers.Optimizer, ...]:
    """Adam (§2: 1e-4, β1 0.5, β2 0.9) for the generator, the first and the second
    discriminators: the second ones have their own, so that a reset can start it afresh."""
    return tuple(keras.optimizers.Adam(config.learning_rate, beta_1=config.beta_1,
                                       beta_2=config.beta_2) for _ in range(3))


# ------------------------------------------------------------------------------------------
# Loss terms (per example, so that the caller reduces them over the global batch)
# ------------------------------------------------------------------------------------------


def l1_per_image(a, b):
    """Mean absolute difference of each image pair: ``[B, H, W, C]`` twice → ``[B]``."""
    return ops.mean(ops.abs(a - b), axis=(1, 2, 3))


def safe_power(x, power: float, floor: float = POWER_FLOOR):
    """``x^power`` for ``x > floor``, else 0, with a finite gradient everywhere.

    ``x^p`` (p < 1) has an infinite derivative at 0; where ``x ≤ floor`` the value and the
    gradient here are 0 (the double ``where`` keeps NaNs out of the unused branch).
    """
    positive = x > floor
    return ops.where(positive, ops.power(ops.where(positive, x, floor), power), 0.0)


def patch_map(images, factor: int, threshold: float, sharpness: float):
    """Per image, the fraction of f×f patches active at each in-patch position (Eq. 5).

    Args:
        images: ``[B, H, W, 1]`` with H and W multiples of ``factor``.
        factor: the patch size f (the up-scaling factor).
        threshold: pixel value above which a pixel counts as active.
        sharpness: slope of the sigmoid that stands for the step ``x > threshold``.

    Returns:
        ``[B, f, f]``; the batch mean of it is ``patch()`` of Eq. 5.
    """
    shape = ops.shape(images)
    height, width = shape[1], shape[2]
    active = ops.sigmoid(sharpness * (images[..., 0] - threshold))
    blocks = ops.reshape(active, (-1, height // factor, factor, width // factor, factor))
    return ops.mean(blocks, axis=(1, 3))


def ragan_generator_loss(c_real, c_fake, mean_real, mean_fake):
    """Eq. 2 per example: ``−log σ(C_G − ⟨C_T⟩) − log(1 − σ(C_T − ⟨C_G⟩))``.

    Args:
        c_real: ``[B, h, w, 1]`` responses C to true (HR) images.
        c_fake: the same, to generated (SR) images.
        mean_real, mean_fake: ``[h, w, 1]`` batch means ⟨C_T⟩ and ⟨C_G⟩.

    Returns:
        ``[B]``, each averaged over the patch responses.
    """
    fake_term = ops.softplus(-(c_fake - mean_real))  # −log σ(x) = softplus(−x)
    real_term = ops.softplus(c_real - mean_fake)  # −log(1 − σ(x)) = softplus(x)
    return ops.mean(fake_term + real_term, axis=(1, 2, 3))


def ragan_discriminator_loss(c_real, c_fake, mean_real, mean_fake):
    """Eq. 7 per example: ``−log(1 − σ(C_G − ⟨C_T⟩)) − log σ(C_T − ⟨C_G⟩)`` (shapes as in
    :func:`ragan_generator_loss`)."""
    fake_term = ops.softplus(c_fake - mean_real)
    real_term = ops.softplus(-(c_real - mean_fake))
    return ops.mean(fake_term + real_term, axis=(1, 2, 3))


def gradient_penalty(critic, real, fake, epsilon):
    """Eq. 8 per example: ``(‖∇_X' Σ_patches C(X')‖₂ − 1)²``, ``X' = ε·real + (1 − ε)·fake``.

    Args:
        critic: ``images → [B, h, w, 1]`` patch responses C.
        real, fake: ``[B, H, W, 1]``.
        epsilon: ``[B]`` in [0, 1].

    Returns:
        ``[B]``.
    """
    # caloml.training.losses interpolates real + α (fake − real): α = 1 − ε.
    return losses.gradient_penalty(critic, real, fake, 1.0 - epsilon)


class _SummedCritic:
    """C = C1 + C2 (§2: "the full discriminator response is the sum of two")."""

    def __init__(self, first: keras.Model, second: keras.Model):
        self.first, self.second = first, second

    def __call__(self, images, training=False):
        return self.first(images, training=training) + self.second(images, training=training)


# ------------------------------------------------------------------------------------------
# Trainer
# ------------------------------------------------------------------------------------------


class JetSRTrainer(keras.Model):
    """Trains a :class:`~caloml.jet_sr.networks.JetSRGenerator` against the discriminators.

    Each batch is a dict: ``lr`` ``[B, h, w, 1]`` and ``hr`` ``[B, f·h, f·w, 1]``, pixel pT in
    GeV, and optionally ``gp_epsilon`` ``[B, 2]``, the ε of Eq. 8 for the streams
    ``("std", "pow")``; without it ε is drawn from a stateless generator seeded by ``seed``,
    the step and the replica.

    Args:
        generator: LR → ``{"sr_power", "sr"}``; its config gives f and p.
        discriminators: ``{stream: (first, second)}`` for every stream of ``config.streams``
            (:func:`~caloml.jet_sr.networks.make_discriminators`).
        config: loss weights, warm-up, reset interval.
        seed: seed of the ε fallback and of the second discriminators' re-initialisations.
    """

    def __init__(self, generator: keras.Model, discriminators: Mapping[str, Sequence[keras.Model]],
                 config: JetSRConfig, seed: int = 0, **kwargs: Any):
        super().__init__(**kwargs)
        missing = [s for s in config.streams if s not in discriminators]
        if missing:
            raise InputError(f"no discriminators for the stream(s) {', '.join(missing)}; "
                             f"config.streams is {config.streams}")
        self.generator = generator
        self.streams = config.streams
        self.discriminators = {s: tuple(discriminators[s]) for s in self.streams}
        for s, pair in self.discriminators.items():
            if len(pair) != 2:
                raise InputError(f"stream {s!r} needs two discriminators, got {len(pair)}")
        self.config = config
        self.seed = int(seed)
        self.factor = generator.config.factor
        self.power = generator.config.power
        self.trackers = {name: keras.metrics.Mean(name=name) for name in METRIC_NAMES}

    # --------------------------------------------------------------------- networks, setup

    def first_discriminators(self) -> list[keras.Model]:
        return [self.discriminators[s][0] for s in self.streams]

    def second_discriminators(self) -> list[keras.Model]:
        return [self.discriminators[s][1] for s in self.streams]

    def compile(self, generator_optimizer: keras.optimizers.Optimizer,
                discriminator_optimizer: keras.optimizers.Optimizer,
                second_discriminator_optimizer: keras.optimizers.Optimizer,
                **kwargs: Any) -> None:
        # Keras' `optimizer` slot holds the generator's (what TensorBoard reports); all three
        # are built now, inside the strategy scope, so no variable is made in a replica context.
        super().compile(optimizer=generator_optimizer, **kwargs)
        self.generator_optimizer = generator_optimizer
        self.discriminator_optimizer = discriminator_optimizer
        self.second_discriminator_optimizer = second_discriminator_optimizer
        generator_optimizer.build(self.generator.trainable_variables)
        discriminator_optimizer.build(_variables(self.first_discriminators()))
        second_discriminator_optimizer.build(_variables(self.second_discriminators()))
        self.built = True

    def checkpoint_items(self) -> dict[str, Any]:
        """Every network and optimizer, by name, for ``tf.train.Checkpoint(**items)``."""
        items: dict[str, Any] = {"generator": self.generator}
        for s in self.streams:
            first, second = self.discriminators[s]
            items[f"discriminator_{s}"] = first
            items[f"second_discriminator_{s}"] = second
        items.update(generator_optimizer=self.generator_optimizer,
                     discriminator_optimizer=self.discriminator_optimizer,
                     second_discriminator_optimizer=self.second_discriminator_optimizer)
        return items

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return list(self.trackers.values())

    def call(self, lr, training=False):
        return self.generator(lr, training=training)

    def fit(self, *args, callbacks: Sequence[keras.callbacks.Callback] | None = None,
            **kwargs):
        """``keras.Model.fit`` with a :class:`DiscriminatorSchedule` added if none is given."""
        callbacks = list(callbacks or [])
        if not any(isinstance(c, DiscriminatorSchedule) for c in callbacks):
            callbacks.append(DiscriminatorSchedule())
        return super().fit(*args, callbacks=callbacks, **kwargs)

    # --------------------------------------------------------------------- the step

    def _global_mean(self, values, global_batch):
        """Mean over the global batch of ``values`` ``[B_local, ...]`` (an all-reduce)."""
        context = tf.distribute.get_replica_context()
        total = context.all_reduce(tf.distribute.ReduceOp.SUM, ops.sum(values, axis=0))
        return total / global_batch

    def _epsilon(self, data, local_batch):
        if "gp_epsilon" in data:
            return ops.cast(data["gp_epsilon"], "float32")
        context = tf.distribute.get_replica_context()
        step = ops.cast(self.generator_optimizer.iterations, "int64")
        replica = ops.cast(context.replica_id_in_sync_group, "int64")
        seed = ops.stack([ops.cast(self.seed, "int64"), step * 4096 + replica])
        # keras.random takes no tensor seed; a stateless draw keyed by the (checkpointed) step
        # needs no generator state, so a resumed run draws the same ε.
        return tf.random.stateless_uniform([local_batch, len(STREAMS)], seed=seed)

    def compute_losses(self, data, training: bool = True) -> dict[str, Any]:
        """Every per-example loss term of one batch (see the module docstring).

        Returns:
            ``generator`` (Eq. 6) and ``discriminator`` (Σ_s Eq. 7 + λ_reg Eq. 8) ``[B]``, the
            λ_s-weighted terms ``hr``, ``lr``, ``patch``, ``adversarial``, the unweighted sum
            ``gradient_penalty``, the warm-up loss ``warmup`` and ``global_batch``.
        """
        c = self.config
        lr = ops.cast(data["lr"], "float32")
        hr = ops.cast(data["hr"], "float32")
        local_batch = ops.shape(lr)[0]
        # The global batch as tf.nn.compute_average_loss counts it: equal replica shares.
        replicas = tf.distribute.get_replica_context().num_replicas_in_sync
        global_batch = ops.cast(local_batch * replicas, "float32")
        epsilon = self._epsilon(data, local_batch)
        ones = ops.ones((local_batch,), "float32")

        def mean(values):
            return self._global_mean(values, global_batch)

        outputs = self.generator(lr, training=training)
        sr_lr = sum_pool(outputs["sr"], self.factor)
        streams = {
            "std": (outputs["sr"], sr_lr, hr, lr),
            "pow": (outputs["sr_power"], safe_power(sr_lr, self.power),
                    ops.power(ops.maximum(hr, 0.0), self.power),
                    ops.power(ops.maximum(lr, 0.0), self.power)),
        }
        terms = {name: ops.zeros((local_batch,)) for name in
                 ("hr", "lr", "patch", "adversarial", "discriminator", "gradient_penalty")}
        for s in self.streams:
            sr_s, sr_lr_s, hr_s, lr_s = streams[s]
            weight = c.stream_weight(s)
            if c.hr_loss == "per_image":
                hr_term = l1_per_image(sr_s, hr_s)
            else:
                hr_term = ops.mean(ops.abs(mean(sr_s) - mean(hr_s))) * ones
            lr_term = l1_per_image(sr_lr_s, lr_s)
            maps = [mean(patch_map(x, self.factor, c.patch_threshold, c.patch_sharpness))
                    for x in (sr_s, hr_s)]
            patch_term = ops.mean(ops.square(maps[0] - maps[1])) * ones
            critic = _SummedCritic(*self.discriminators[s])
            c_real = critic(hr_s, training=training)
            c_fake = critic(sr_s, training=training)
            mean_real, mean_fake = mean(c_real), mean(c_fake)
            adversarial = ragan_generator_loss(c_real, c_fake, mean_real, mean_fake)
            discriminator = ragan_discriminator_loss(c_real, c_fake, mean_real, mean_fake)
            penalty = gradient_penalty(critic, hr_s, ops.stop_gradient(sr_s),
                                       epsilon[:, STREAMS.index(s)])
            terms["hr"] += weight * hr_term
            terms["lr"] += weight * lr_term
            terms["patch"] += weight * patch_term
            terms["adversarial"] += weight * adversarial
            terms["discriminator"] += discriminator + c.lambda_reg * penalty
            terms["gradient_penalty"] += penalty
        terms["generator"] = (c.lambda_hr * terms["hr"] + c.lambda_lr * terms["lr"]
                              + c.lambda_adv * terms["adversarial"]
                              + c.lambda_patch * terms["patch"])
        terms["warmup"] = l1_per_image(outputs["sr"], hr)
        terms["global_batch"] = global_batch
        return terms

    def train_step(self, data):
        data, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        warm = ops.cast(self.generator_optimizer.iterations < self.config.warmup_batches,
                        "float32")
        generator_vars = self.generator.trainable_variables
        first_vars = _variables(self.first_discriminators())
        second_vars = _variables(self.second_discriminators())
        with tf.GradientTape(persistent=True) as tape:
            terms = self.compute_losses(data, training=True)
            generator_per_example = warm * terms["warmup"] + (1.0 - warm) * terms["generator"]
            generator_loss = tf.nn.compute_average_loss(generator_per_example)
            # During the warm-up the discriminators get zero gradients, which leave Adam's
            # weights and (zero) moments as they are.
            discriminator_loss = tf.nn.compute_average_loss((1.0 - warm) * terms["discriminator"])
        generator_grads = tape.gradient(generator_loss, generator_vars)
        discriminator_grads = tape.gradient(discriminator_loss, first_vars + second_vars)
        del tape
        self.generator_optimizer.apply_gradients(
            zip(generator_grads, generator_vars, strict=True))
        self.discriminator_optimizer.apply_gradients(
            zip(discriminator_grads[:len(first_vars)], first_vars, strict=True))
        self.second_discriminator_optimizer.apply_gradients(
            zip(discriminator_grads[len(first_vars):], second_vars, strict=True))
        reported = {"generator_loss": generator_per_example,
                    "discriminator_loss": terms["discriminator"],
                    "hr_loss": terms["hr"], "lr_loss": terms["lr"],
                    "patch_loss": terms["patch"], "adversarial_loss": terms["adversarial"],
                    "gradient_penalty": terms["gradient_penalty"]}
        for name, values in reported.items():
            self.trackers[name].update_state(values)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    # --------------------------------------------------------------------- batch-count events

    def after_batch(self, batches_done: int) -> None:
        """What happens after batch ``batches_done`` (counted from 1 over the whole training):
        fresh discriminator optimizers at the end of the warm-up, and the second
        discriminators' reset every ``reset_interval`` batches (§2, Table 1)."""
        c = self.config
        if c.warmup_batches and batches_done == c.warmup_batches:
            reset_optimizer(self.discriminator_optimizer)
            reset_optimizer(self.second_discriminator_optimizer)
        if c.reset_interval and batches_done % c.reset_interval == 0:
            self.reset_second_discriminators(batches_done // c.reset_interval)

    def reset_second_discriminators(self, index: int) -> None:
        """Re-initialises the second discriminators and their optimizer's state (§2: "For the
        second discriminator, we reset all weights after a fixed number of batches").

        Every weight is drawn again from its layer's initializer (Glorot-uniform kernels, zero
        biases), seeded by ``(seed, index)``, so a resumed run resets exactly as an unbroken
        one. The original code keeps the optimizer's moments; a freshly initialised network
        gets a fresh Adam here.

        Args:
            index: the number of the reset (1 for the first).
        """
        rng = np.random.default_rng([self.seed, int(index)])
        for network in self.second_discriminators():
            reset = set()
            for layer in network.layers:
                for attribute in ("kernel", "bias"):
                    variable = getattr(layer, attribute, None)
                    initializer = getattr(layer, f"{attribute}_initializer", None)
                    if variable is None or initializer is None:
                        continue
                    spec = keras.initializers.serialize(initializer)
                    if "seed" in spec["config"]:
                        spec["config"]["seed"] = int(rng.integers(2**31 - 1))
                    fresh = keras.initializers.deserialize(spec)
                    variable.assign(fresh(variable.shape, variable.dtype))
                    reset.add(id(variable))
            left = [w.path for w in network.weights if id(w) not in reset]
            if left:
                raise TypeError(f"cannot re-initialise {', '.join(left)} of {network.name}")
        reset_optimizer(self.second_discriminator_optimizer)


class DiscriminatorSchedule(keras.callbacks.Callback):
    """Calls :meth:`JetSRTrainer.after_batch` with the training's batch count after each batch.

    The count is the generator optimizer's ``iterations`` (one per step, checkpointed), so a
    resumed run keeps counting where it stopped. :meth:`JetSRTrainer.fit` adds this callback.
    """

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.model.after_batch(int(self.model.generator_optimizer.iterations.numpy()))


def reset_optimizer(optimizer: keras.optimizers.Optimizer) -> None:
    """Zeros every state variable of ``optimizer`` (moments, step count), not its learning
    rate: the next update is that of a new optimizer."""
    for variable in optimizer.variables:
        if variable.path.split("/")[-1] != "learning_rate":
            variable.assign(ops.zeros(variable.shape, variable.dtype))


def _variables(networks: Sequence[keras.Model]) -> list:
    return [v for network in networks for v in network.trainable_variables]
