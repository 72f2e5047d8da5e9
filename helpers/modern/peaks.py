"""The published peak arithmetic of common accelerators, to say what share of it a training
reaches (model FLOP utilisation). Imports nothing heavy: the course's site uses it too."""

from __future__ import annotations

import re
from dataclasses import dataclass


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
    Peak(r"TPU v6 ?(lite|e)\b", None, 918.0, "https://cloud.google.com/tpu/docs/v6e"),
)


def peak_tflops(device: str, policy: str) -> float | None:
    """The dense peak TFLOP/s of `device` (a name as `environment.accelerator_model` gives
    it) for a Keras dtype `policy`, or None for a device the table does not know (a CPU)."""
    for peak in PEAKS:
        if re.search(peak.pattern, device):
            return peak.float32 if policy == "float32" else peak.half
    return None
