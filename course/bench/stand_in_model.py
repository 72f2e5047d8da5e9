"""A tiny CNN with random weights, saved as notebook 09 saves a trained model: what the load
test serves when no model is named, and what the web app's tests serve."""

from __future__ import annotations

import os
from pathlib import Path

import keras

from helpers.data.sources import CIFAR10_CLASSES
from helpers.deploy import model_card


def untrained_model(class_names=CIFAR10_CLASSES, image_shape=(32, 32, 3), *,
                    seed: int = 0) -> keras.Model:
    """A tiny CNN with random weights that takes and outputs what a served model does (uint8
    images in, probabilities out): for tests and the load test, where what it says does not
    matter."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(image_shape, dtype="uint8", name="images")
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(8, 3, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(len(class_names), activation="softmax")(x)
    return keras.Model(inputs, outputs, name="untrained_tiny_cnn")


def save_untrained_model(path: str | os.PathLike, class_names=CIFAR10_CLASSES, *,
                         seed: int = 0) -> Path:
    """`untrained_model` saved with its card, as notebook 09 saves a trained one."""
    card = {"class_names": list(class_names), "image_shape": [32, 32, 3],
            "image_dtype": "uint8, RGB, 0-255", "outputs": "probabilities",
            "model": "untrained tiny CNN (random weights, for tests)",
            "preprocessing": "scaled to [0, 1] (inside the model)",
            "keras_backend": keras.backend.backend()}
    return model_card.save(untrained_model(class_names, seed=seed), path, card)
