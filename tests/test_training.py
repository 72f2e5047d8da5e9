"""fit: timing, history, and resuming after an interruption."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from helpers import environment, training
from helpers.pipeline import make_dataset


class EpochCounter(keras.callbacks.Callback):
    """Counts the epochs one fit call actually trains."""

    def __init__(self) -> None:
        super().__init__()
        self.trained: list[int] = []

    def on_epoch_begin(self, epoch, logs=None):
        self.trained.append(epoch)


class Interrupt(keras.callbacks.Callback):
    """Stands in for a Colab disconnect: stops training once a given epoch has ended."""

    def __init__(self, after_epoch: int) -> None:
        super().__init__()
        self.after_epoch = after_epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.after_epoch + 1:
            raise KeyboardInterrupt


def _task():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 8)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int64")
    return (make_dataset(x[:192], y[:192], batch_size=32),
            make_dataset(x[192:], y[192:], batch_size=64))


def _model() -> keras.Model:
    environment.set_seed(0)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_fit_records_every_epoch_and_its_time(tmp_path):
    train, val = _task()
    run = training.fit(_model(), train, val, epochs=3, checkpoint_dir=tmp_path / "ck", verbose=0)
    assert run.epochs == 3 and list(run.history.index) == [0, 1, 2]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(run.history.columns)
    assert run.seconds > 0 and 0 <= run.final("val_accuracy") <= 1
    assert not (tmp_path / "ck").exists()  # finished: nothing left to resume from


def test_what_a_callback_adds_to_the_logs_is_kept_in_the_history(tmp_path):
    train, val = _task()
    plateau = keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=1)
    run = training.fit(_model(), train, val, epochs=2, checkpoint_dir=tmp_path / "ck",
                       callbacks=[plateau], verbose=0)
    assert run.history["learning_rate"].iloc[0] == pytest.approx(1e-3)


def test_interrupted_training_resumes_to_the_same_final_epoch_and_weights(tmp_path):
    train, val = _task()
    reference = _model()
    training.fit(reference, train, val, epochs=4, checkpoint_dir=tmp_path / "ref", verbose=0)

    checkpoint = tmp_path / "resumed"
    with pytest.raises(KeyboardInterrupt):
        training.fit(_model(), train, val, epochs=4, checkpoint_dir=checkpoint, verbose=0,
                     callbacks=[Interrupt(after_epoch=1)])
    assert (checkpoint / "backup").exists()

    resumed, counter = _model(), EpochCounter()  # a fresh kernel: same code, run again
    run = training.fit(resumed, train, val, epochs=4, checkpoint_dir=checkpoint, verbose=0,
                       callbacks=[counter])
    assert counter.trained == [2, 3]  # only the epochs the interruption cost
    assert list(run.history.index) == [0, 1, 2, 3]  # epochs before the interruption are kept
    for got, want in zip(resumed.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_a_finished_run_is_not_resumed(tmp_path):
    train, val = _task()
    training.fit(_model(), train, val, epochs=2, checkpoint_dir=tmp_path / "ck", verbose=0)
    run = training.fit(_model(), train, val, epochs=2, checkpoint_dir=tmp_path / "ck", verbose=0)
    assert run.epochs == 2


def test_epochs_must_be_a_positive_int(tmp_path):
    train, val = _task()
    with pytest.raises(ValueError, match="epochs"):
        training.fit(_model(), train, val, epochs=0, checkpoint_dir=tmp_path)
