"""Measuring training speed honestly: training time apart from validation and from the
first epoch's compilation, and images per second at steady state."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import keras
import numpy as np

from helpers.pipeline import make_dataset


class EpochClock(keras.callbacks.Callback):
    """Records each epoch's training seconds (validation excluded) in `seconds`.

    The first epoch also pays for compiling the training step; `compile_seconds` estimates
    that as the first epoch's excess over the median of the others."""

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start, self._stopped = time.perf_counter(), False

    def _stop(self) -> None:
        if not self._stopped:
            # Backends run steps asynchronously: reading the step counter waits for the last.
            keras.ops.convert_to_numpy(self.model.optimizer.iterations)
            self.seconds.append(time.perf_counter() - self._start)
            self._stopped = True

    def on_test_begin(self, logs: dict | None = None) -> None:
        if getattr(self, "_start", None) is not None:  # validation inside fit
            self._stop()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._stop()
        self._start = None

    @property
    def compile_seconds(self) -> float:
        if len(self.seconds) < 2:
            return float("nan")
        return max(self.seconds[0] - statistics.median(self.seconds[1:]), 0.0)

    @property
    def training_seconds(self) -> float:
        """All epochs' training time, compilation included."""
        return float(sum(self.seconds))


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
