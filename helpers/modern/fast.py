"""A fast CIFAR-10 recipe written in Keras, from what the published speed runs found: Page's
"bag of tricks" (myrtle.ai, "How to train your ResNet", part 8) and Keller Jordan's airbench
(arXiv:2404.00498). Written for this course from their descriptions, not ported: a small, wide
network whose first layer is fixed to whiten 2x2 image patches, convolutions that start as
identities, GELU, BatchNorm without a trainable scale, a triangular learning rate with a larger
rate for BatchNorm's shifts, L2 through the gradient, label smoothing, Lookahead-style weight
averaging, alternating flips, fewer epochs, and test-time flips and shifts. Backend-agnostic:
`keras.ops` and NumPy only.

What it leaves out of airbench, so far: freezing the whitening layer's bias after 3 epochs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import keras
import numpy as np
from keras import ops

from helpers import environment
from helpers.modern.augment import RandomPadCrop
from helpers.modern.recipe import PiecewiseLinear, SGDWithL2
from helpers.modern.resnet import channel_statistics


def whitening_kernel(images: np.ndarray, size: int = 2, eps: float = 5e-4) -> np.ndarray:
    """A convolution kernel of shape (size, size, C, 2·size²·C) that whitens the images' size ×
    size patches: each filter is an eigenvector of the patches' covariance scaled by one over
    the square root of its eigenvalue, in both signs (so a ReLU-like activation after it
    loses nothing). `images` are normalised floats (N, H, W, C); a few thousand are enough."""
    channels = images.shape[-1]
    covariance, count = np.zeros((size * size * channels,) * 2), 0
    for start in range(0, len(images), 500):  # in chunks: all patches at once take gigabytes
        windows = np.lib.stride_tricks.sliding_window_view(images[start:start + 500],
                                                           (size, size), axis=(1, 2))
        # (N, H', W', C, size, size) -> rows in (size, size, C) order, a Keras kernel's layout
        patches = windows.transpose(0, 1, 2, 4, 5, 3).reshape(-1, size * size * channels)
        covariance += patches.T.astype(np.float64) @ patches
        count += len(patches)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance / count)
    order = np.argsort(eigenvalues)[::-1]
    filters = eigenvectors[:, order] / np.sqrt(eigenvalues[order] + eps)
    kernel = filters.reshape(size, size, channels, -1)
    return np.concatenate([kernel, -kernel], axis=-1).astype(np.float32)


@keras.saving.register_keras_serializable(package="helpers")
class PatchWhitening(keras.layers.Layer):
    """A `size` × `size` convolution ("valid" padding) whose kernel is fixed, set from the
    training images with `whitening_kernel`, and whose bias trains. Until its kernel is set it
    passes patches through a random projection, so set it before training."""

    def __init__(self, filters: int, size: int = 2, **kwargs) -> None:
        super().__init__(**kwargs)
        self.filters, self.size = filters, size

    def build(self, input_shape: tuple) -> None:
        self.kernel = self.add_weight(shape=(self.size, self.size, input_shape[-1], self.filters),
                                      initializer="glorot_uniform", trainable=False,
                                      name="kernel")
        self.bias = self.add_weight(shape=(self.filters,), initializer="zeros", name="bias")

    def call(self, images):
        kernel = ops.cast(self.kernel, images.dtype)
        return ops.conv(images, kernel, padding="valid") + ops.cast(self.bias, images.dtype)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        height, width = input_shape[1], input_shape[2]
        shrink = self.size - 1
        return (input_shape[0], height and height - shrink, width and width - shrink,
                self.filters)

    def get_config(self) -> dict:
        return {**super().get_config(), "filters": self.filters, "size": self.size}


@keras.saving.register_keras_serializable(package="helpers")
class IdentityStart(keras.initializers.Initializer):
    """A 3x3 kernel that starts as PyTorch's default (uniform within ±1/√fan-in) except that
    its first min(in, out) filters pass their own input channel through unchanged: each such
    convolution starts as an identity plus the rest, an implicit residual (airbench's
    initialisation). Unseeded, so that every layer draws its own values (from Keras's global
    seed, which `environment.set_seed` sets)."""

    def __call__(self, shape, dtype=None):
        base = keras.initializers.VarianceScaling(1 / 3, "fan_in", "uniform")
        kernel = keras.ops.convert_to_numpy(base(shape, dtype="float32"))
        height, width, inputs, outputs = shape
        for channel in range(min(inputs, outputs)):
            kernel[:, :, :, channel] = 0.0
            kernel[height // 2, width // 2, channel, channel] = 1.0
        return ops.convert_to_tensor(kernel, dtype=dtype or "float32")


def _conv_group(x, filters: int):
    """Convolution, 2x2 max-pooling, BatchNorm, GELU, then convolution, BatchNorm, GELU."""
    for pool in (True, False):
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False,
                                kernel_initializer=IdentityStart())(x)
        if pool:
            x = keras.layers.MaxPooling2D()(x)
        # Shift but no scale (the next layers undo a scale); fast-moving statistics.
        x = keras.layers.BatchNormalization(momentum=0.6, epsilon=1e-5, scale=False)(x)
        x = keras.layers.Activation("gelu")(x)
    return x


def fast_net(mean: np.ndarray, variance: np.ndarray, *, widths: tuple[int, int, int] = (64, 256,
             256), whitening_size: int = 2, translate: int = 2, random_flip: bool = False,
             image_shape: tuple[int, int, int] = (32, 32, 3), num_classes: int = 10,
             seed: int | None = None) -> keras.Model:
    """The fast recipe's network for uint8 images: in training, flips (alternating, or random
    with `random_flip`) and shifts of up to `translate` pixels; normalisation, a patch-whitening
    layer, three convolution groups and a linear layer scaled by 1/9. Outputs logits. Set the
    whitening kernel before training (`FastRecipe.build` does)."""
    images = keras.Input(image_shape, dtype="uint8", name="images")
    x = images if random_flip else AlternatingFlip(name="alternating_flip")(images)
    x = keras.layers.Normalization(mean=mean, variance=variance, name="normalise")(x)
    if random_flip:
        x = keras.layers.RandomFlip("horizontal", seed=seed, name="flip")(x)
    x = RandomPadCrop(translate, seed=seed, name="pad_crop")(x)
    filters = 2 * whitening_size * whitening_size * image_shape[-1]
    x = PatchWhitening(filters, whitening_size, name="whitening")(x)
    x = keras.layers.Activation("gelu")(x)
    for width in widths:
        x = _conv_group(x, width)
    x = keras.layers.GlobalMaxPooling2D()(x)
    x = keras.layers.Dense(num_classes, use_bias=False, dtype="float32")(x)
    logits = keras.layers.Rescaling(1 / 9, dtype="float32", name="logits")(x)
    return keras.Model(images, logits, name="fast_net")


@keras.saving.register_keras_serializable(package="helpers")
class AlternatingFlip(keras.layers.Layer):
    """Horizontal flips that alternate instead of being drawn anew (the derandomised flipping
    of Jordan, arXiv:2404.00498): in training, an image is flipped when the parity of its pixel
    sum differs from the epoch's parity, so any two epochs in a row show it both ways. The pixel
    sum picks a fixed half to flip first without knowing which image is which, so any input
    pipeline will do. Put it first, on the uint8 images; `EpochToFlips` sets the epoch."""

    def build(self, input_shape: tuple) -> None:
        self.epoch = self.add_weight(shape=(), dtype="int32", initializer="zeros",
                                     trainable=False, name="epoch")

    def call(self, images, training: bool | None = None):
        if not training:
            return images
        parity = ops.mod(ops.sum(ops.cast(images, "int32"), axis=(1, 2, 3)), 2)
        flip = ops.not_equal(parity, ops.mod(ops.convert_to_tensor(self.epoch), 2))
        return ops.where(flip[:, None, None, None], ops.flip(images, axis=2), images)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape


class EpochToFlips(keras.callbacks.Callback):
    """Tells the model's `AlternatingFlip` layers which epoch begins."""

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        for layer in self.model._flatten_layers():
            if isinstance(layer, AlternatingFlip):
                layer.epoch.assign(epoch)


