"""Training recipes for CIFAR-10 as values, so an ablation can change one ingredient at a time
(`dataclasses.replace(recipe, label_smoothing=0.0)`) and the notebook and the benchmarks train
the same way: `PAGE_24`, David Page's 24-epoch ResNet-9 recipe as he ran it, and `Recipe()`,
the course's own modern recipe."""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
from keras import ops
from keras.optimizers.schedules import LearningRateSchedule

from helpers import environment

OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("cosine", "one_cycle", "constant")
DECAYS = ("decoupled", "l2")


@keras.saving.register_keras_serializable(package="helpers")
class PiecewiseLinear(LearningRateSchedule):
    """The learning rate interpolated in straight lines between (step, rate) points, and held
    at the last rate after them: Page's one-cycle is `PiecewiseLinear([0, warm-up, end],
    [0, peak, 0])` (a form of Smith and Topin's one-cycle policy, arXiv:1708.07120), and his
    own code called it so. Built from comparisons only, so every backend compiles it."""

    def __init__(self, steps: list[int], rates: list[float]) -> None:
        steps, rates = [int(step) for step in steps], [float(rate) for rate in rates]
        if len(steps) != len(rates) or len(steps) < 2:
            raise ValueError("give as many rates as steps, at least two of each")
        if steps[0] != 0 or any(b <= a for a, b in zip(steps, steps[1:], strict=False)):
            raise ValueError(f"steps must start at 0 and increase, got {steps}")
        self.steps, self.rates = steps, rates

    def __call__(self, step):
        step = ops.cast(step, "float32")
        rate = ops.convert_to_tensor(self.rates[-1], "float32")
        for start, end, low, high in reversed(list(zip(self.steps, self.steps[1:], self.rates,
                                                       self.rates[1:], strict=False))):
            along = low + (high - low) * (step - start) / (end - start)
            rate = ops.where(step < end, along, rate)
        return rate

    def get_config(self) -> dict:
        return {"steps": self.steps, "rates": self.rates}


