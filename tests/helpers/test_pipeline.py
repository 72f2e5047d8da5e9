"""make_dataset and ArrayBatches: batching, shuffling, augmentation, with and without TF."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest

from helpers import pipeline
from helpers.pipeline import ArrayBatches, make_dataset

ROOT = Path(__file__).resolve().parents[2]


def _arrays(count: int = 10) -> tuple[np.ndarray, np.ndarray]:
    images = np.arange(count, dtype=np.float32).reshape(count, 1, 1, 1) * np.ones((1, 4, 4, 3),
                                                                                   np.float32)
    return images, np.arange(count)


def _batches(dataset) -> list[tuple[np.ndarray, np.ndarray]]:
    """One epoch of batches as NumPy arrays, from a tf.data.Dataset or a PyDataset."""
    if hasattr(dataset, "as_numpy_iterator"):
        return list(dataset.as_numpy_iterator())
    epoch = [dataset[index] for index in range(len(dataset))]
    dataset.on_epoch_end()
    return [(keras.ops.convert_to_numpy(x), np.asarray(y)) for x, y in epoch]


def _collect(dataset) -> tuple[np.ndarray, np.ndarray]:
    batches = _batches(dataset)
    return np.concatenate([x for x, _ in batches]), np.concatenate([y for _, y in batches])


@pytest.fixture(params=["make_dataset", "ArrayBatches"])
def make(request):
    """Both implementations: whatever make_dataset picks here, and the TensorFlow-free one."""
    return make_dataset if request.param == "make_dataset" else ArrayBatches


def test_batches_keep_every_example_in_order(make):
    images, labels = _arrays()
    dataset = make(images, labels, batch_size=4)
    assert [len(y) for _, y in _batches(dataset)] == [4, 4, 2]
    x, y = _collect(dataset)
    np.testing.assert_array_equal(y, labels)
    np.testing.assert_array_equal(x, images)


def test_shuffle_keeps_pairs_together_is_seeded_and_changes_every_epoch(make):
    images, labels = _arrays(50)
    dataset = make(images, labels, batch_size=8, shuffle=True, seed=3)
    first, second = _collect(dataset), _collect(dataset)
    again = _collect(make(images, labels, batch_size=8, shuffle=True, seed=3))
    assert not np.array_equal(first[1], labels)
    assert not np.array_equal(first[1], second[1]), "a new order every epoch"
    np.testing.assert_array_equal(first[1], again[1])
    np.testing.assert_array_equal(np.sort(first[1]), labels)
    np.testing.assert_array_equal(first[0][:, 0, 0, 0], first[1])  # image still matches label


def test_augmentation_runs_in_training_mode_on_every_batch(make):
    images, labels = _arrays()
    seen_training_flags = []

    def augment(batch, training):
        seen_training_flags.append(training)
        return batch * 0 - 1

    x, _ = _collect(make(images, labels, batch_size=5, augment=augment))
    assert (x == -1).all()
    assert seen_training_flags and all(seen_training_flags)


def test_without_tensorflow_make_dataset_gives_array_batches(monkeypatch):
    monkeypatch.setattr(pipeline, "tensorflow_installed", lambda: False)
    images, labels = _arrays()
    assert isinstance(make_dataset(images, labels, batch_size=4), ArrayBatches)


def test_array_batches_train_a_keras_model():
    images, labels = _arrays(32)
    model = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(32, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(ArrayBatches(images, labels, batch_size=8, shuffle=True, seed=0),
                        epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    assert model.predict(ArrayBatches(images, labels, batch_size=8), verbose=0).shape == (32, 32)


def test_bad_arguments_are_refused():
    images, labels = _arrays()
    with pytest.raises(ValueError, match="batch_size"):
        make_dataset(images, labels, batch_size=0)
    with pytest.raises(ValueError, match="10 images but 9 labels"):
        make_dataset(images, labels[:9], batch_size=2)
    with pytest.raises(ValueError, match="no images.*TRAIN_SIZE"):
        make_dataset(images[:0], labels[:0], batch_size=2, shuffle=True)


def test_make_augmenter_changes_images_only_in_training_and_keeps_their_range():
    images = np.random.default_rng(0).random((4, 32, 32, 3), dtype=np.float32)
    augmenter = pipeline.make_augmenter()
    assert augmenter is not pipeline.make_augmenter()  # a fresh copy for each use
    assert np.array_equal(keras.ops.convert_to_numpy(augmenter(images, training=False)), images)
    changed = keras.ops.convert_to_numpy(augmenter(images, training=True))
    assert changed.shape == images.shape and not np.array_equal(changed, images)
    assert changed.min() >= 0 and changed.max() <= 1


def test_make_augmenter_is_the_stack_notebook_06_writes_out():
    """06 writes its layers out (they are its lesson); 07 and later use the helper: the same
    layers with the same settings, or the ladder compares different augmentations."""
    notebook = json.loads((ROOT / "notebooks" / "06_data_augmentation.ipynb").read_text())
    definition = next("".join(cell["source"]) for cell in notebook["cells"]
                      if "".join(cell["source"]).startswith("def make_augmenter"))
    namespace = {"keras": keras}
    exec(definition, namespace)  # noqa: S102 (the course's own notebook)

    def settings(stack: keras.Sequential) -> list[tuple[str, dict]]:
        return [(type(layer).__name__,
                 {key: value for key, value in layer.get_config().items()
                  if key not in ("name", "seed")})
                for layer in stack.layers]

    assert settings(namespace["make_augmenter"]()) == settings(pipeline.make_augmenter())