class Lookahead(keras.callbacks.Callback):
    """Every `every` steps, move an average of the weights towards the current weights and
    copy the average back into the model (Zhang et al.'s Lookahead, arXiv:1907.08610, as
    airbench uses it). The average's weight on its past grows with the cube of the progress
    through training, up to `final_decay`: free steps early, strong averaging at the end."""

    def __init__(self, total_steps: int, every: int = 5, final_decay: float = 0.95 ** 5) -> None:
        super().__init__()
        self.total_steps, self.every, self.final_decay = total_steps, every, final_decay

    def on_train_begin(self, logs=None) -> None:
        self.step = 0
        self.average = [ops.convert_to_numpy(weight) for weight in self.model.weights]

    def decay(self, step: int) -> float:
        """The average's weight on its past after `step` steps."""
        return self.final_decay * min(1.0, step / self.total_steps) ** 3

    def on_train_batch_end(self, batch, logs=None) -> None:
        self.step += 1
        if self.step % self.every:
            return
        if hasattr(self.model, "jax_state_sync"):
            # Keras's JAX trainer keeps the weights in a state of its own during an epoch
            # (keras/src/backend/jax/trainer.py); syncing makes the values read here current
            # and has the next step read the variables, assignments included.
            self.model.jax_state_sync()
        decay = self.decay(self.step)
        for index, weight in enumerate(self.model.weights):
            if "float" not in str(weight.dtype):
                continue
            current = ops.convert_to_numpy(weight)
            self.average[index] = decay * self.average[index] + (1 - decay) * current
            weight.assign(self.average[index])