@keras.saving.register_keras_serializable(package="helpers")
class SGDWithL2(keras.optimizers.SGD):
    """SGD that adds `l2` × weight to every weight's gradient before the momentum: L2
    regularisation as Page's optimiser applied it, and as PyTorch's `SGD(weight_decay=...)`
    does. Keras's own `weight_decay` argument is decoupled instead: it shrinks the weights
    outside the momentum (Loshchilov and Hutter, arXiv:1711.05101)."""

    def __init__(self, *args, l2: float = 0.0, shift_scale: float = 1.0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.l2, self.shift_scale = l2, shift_scale

    def build(self, variables) -> None:
        super().build(variables)
        self._shift_keys = {self._var_key(variable) for variable in variables
                            if variable.path.endswith("beta")}

    def update_step(self, gradient, variable, learning_rate):
        if self.shift_scale != 1.0 and self._var_key(variable) in self._shift_keys:
            # BatchNorm's shifts: `shift_scale` times the learning rate, the same decay
            # (airbench's bias_scaler).
            gradient = gradient * ops.cast(self.shift_scale, gradient.dtype)
        gradient = gradient + ops.cast(self.l2, gradient.dtype) * ops.cast(variable, gradient.dtype)
        super().update_step(gradient, variable, learning_rate)

    def get_config(self) -> dict:
        return {**super().get_config(), "l2": self.l2, "shift_scale": self.shift_scale}


@dataclass(frozen=True)
class Recipe:
    """How to train. The defaults are the course's modern recipe, built from Page's (see
    `PAGE_24`): 24 epochs of SGD with Nesterov momentum in batches of 500, a warm-up to 0.4
    over the first 5 epochs in 24 followed by a cosine decay to 0, decoupled weight decay that
    spares BatchNorm, and label smoothing 0.2, with Page's augmentation (flip, pad-and-crop,
    Cutout 8x8). `optimizer="adam"` with a constant 1e-3 is the baseline earlier notebooks
    used. `cutout` is read by the model's builder (`resnet.resnet9(cutout=...)`), since
    augmentation runs inside the model; 0 means none."""

    epochs: int = 24
    batch_size: int = 500
    optimizer: str = "sgd"
    peak_learning_rate: float = 0.4
    schedule: str = "cosine"
    # The share of the schedule spent warming up, so a shorter run keeps Page's proportion.
    warmup_fraction: float = 5 / 24
    # "decoupled" (AdamW-style): each step shrinks the weights by learning_rate * weight_decay,
    # BatchNorm's scale and shift spared; 5e-3 matches Page's 5e-4 L2 penalty, which momentum
    # 0.9 amplifies about tenfold. "l2": weight_decay * weight joins every weight's gradient
    # before the momentum, as in Page's optimiser (SGD only).
    weight_decay: float = 5e-3
    decay: str = "decoupled"
    label_smoothing: float = 0.2
    cutout: int = 8

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.decay not in DECAYS:
            raise ValueError(f"decay must be one of {DECAYS}, got {self.decay!r}")
        if self.decay == "l2" and self.optimizer != "sgd":
            raise ValueError("decay='l2' is Page's SGD set-up; with Adam use 'decoupled' (AdamW)")
        if isinstance(self.cutout, bool) or not isinstance(self.cutout, int) or self.cutout < 0:
            raise ValueError(f"cutout must be a whole number of pixels >= 0, got {self.cutout!r}")
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
        """A constant, or a linear warm-up from 0 followed by a cosine or a linear decay to 0."""
        if self.schedule == "constant":
            return self.peak_learning_rate
        total = self.epochs * steps_per_epoch
        warmup = min(round(self.warmup_fraction * total), total - 1)
        if self.schedule == "one_cycle":
            if warmup == 0:  # too few steps to warm up: straight down from the peak
                return PiecewiseLinear([0, total], [self.peak_learning_rate, 0.0])
            return PiecewiseLinear([0, warmup, total], [0.0, self.peak_learning_rate, 0.0])
        return keras.optimizers.schedules.CosineDecay(
            0.0, decay_steps=total - warmup, warmup_target=self.peak_learning_rate,
            warmup_steps=warmup)

    def make_optimizer(self, steps_per_epoch: int) -> keras.optimizers.Optimizer:
        """SGD with Nesterov momentum 0.9, or Adam. Decoupled weight decay spares BatchNorm's
        scale and shift, which only set the size of activations that the next BatchNorm undoes
        anyway; Page's L2 reaches every weight, as his optimiser's did."""
        learning_rate = self.learning_rate(steps_per_epoch)
        if self.decay == "l2":
            return SGDWithL2(learning_rate, momentum=0.9, nesterov=True, l2=self.weight_decay)
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
        `jit_compile="auto"` is Keras's choice: XLA wherever the model allows it, except under
        TensorFlow on a machine without a GPU, where Keras leaves it off (XLA would compile
        each model for longer than it saves there: measured, 25 s against 11 s for ResNet-9's
        first epoch, the same after). On PyTorch, settings that do not apply there are turned
        off with a notice (`environment.compile_options`)."""
        model.compile(
            optimizer=self.make_optimizer(steps_per_epoch),
            loss=keras.losses.CategoricalCrossentropy(from_logits=True,
                                                      label_smoothing=self.label_smoothing),
            metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
            **environment.compile_options(steps_per_execution, jit_compile))


# Page's 24-epoch DAWNBench recipe as his code ran it (github.com/davidcpage/cifar10-fast,
# dawn.py): batches of 512, the learning rate linear from 0 up to 0.4 at epoch 5 and down to 0
# at epoch 24, Nesterov momentum 0.9, L2 5e-4 through the gradient on every weight (his loss was
# summed over the batch, with the rate divided and the decay multiplied by 512: the same steps
# as a mean loss with these values), flips, pad-and-crop by 4 and Cutout 8×8, no label
# smoothing, no test-time flips.
PAGE_24 = Recipe(epochs=24, batch_size=512, optimizer="sgd", peak_learning_rate=0.4,
                 schedule="one_cycle", warmup_fraction=5 / 24, weight_decay=5e-4, decay="l2",
                 label_smoothing=0.0, cutout=8)


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
