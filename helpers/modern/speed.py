"""Measuring training speed honestly: training time apart from validation and from the
first epoch's compilation, and images per second at steady state."""

from __future__ import annotations

from collections.abc import Callable

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

