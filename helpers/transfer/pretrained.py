"""ImageNet backbones from Keras Applications: which ones the course offers, the pixels each
expects, and a download of their weights that fails loudly and leaves no broken file behind.

The weights come from the internet on first use (Keras caches them in ~/.keras/models). Where
there is no network, `choose_weights("auto", ...)` says why and falls back to the course's
offline experiment instead of failing deep inside a training cell."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import keras
from keras import ops

# "auto": ImageNet weights if they can be had, else the offline experiment (with a notice).
WEIGHT_CHOICES = ("auto", "imagenet", "offline")
# How keras.applications.imagenet_utils.preprocess_input maps 0-255 RGB pixels; "none": the
# backbone normalises inside itself (EfficientNetV2 and ConvNeXt do).
PREPROCESSING_MODES = ("caffe", "tf", "torch", "none")


@dataclass(frozen=True)
class Backbone:
    """A Keras Applications network without its classifier, and how it wants its pixels."""

    title: str
    constructor: Callable[..., keras.Model]
    preprocessing: str  # one of PREPROCESSING_MODES
    pixels: str  # what `preprocessing` does, in words


BACKBONES: dict[str, Backbone] = {
    "vgg16": Backbone("VGG16", keras.applications.VGG16, "caffe",
                      "RGB to BGR, then the ImageNet mean of each channel subtracted"),
    "resnet50v2": Backbone("ResNet50V2", keras.applications.ResNet50V2, "tf",
                           "scaled to [-1, 1]"),
    "efficientnetv2b0": Backbone("EfficientNetV2B0", keras.applications.EfficientNetV2B0,
                                 "none", "0-255, normalised inside the network"),
    "convnext_tiny": Backbone("ConvNeXtTiny", keras.applications.ConvNeXtTiny, "none",
                              "0-255, normalised inside the network"),
}


class WeightsUnavailableError(RuntimeError):
    """ImageNet weights could not be downloaded or were corrupt."""


def backbone(name: str) -> Backbone:
    """The entry of BACKBONES called `name`, with the choices in the error otherwise."""
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; choose from {', '.join(BACKBONES)}")
    return BACKBONES[name]


@keras.saving.register_keras_serializable(package="helpers")
class ImageNetPreprocessing(keras.layers.Layer):
    """`keras.applications.imagenet_utils.preprocess_input` as a layer, so the model itself
    turns 0-255 RGB pixels into what its backbone was trained on, and a saved model keeps it."""

    def __init__(self, mode: str, **kwargs) -> None:
        super().__init__(**kwargs)
        if mode not in PREPROCESSING_MODES:
            raise ValueError(f"mode must be one of {PREPROCESSING_MODES}, got {mode!r}")
        self.mode = mode

    def call(self, images):
        images = ops.cast(images, self.compute_dtype)
        if self.mode == "none":
            return images
        return keras.applications.imagenet_utils.preprocess_input(images, mode=self.mode)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "mode": self.mode}


def keras_weights_cache() -> Path:
    """Where keras.utils.get_file keeps downloaded weights: $KERAS_HOME/models, else
    ~/.keras/models, or /tmp/.keras/models where the home folder is read-only (Keras's rule;
    Keras offers no public accessor)."""
    home = os.environ.get("KERAS_HOME")
    if home is None:
        base = Path.home() if os.access(Path.home(), os.W_OK) else Path("/tmp")
        home = base / ".keras"
    return Path(home) / "models"


def _cached_files() -> set[Path]:
    cache = keras_weights_cache()
    return set(cache.iterdir()) if cache.is_dir() else set()


def load_backbone(name: str, *, weights: str | None = "imagenet",
                  input_shape: tuple[int | None, int | None, int] = (None, None, 3)
                  ) -> keras.Model:
    """The convolutional part of backbone `name` (no classifier, no pooling), with ImageNet
    weights or none (random). A failed download raises WeightsUnavailableError and removes
    any file it added to the Keras cache, so the next try downloads afresh."""
    spec = backbone(name)
    if weights not in ("imagenet", None):
        raise ValueError(f"weights must be 'imagenet' or None, got {weights!r}")
    if weights is None:
        return spec.constructor(include_top=False, weights=None, input_shape=input_shape)
    before = _cached_files()
    try:
        return spec.constructor(include_top=False, weights="imagenet", input_shape=input_shape)
    except Exception as error:
        for path in _cached_files() - before:
            path.unlink()
        raise WeightsUnavailableError(
            f"could not load ImageNet weights for {spec.title}: {error}\nThey download from "
            f"the internet on first use (into {keras_weights_cache()}). With no network, set "
            f"WEIGHTS = 'offline' to run the transfer experiment that needs no download."
        ) from error


def choose_weights(choice: str, name: str) -> tuple[str, str | None]:
    """("imagenet", None) when backbone `name`'s ImageNet weights load, else ("offline", why).

    `choice="imagenet"` insists (WeightsUnavailableError without them), `"offline"` does not
    try, and `"auto"` tries and falls back, returning the reason to show the student."""
    if choice not in WEIGHT_CHOICES:
        raise ValueError(f"WEIGHTS must be one of {WEIGHT_CHOICES}, got {choice!r}")
    backbone(name)
    if choice == "offline":
        return "offline", "WEIGHTS = 'offline' was chosen"
    try:
        load_backbone(name, weights="imagenet")
    except WeightsUnavailableError as error:
        if choice == "imagenet":
            raise
        return "offline", str(error.__cause__ or error)
    return "imagenet", None
