"""Measuring training speed honestly: training time apart from validation and from the
first epoch's compilation, images per second at steady state, and the share of the
accelerator's peak arithmetic a training reaches (model FLOP utilisation)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np

from helpers.pipeline import make_dataset
from helpers.training import EpochClock


def images_per_second(model: keras.Model, images: np.ndarray, labels: np.ndarray, *,
                      batch_size: int, steps: int = 30,
                      host_augment: Callable | None = None) -> tuple[float, float]:
    """Train a compiled `model` on `steps` batches twice; return (seconds of the first pass,
    which includes compilation, images per second of the second pass).

    The batches come straight from the NumPy arrays, or, with `host_augment` (e.g. a
    `keras.Sequential` of random layers), through `pipeline.make_dataset`, which augments them
    on the host's CPU. The weights change: measure on a model built for the purpose."""
    count = steps * batch_size
    if len(images) < count:
        raise ValueError(f"{steps} steps of {batch_size} need {count} images, got "
                         f"{len(images)}: lower steps or batch_size")
    clock = EpochClock()
    if host_augment is None:
        model.fit(images[:count], labels[:count], batch_size=batch_size, epochs=2,
                  shuffle=False, callbacks=[clock], verbose=0)
    else:
        batches = make_dataset(images[:count], labels[:count], batch_size=batch_size,
                               augment=host_augment)
        model.fit(batches, epochs=2, shuffle=False, callbacks=[clock], verbose=0)
    return clock.seconds[0], count / clock.seconds[1]


@dataclass(frozen=True)
class Peak:
    """The dense peak arithmetic of one accelerator, in TFLOP/s, as its maker publishes it.

    `float32` is what float32 convolutions and matrix products run at by default: TensorFloat-32
    on NVIDIA GPUs from Ampere on, where TensorFlow and JAX both use it unless told otherwise
    (tensorflow.org/api_docs/python/tf/config/experimental/enable_tensor_float_32_execution,
    docs.jax.dev/en/latest/201/precision.html); None where that is not one published figure.
    `half` is the 16-bit (float16 or bfloat16) tensor-core or matrix-unit figure. Datasheets
    give tensor figures "with sparsity", twice the dense ones a convolution can use: the table
    holds the dense ones."""

    pattern: str  # a regular expression matching the backend's name for the device
    float32: float | None
    half: float
    source: str


PEAKS = (
    Peak(r"\bT4\b", 8.1, 65.0, "https://www.nvidia.com/en-us/data-center/tesla-t4/"),
    Peak(r"\bL4\b", 60.0, 121.0, "https://www.nvidia.com/en-us/data-center/l4/"),
    Peak(r"\bA100\b", 156.0, 312.0, "https://www.nvidia.com/en-us/data-center/a100/"),
    Peak(r"\bH100\b.*PCIe", 378.0, 756.0, "https://www.nvidia.com/en-us/data-center/h100/"),
    Peak(r"\bH100\b", 494.7, 989.4, "https://www.nvidia.com/en-us/data-center/h100/ (SXM)"),
    Peak(r"\bH200\b", 494.7, 989.4, "https://www.nvidia.com/en-us/data-center/h200/"),
    Peak(r"TPU v5 ?(lite|e)\b", None, 197.0, "https://cloud.google.com/tpu/docs/v5e"),
)


def peak_tflops(device: str, policy: str) -> float | None:
    """The dense peak TFLOP/s of `device` (a name as `environment.accelerator_model` gives it)
    for a Keras dtype `policy`, or None for a device the table does not know (a CPU, say)."""
    for peak in PEAKS:
        if re.search(peak.pattern, device):
            return peak.float32 if policy == "float32" else peak.half
    return None
