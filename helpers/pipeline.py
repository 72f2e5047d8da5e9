"""A tf.data input pipeline for training: shuffle, batch, augment, cache and prefetch."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf


def make_dataset(
    images: np.ndarray,
    labels: np.ndarray,
    *,
    batch_size: int,
    shuffle: bool = False,
    augment: Callable | None = None,
    preprocess: Callable | None = None,
    cache: bool = True,
    seed: int | None = None,
) -> tf.data.Dataset:
    """Batches of (images, labels) ready for `model.fit`.

    `preprocess` (deterministic, per example) runs once and is cached; `augment` (e.g. a
    `keras.Sequential` of random layers) runs on every batch in training mode, so each epoch
    sees new variants. Shuffling reshuffles every epoch, reproducibly when `seed` is given."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    if preprocess is not None:
        dataset = dataset.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE)
    if cache:
        dataset = dataset.cache()
    if shuffle:
        dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size)
    if augment is not None:
        dataset = dataset.map(lambda x, y: (augment(x, training=True), y),
                              num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)
