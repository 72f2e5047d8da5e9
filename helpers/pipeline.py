"""Batches of training data for `model.fit`: shuffled every epoch, augmented on the fly.

With TensorFlow installed this is a `tf.data` pipeline (prefetching in parallel with training,
on any Keras backend). Without it, a `keras.utils.PyDataset` over the same arrays gives the same
batches, so the course also runs on JAX or PyTorch alone."""

from __future__ import annotations

import math
from collections.abc import Callable

import keras
import numpy as np

from helpers.environment import tensorflow_installed


class ArrayBatches(keras.utils.PyDataset):
    """(images, labels) batches from in-memory arrays, reshuffled after every epoch, with
    `augment` applied to each batch in training mode. Needs no TensorFlow."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, *, batch_size: int,
                 shuffle: bool = False, augment: Callable | None = None,
                 seed: int | None = None) -> None:
        super().__init__()
        self.images, self.labels = images, labels
        self.batch_size, self.shuffle, self.augment = batch_size, shuffle, augment
        self._rng = np.random.default_rng(seed)
        self._order = self._rng.permutation(len(images)) if shuffle else np.arange(len(images))

    def __len__(self) -> int:
        return math.ceil(len(self.images) / self.batch_size)

    def __getitem__(self, index: int) -> tuple:
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} of {len(self)}")
        chosen = self._order[index * self.batch_size:(index + 1) * self.batch_size]
        images = self.images[chosen]
        if self.augment is not None:
            images = self.augment(images, training=True)
        return images, self.labels[chosen]

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self._order = self._rng.permutation(len(self.images))


def _tf_dataset(images: np.ndarray, labels: np.ndarray, *, batch_size: int, shuffle: bool,
                augment: Callable | None, seed: int | None):
    """The same batches as `ArrayBatches`, as a tf.data pipeline that prepares the next batch
    while the model trains on this one."""
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    if shuffle:
        dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size)
    if augment is not None:
        dataset = dataset.map(lambda x, y: (augment(x, training=True), y),
                              num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


def make_dataset(
    images: np.ndarray,
    labels: np.ndarray,
    *,
    batch_size: int,
    shuffle: bool = False,
    augment: Callable | None = None,
    seed: int | None = None,
):
    """Batches of (images, labels) ready for `model.fit`, `evaluate` and `predict`.

    `augment` (e.g. a `keras.Sequential` of random layers) runs on every batch in training
    mode, so each epoch sees new variants. Shuffling reshuffles every epoch, reproducibly when
    `seed` is given. A `tf.data.Dataset` where TensorFlow is installed, else `ArrayBatches`."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    if len(images) == 0:
        raise ValueError("no images to make batches of: the arrays are empty (check "
                         "TRAIN_SIZE, or the slice that selected them)")
    make = _tf_dataset if tensorflow_installed() else ArrayBatches
    return make(images, labels, batch_size=batch_size, shuffle=shuffle, augment=augment,
                seed=seed)


def make_augmenter() -> keras.Sequential:
    """Notebook 06's random augmentation layers (flip, shift, turn, zoom, contrast for pixels in
    [0, 1]), a fresh copy for each use, so that later notebooks train with the same ones."""
    return keras.Sequential([
        keras.layers.RandomFlip("horizontal"),
        keras.layers.RandomTranslation(0.1, 0.1),
        keras.layers.RandomRotation(0.04),
        keras.layers.RandomZoom(0.1),
        keras.layers.RandomContrast(0.2, value_range=(0, 1)),
    ], name="augmentation")
