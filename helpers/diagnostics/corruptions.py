"""CIFAR-10-C-style corruptions, generated on the fly: Gaussian noise, Gaussian blur,
brightness, contrast and JPEG compression at severities 1 to 5.

The constants are those Hendrycks and Dietterich (2019, "Benchmarking Neural Network
Robustness to Common Corruptions and Perturbations") used to build CIFAR-10-C, in
`ImageNet-C/create_c/make_cifar_c.py` of github.com/hendrycks/robustness. Each function follows
that script's recipe with NumPy, SciPy and Pillow only (no scikit-image, OpenCV or
ImageMagick); the results are rounded to uint8 where the script truncated. Gaussian blur is one
of the script's four extra corruptions, not of the fifteen in the benchmark's mean."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from PIL import Image
from scipy.ndimage import gaussian_filter

SOURCE = ("Hendrycks & Dietterich (2019), CIFAR-10-C: make_cifar_c.py in "
          "github.com/hendrycks/robustness")
SEVERITIES = (1, 2, 3, 4, 5)
# One constant per severity, 1 to 5, and what it is.
CORRUPTIONS: dict[str, tuple[tuple[float, ...], str]] = {
    "gaussian_noise": ((0.04, 0.06, 0.08, 0.09, 0.10), "noise std (pixels in [0, 1])"),
    "gaussian_blur": ((0.4, 0.6, 0.7, 0.8, 1.0), "blur sigma (pixels)"),
    "brightness": ((0.05, 0.1, 0.15, 0.2, 0.3), "added to HSV value"),
    "contrast": ((0.75, 0.5, 0.4, 0.3, 0.15), "contrast factor"),
    "jpeg": ((80, 65, 58, 50, 40), "JPEG quality"),
}


def parameter(name: str, severity: int) -> float:
    """The constant of corruption `name` at `severity` (1 to 5)."""
    if name not in CORRUPTIONS:
        raise ValueError(f"unknown corruption {name!r}; choose from {', '.join(CORRUPTIONS)}")
    if isinstance(severity, bool) or not isinstance(severity, int | np.integer) or not (
            1 <= severity <= 5):
        raise ValueError(f"severity must be an int from 1 to 5, got {severity!r}")
    return CORRUPTIONS[name][0][int(severity) - 1]


def parameters_table() -> pd.DataFrame:
    """The constants, one row per corruption and one column per severity."""
    return pd.DataFrame(
        [[meaning, *values] for values, meaning in CORRUPTIONS.values()],
        index=pd.Index(list(CORRUPTIONS), name="corruption"),
        columns=["parameter", *(f"severity {s}" for s in SEVERITIES)])


def _check_images(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise ValueError(f"expected uint8 images (0-255), got dtype {images.dtype}")
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"expected RGB images (N, H, W, 3), got shape {images.shape}")
    return images


def _to_uint8(x: np.ndarray) -> np.ndarray:
    return np.round(np.clip(x, 0.0, 1.0) * 255.0).astype(np.uint8)


def _gaussian_noise(x: np.ndarray, std: float, rng: np.random.Generator) -> np.ndarray:
    return x + rng.normal(scale=std, size=x.shape)


def _gaussian_blur(x: np.ndarray, sigma: float) -> np.ndarray:
    # Each image and channel on its own (sigma 0 across images and channels); the border
    # repeats its nearest pixel, as scikit-image's `gaussian` does by default.
    return gaussian_filter(x, sigma=(0, sigma, sigma, 0), mode="nearest", truncate=4.0)


def _brightness(x: np.ndarray, amount: float) -> np.ndarray:
    # HSV's value V is a pixel's largest channel; with hue and saturation fixed, RGB is
    # proportional to V, so adding `amount` to V (capped at 1) scales the pixel by
    # min(V + amount, 1) / V. A black pixel (V = 0, no hue) becomes the grey `amount`.
    value = x.max(axis=-1, keepdims=True)
    new_value = np.minimum(value + amount, 1.0)
    scale = np.divide(new_value, value, out=np.zeros_like(value), where=value > 0)
    return np.where(value > 0, x * scale, new_value)


def _contrast(x: np.ndarray, factor: float) -> np.ndarray:
    means = x.mean(axis=(1, 2), keepdims=True)  # per image and channel
    return (x - means) * factor + means


def _jpeg(images: np.ndarray, quality: int) -> np.ndarray:
    out = np.empty_like(images)
    for index, image in enumerate(images):
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="JPEG", quality=int(quality))
        buffer.seek(0)
        out[index] = np.asarray(Image.open(buffer).convert("RGB"))
    return out


def corrupt(images: np.ndarray, name: str, severity: int, *, seed: int = 0) -> np.ndarray:
    """`images` (uint8, N x H x W x 3) with corruption `name` at `severity` 1 (mild) to 5, as
    uint8 of the same shape. Only the noise is random, drawn from `seed`: the same seed gives
    the same noise, so a comparison between models sees the same corrupted images."""
    constant = parameter(name, severity)
    images = _check_images(images)
    if name == "jpeg":
        return _jpeg(images, int(constant))
    x = images.astype(np.float64) / 255.0
    if name == "gaussian_noise":
        x = _gaussian_noise(x, constant, np.random.default_rng(seed))
    elif name == "gaussian_blur":
        x = _gaussian_blur(x, constant)
    elif name == "brightness":
        x = _brightness(x, constant)
    else:  # contrast
        x = _contrast(x, constant)
    return _to_uint8(x)