@dataclass(frozen=True)
class FastRecipe:
    """How the fast network trains, worked out for a mean loss from airbench94's published
    settings (a rate of 11.5 and a decay of 0.0153 per 1,024 examples, momentum 0.85, batches
    of 1,024): a peak rate of 1.5 per 1,024 images in a batch (so 1.5 at 1,024, scaled with the
    batch as airbench's per-example rate is), L2 1.33e-3 through the gradient, 64 times the rate
    for BatchNorm's shifts, a triangle from 0.2 of the peak up to it at 23% of the steps and
    down to 0.07 of it at the end."""

    epochs: int = 10
    batch_size: int = 1024
    peak_learning_rate: float = 1.5
    momentum: float = 0.85
    l2: float = 1.33e-3
    shift_learning_rate_scale: float = 64.0
    label_smoothing: float = 0.2
    translate: int = 2
    alternating_flips: bool = True
    whitening_images: int = 5000
    # How the benchmarks describe it beside `Recipe`: its schedule, its decay, no Cutout.
    schedule: ClassVar[str] = "triangle"
    decay: ClassVar[str] = "l2"
    cutout: ClassVar[int] = 0

    def build(self, x_train: np.ndarray, *, width_scale: float = 1.0,
              seed: int | None = None) -> keras.Model:
        """The network for uint8 training images, its whitening kernel set from them."""
        mean, variance = channel_statistics(x_train)
        widths = tuple(max(1, round(width * width_scale)) for width in (64, 256, 256))
        model = fast_net(mean, variance, widths=widths, translate=self.translate, seed=seed,
                         random_flip=not self.alternating_flips, image_shape=x_train.shape[1:])
        sample = ((x_train[:self.whitening_images].astype(np.float32) - mean)
                  / np.sqrt(variance)).astype(np.float32)
        model.get_layer("whitening").kernel.assign(whitening_kernel(sample))
        return model

    def learning_rate(self, steps_per_epoch: int) -> PiecewiseLinear:
        total = self.epochs * steps_per_epoch
        peak = self.peak_learning_rate * self.batch_size / 1024
        return PiecewiseLinear([0, max(1, round(0.23 * total)), max(2, total)],
                               [0.2 * peak, peak, 0.07 * peak])

    def compile(self, model: keras.Model, steps_per_epoch: int, *, steps_per_execution: int = 1,
                jit_compile: bool | str = "auto") -> None:
        """Compile for one-hot labels, reporting `accuracy` (as `Recipe.compile` does, with the
        same adjustments on PyTorch)."""
        optimizer = SGDWithL2(self.learning_rate(steps_per_epoch), momentum=self.momentum,
                              nesterov=True, l2=self.l2,
                              shift_scale=self.shift_learning_rate_scale)
        model.compile(
            optimizer=optimizer,
            loss=keras.losses.CategoricalCrossentropy(from_logits=True,
                                                      label_smoothing=self.label_smoothing),
            metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
            **environment.compile_options(steps_per_execution, jit_compile))

    def steps_per_epoch(self, images: int) -> int:
        return -(-images // self.batch_size)

    def fit(self, model: keras.Model, images: np.ndarray, labels: np.ndarray, *,
            callbacks: list | tuple = (), verbose: int | str = 0) -> keras.callbacks.History:
        """Train a compiled `build` model on uint8 images and one-hot labels, with Lookahead
        and the epoch its alternating flips need."""
        steps = self.epochs * self.steps_per_epoch(len(images))
        return model.fit(images, labels, batch_size=self.batch_size, epochs=self.epochs,
                         verbose=verbose,
                         callbacks=[Lookahead(steps), EpochToFlips(), *callbacks])


def predict_with_flips_and_shifts(model: keras.Model, images: np.ndarray, *,
                                  batch_size: int = 1000) -> np.ndarray:
    """Class probabilities averaged as airbench's test-time augmentation does: half from the
    image and its mirror image, half from the same pair shifted by one pixel up-left and
    down-right (reflected borders)."""
    def flipped_pair(batch: np.ndarray) -> np.ndarray:
        logits = model.predict(batch, batch_size=batch_size, verbose=0)
        mirrored = model.predict(batch[:, :, ::-1], batch_size=batch_size, verbose=0)
        return (ops.convert_to_numpy(logits) + ops.convert_to_numpy(mirrored)) / 2

    height, width = images.shape[1:3]
    padded = np.pad(images, [(0, 0), (1, 1), (1, 1), (0, 0)], mode="reflect")
    shifted = [padded[:, :height, :width], padded[:, 2:height + 2, 2:width + 2]]
    logits = (flipped_pair(images) / 2
              + sum(flipped_pair(np.ascontiguousarray(view)) for view in shifted) / 4)
    return ops.convert_to_numpy(ops.softmax(logits))

