"""The course without TensorFlow: run by `make test-jax` in an environment that has none."""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import sys

import keras
import numpy as np
import pytest

import helpers
from helpers import pipeline, training

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("tensorflow") is not None,
    reason="TensorFlow is installed here; `make test-jax` runs these where it is not")


def test_every_helpers_module_imports_without_tensorflow():
    for module in pkgutil.iter_modules(helpers.__path__):
        importlib.import_module(f"helpers.{module.name}")
    assert "tensorflow" not in sys.modules


def test_training_runs_end_to_end_on_array_batches(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.random((64, 8, 8, 3), dtype=np.float32)
    labels = rng.integers(0, 10, 64)
    train = pipeline.make_dataset(images, labels, batch_size=16, shuffle=True, seed=0)
    assert isinstance(train, pipeline.ArrayBatches)
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3),
                              keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    run = training.fit(model, train, pipeline.make_dataset(images, labels, batch_size=32),
                       epochs=2, checkpoint_dir=tmp_path / "checkpoints", verbose=0)
    assert run.epochs == 2 and run.seconds > 0
    assert "tensorflow" not in sys.modules
