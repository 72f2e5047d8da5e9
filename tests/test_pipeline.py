"""make_dataset: batching, shuffling, augmentation, preprocessing."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.pipeline import make_dataset


def _arrays(count: int = 10) -> tuple[np.ndarray, np.ndarray]:
    images = np.arange(count, dtype=np.float32).reshape(count, 1, 1, 1) * np.ones((1, 4, 4, 3),
                                                                                   np.float32)
    return images, np.arange(count)


def _collect(dataset) -> tuple[np.ndarray, np.ndarray]:
    batches = list(dataset.as_numpy_iterator())
    return np.concatenate([x for x, _ in batches]), np.concatenate([y for _, y in batches])


def test_batches_keep_every_example_in_order():
    images, labels = _arrays()
    dataset = make_dataset(images, labels, batch_size=4)
    assert [len(y) for _, y in dataset.as_numpy_iterator()] == [4, 4, 2]
    x, y = _collect(dataset)
    np.testing.assert_array_equal(y, labels)
    np.testing.assert_array_equal(x, images)


def test_shuffle_keeps_pairs_together_and_is_seeded():
    images, labels = _arrays(50)
    first = _collect(make_dataset(images, labels, batch_size=8, shuffle=True, seed=3))
    second = _collect(make_dataset(images, labels, batch_size=8, shuffle=True, seed=3))
    assert not np.array_equal(first[1], labels)
    np.testing.assert_array_equal(first[1], second[1])
    np.testing.assert_array_equal(first[0][:, 0, 0, 0], first[1])  # image still matches label


def test_augmentation_runs_in_training_mode_on_every_batch():
    images, labels = _arrays()
    seen_training_flags = []

    def augment(batch, training):
        seen_training_flags.append(training)
        return batch * 0 - 1

    x, _ = _collect(make_dataset(images, labels, batch_size=5, augment=augment))
    assert (x == -1).all()
    assert seen_training_flags and all(seen_training_flags)


def test_preprocess_runs_before_batching():
    images, labels = _arrays()
    x, y = _collect(make_dataset(images, labels, batch_size=3,
                                 preprocess=lambda image, label: (image / 10, label + 1)))
    np.testing.assert_allclose(x[:, 0, 0, 0], labels / 10)
    np.testing.assert_array_equal(y, labels + 1)


def test_bad_arguments_are_refused():
    images, labels = _arrays()
    with pytest.raises(ValueError, match="batch_size"):
        make_dataset(images, labels, batch_size=0)
    with pytest.raises(ValueError, match="10 images but 9 labels"):
        make_dataset(images, labels[:9], batch_size=2)
