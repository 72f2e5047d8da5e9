"""A modern training recipe for CIFAR-10 as one value, so an ablation can change one
ingredient at a time (`dataclasses.replace(recipe, label_smoothing=0.0)`) and the notebook and
the benchmarks train the same way."""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
from keras.optimizers.schedules import LearningRateSchedule

from helpers.environment import accelerators, backend

OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("cosine", "constant")


@dataclass(frozen=True)
class Recipe:
    """How to train: the defaults are Page's ResNet-9 recipe (24 epochs, SGD with Nesterov
    momentum, a warm-up to 0.4 over the first 5 epochs in 24, then down to 0) with a cosine
    decay, decoupled weight decay and label smoothing 0.2, in batches of 500.
    `optimizer="adam"` with a constant 1e-3 is the baseline earlier notebooks used."""

    epochs: int = 24
    batch_size: int = 500
    optimizer: str = "sgd"
    peak_learning_rate: float = 0.4
    schedule: str = "cosine"
    # The share of the schedule spent warming up, so a shorter run keeps Page's proportion.
    warmup_fraction: float = 5 / 24
    # Decoupled (AdamW-style): each step shrinks the weights by learning_rate * weight_decay.
    # 5e-3 matches Page's 5e-4 L2 penalty, which momentum 0.9 amplifies about tenfold.
    weight_decay: float = 5e-3
    label_smoothing: float = 0.2

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"label_smoothing must lie in [0, 1), got {self.label_smoothing}")
        if not 0 <= self.warmup_fraction < 1:
            raise ValueError(f"warmup_fraction must lie in [0, 1), got {self.warmup_fraction}")
        if self.peak_learning_rate <= 0 or self.weight_decay < 0:
            raise ValueError("peak_learning_rate must be positive and weight_decay not negative")

    def learning_rate(self, steps_per_epoch: int) -> float | LearningRateSchedule:
        """A constant, or a linear warm-up from 0 followed by a cosine decay to 0."""
        if self.schedule == "constant":
            return self.peak_learning_rate
        total = self.epochs * steps_per_epoch
        warmup = min(round(self.warmup_fraction * total), total - 1)
        return keras.optimizers.schedules.CosineDecay(
            0.0, decay_steps=total - warmup, warmup_target=self.peak_learning_rate,
            warmup_steps=warmup)

    def make_optimizer(self, steps_per_epoch: int) -> keras.optimizers.Optimizer:
        """SGD with Nesterov momentum 0.9, or Adam; weight decay spares BatchNorm's scale and
        shift, which only set the size of activations that the next BatchNorm undoes anyway."""
        learning_rate = self.learning_rate(steps_per_epoch)
        decay = self.weight_decay or None
        if self.optimizer == "sgd":
            optimizer = keras.optimizers.SGD(learning_rate, momentum=0.9, nesterov=True,
                                             weight_decay=decay)
        else:
            optimizer = keras.optimizers.Adam(learning_rate, weight_decay=decay)
        if decay:
            optimizer.exclude_from_weight_decay(var_names=["gamma", "beta"])
        return optimizer

    def compile(self, model: keras.Model, steps_per_epoch: int, *, steps_per_execution: int = 1,
                jit_compile: bool | str = "auto") -> None:
        """Compile `model` (which outputs logits) for one-hot labels, reporting `accuracy`.

        `jit_compile="auto"` is Keras's choice (XLA wherever the model allows), except under
        TensorFlow on a CPU: there XLA compiles each model for longer than it saves in a short
        training (measured: 25 s against 11 s for ResNet-9's first epoch, the same after)."""
        if jit_compile == "auto" and backend() == "tensorflow" and not accelerators():
            jit_compile = False
        model.compile(
            optimizer=self.make_optimizer(steps_per_epoch),
            loss=keras.losses.CategoricalCrossentropy(from_logits=True,
                                                      label_smoothing=self.label_smoothing),
            metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
            steps_per_execution=steps_per_execution, jit_compile=jit_compile)


def one_hot(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Integer labels to float32 one-hot rows, which label smoothing needs."""
    return keras.utils.to_categorical(labels, num_classes).astype(np.float32)


def predict_with_flips(model: keras.Model, images: np.ndarray, *, batch_size: int = 1024,
                       flips: bool = True) -> np.ndarray:
    """Class probabilities, averaged over each image and its mirror image when `flips`
    (test-time augmentation: two looks at every image, for twice the prediction time)."""
    probabilities = keras.ops.softmax(model.predict(images, batch_size=batch_size, verbose=0))
    probabilities = keras.ops.convert_to_numpy(probabilities)
    if not flips:
        return probabilities
    mirrored = model.predict(images[:, :, ::-1], batch_size=batch_size, verbose=0)
    return (probabilities + keras.ops.convert_to_numpy(keras.ops.softmax(mirrored))) / 2
