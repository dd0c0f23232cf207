"""Adversarial training of the 3DGAN (paper 003 §4.2; ``AngleTrain3dGAN.py``).

:class:`Gan3DTrainer` is the one training loop: a ``keras.Model`` holding the generator and the
discriminator whose ``train_step`` makes, as the original's batch loop ("we alternately train
the discriminator on a batch of real images and a batch of generated images, applying label
switching. We then train the generator while freezing the discriminator weights"):

1. a discriminator update on the real batch, its labels flipped with probability 0.05
   (``BitFlip``), and one on a generated batch made for the real batch's energies and angles
   (the fake requests come from the training distribution), its labels flipped likewise; the
   generator makes it in inference mode, as ``generator.predict`` did
   (``fake_batch_training_mode=True`` makes it in training mode);
2. ``generator_steps`` (2) generator updates on fresh noise for the same requests, the
   discriminator in training mode (dropout, batch statistics) but not updated, labels "real".

Loss (paper Eq. 1) ``W_G L_G + W_P L_P + W_A L_A + W_E L_E + W_B L_B``: binary cross-entropy
of the real/fake logit, MAPE of the regressed E/100, MAE of the measured angle (rad), MAPE of
the ECAL sum, MAPE of the 8 intensity-bin counts, with the weights of
:attr:`~caloml.gan3d.config.Gan3DConfig.loss_weights` (paper: 3, 0.1, 25, 0.1, 0.1). The
targets of every pass are the real batch's: its E/100, its measured angle, its ECAL sum and its
bin counts with empty bins set to 1 (``hist_count``). The angle, ECAL-sum and bin heads are
parameter-free, so in the discriminator's updates only the cross-entropy and the energy
regression have gradients; in the generator's, the bin counts (a step function of the cells)
have none, as in the original — the term is reported, and it moves nothing. MAPE is Keras'
``100 · |y − ŷ| / max(|y|, ε)``. Every per-event loss is reduced with
``tf.nn.compute_average_loss`` over the global batch, so a ``MirroredStrategy`` update equals
the one-device update (tested).
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from caloml.gan3d.config import Gan3DConfig
from caloml.training import adversarial

# The trackers of every run; the divergence guard watches exactly these.
METRIC_NAMES = (
    "discriminator_loss", "discriminator_real_loss", "discriminator_fake_loss",
    "discriminator_real_accuracy", "discriminator_fake_accuracy",
    "generator_loss", "generator_adversarial_loss", "generator_energy_mape",
    "generator_ecal_sum_mape",
)
# Only with the discriminator's angle head (anglegan, paper_text) and its bin-count head.
ANGLE_METRIC_NAMES = ("generator_angle_mae_rad",)
BIN_METRIC_NAMES = ("generator_bins_mape",)
# Keras' MAPE clips the denominator at its epsilon.
_EPSILON = 1e-7


def metric_names(discriminator_config) -> tuple[str, ...]:
    """The trackers of a run whose discriminator is configured by ``discriminator_config``."""
    angle = discriminator_config.measures_angle
    bins = angle and discriminator_config.bin_counts
    return METRIC_NAMES + (ANGLE_METRIC_NAMES if angle else ()) + (
        BIN_METRIC_NAMES if bins else ())


def make_optimizers(config: Gan3DConfig) -> tuple[keras.optimizers.Optimizer,
                                                 keras.optimizers.Optimizer]:
    """RMSprop for the generator and for the discriminator (``RMSprop()``: 1e-3, ρ 0.9)."""
    return tuple(keras.optimizers.RMSprop(config.learning_rate, rho=config.rho,
                                          epsilon=_EPSILON) for _ in range(2))


def mape(target: tf.Tensor, prediction: tf.Tensor) -> tf.Tensor:
    """Per-event mean absolute percentage error over the last axis: ``[B, k]`` → ``[B]``."""
    denominator = ops.maximum(ops.abs(target), _EPSILON)
    return 100.0 * ops.mean(ops.abs(target - prediction) / denominator, axis=-1)


class Gan3DTrainer(adversarial.AdversarialTrainer):
    """Trains a 3DGAN generator against its discriminator.

    Each batch is a dict (:func:`caloml.data.threedgan.training_dataset`): ``ecal_power``
    ``[B, X, Y, Z, 1]`` (real cells to the power p), ``energy`` ``[B, 1]`` GeV, ``angle``
    ``[B, 1]`` rad (the measured angle), ``ecal_sum`` ``[B, 1]``, ``noise``
    ``[B, 1 + G, noise_dim]`` (draw 0 makes the discriminator's fake batch, draws 1..G the
    generator's batches), ``real_label`` and ``fake_label`` ``[B]`` (1 real, 0 fake, flipped).

    Args:
        generator: a :class:`~caloml.gan3d.networks.Gan3DGenerator`.
        discriminator: a :class:`~caloml.gan3d.networks.Gan3DDiscriminator`.
        config: loss weights, steps and the global batch size.
    """

    def __init__(self, generator: keras.Model, discriminator: keras.Model, config: Gan3DConfig,
                 **kwargs):
        super().__init__(generator, discriminator, config, metric_names(discriminator.config),
                         **kwargs)
        self.conditions_on_angle = generator.config.conditions_on_angle
        self.measures_angle = discriminator.config.measures_angle
        self.energy_scale_gev = generator.config.energy_scale_gev

    def generator_inputs(self, noise: tf.Tensor, energy: tf.Tensor,
                         angle: tf.Tensor) -> dict[str, tf.Tensor]:
        inputs = {"energy": energy, "latent": noise}
        if self.conditions_on_angle:
            inputs["angle"] = angle
        return inputs

    def targets(self, data: dict, real_outputs: dict) -> dict[str, tf.Tensor]:
        """The real batch's targets of every pass (the bins from the real pass, empty → 1)."""
        targets = {"energy": data["energy"] / self.energy_scale_gev,
                   "ecal_sum": data["ecal_sum"]}
        if self.measures_angle:
            targets["angle"] = data["angle"]
            if "bins" in real_outputs:
                targets["bins"] = ops.maximum(ops.stop_gradient(real_outputs["bins"]), 1.0)
        return targets

    def loss_terms(self, outputs: dict, labels: tf.Tensor, targets: dict
                   ) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
        """The weighted per-event total and each unweighted per-event term."""
        terms = {"real": ops.binary_crossentropy(labels, outputs["real"][:, 0],
                                                 from_logits=True),
                 "energy": mape(targets["energy"], outputs["energy"]),
                 "ecal_sum": mape(targets["ecal_sum"], outputs["ecal_sum"])}
        if "angle" in targets:
            terms["angle"] = ops.mean(ops.abs(targets["angle"] - outputs["angle"]), axis=-1)
        if "bins" in targets:
            terms["bins"] = mape(targets["bins"], outputs["bins"])
        total = sum(self.config.weight(name) * term for name, term in terms.items()
                    if self.config.weight(name) > 0)
        return total, terms

    def discriminator_step(self, images: tf.Tensor, labels: tf.Tensor, targets: dict | None,
                           data: dict, kind: str) -> dict:
        """One discriminator update; returns its outputs (the real pass gives the targets)."""
        with tf.GradientTape() as tape:
            outputs = self.discriminator({"ecal_power": images}, training=True)
            if targets is None:
                targets = self.targets(data, outputs)
            total, _ = self.loss_terms(outputs, labels, targets)
            loss = self._average(total)
        variables = self.discriminator.trainable_variables
        grads = tape.gradient(loss, variables)
        self.discriminator_optimizer.apply_gradients(zip(grads, variables, strict=True))
        self.trackers[f"discriminator_{kind}_loss"].update_state(total)
        self.trackers["discriminator_loss"].update_state(total)
        logit = outputs["real"][:, 0]
        correct = logit > 0 if kind == "real" else logit < 0
        self.trackers[f"discriminator_{kind}_accuracy"].update_state(ops.cast(correct, "float32"))
        return outputs, targets

    def generator_step(self, noise: tf.Tensor, data: dict, targets: dict) -> None:
        """One generator update: the discriminator (not updated) should call the showers real."""
        with tf.GradientTape() as tape:
            images = self.generator(self.generator_inputs(noise, data["energy"], data["angle"]),
                                    training=True)["ecal_power"]
            outputs = self.discriminator({"ecal_power": images}, training=True)
            labels = ops.ones_like(outputs["real"][:, 0])
            total, terms = self.loss_terms(outputs, labels, targets)
            loss = self._average(total)
        variables = self.generator.trainable_variables
        grads = tape.gradient(loss, variables)
        self.generator_optimizer.apply_gradients(zip(grads, variables, strict=True))
        self.trackers["generator_loss"].update_state(total)
        self.trackers["generator_adversarial_loss"].update_state(terms["real"])
        self.trackers["generator_energy_mape"].update_state(terms["energy"])
        self.trackers["generator_ecal_sum_mape"].update_state(terms["ecal_sum"])
        if self.measures_angle:
            self.trackers["generator_angle_mae_rad"].update_state(terms["angle"])
            if "bins" in terms:
                self.trackers["generator_bins_mape"].update_state(terms["bins"])

    def train_step(self, data):
        data, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        _, targets = self.discriminator_step(data["ecal_power"], data["real_label"], None, data,
                                             "real")
        noise = data["noise"]
        fake = self.generator(self.generator_inputs(noise[:, 0], data["energy"], data["angle"]),
                              training=self.config.fake_batch_training_mode)["ecal_power"]
        self.discriminator_step(fake, data["fake_label"], targets, data, "fake")
        for k in range(1, self.config.generator_steps + 1):
            self.generator_step(noise[:, k], data, targets)
        return {name: tracker.result() for name, tracker in self.trackers.items()}
