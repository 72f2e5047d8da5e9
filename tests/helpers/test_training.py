"""fit: timing, history, and resuming after an interruption."""

from __future__ import annotations

import shutil
import time

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


def _model(units: int = 16) -> keras.Model:
    environment.set_seed(0)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(units, activation="relu"),
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


def test_fit_times_training_apart_from_validation(tmp_path, monkeypatch):
    """The recorded seconds are training's alone: a clock that jumps 1,000 s while validation
    runs (after the clock has stopped for it) leaves them unchanged."""
    jumps = []

    class JumpingClock:
        @staticmethod
        def perf_counter() -> float:
            return time.perf_counter() + 1000 * len(jumps)

    class SlowValidation(keras.callbacks.Callback):
        def on_test_end(self, logs=None):
            jumps.append(1)

    monkeypatch.setattr(training, "time", JumpingClock)
    train, val = _task()
    run = training.fit(_model(), train, val, epochs=2, checkpoint_dir=tmp_path / "ck",
                       callbacks=[SlowValidation()], verbose=0)
    assert len(jumps) == 2  # validation ran after each epoch
    assert 0 < run.seconds < 1000
    assert run.seconds == pytest.approx(run.history["epoch_seconds"].sum())


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
    assert (checkpoint / "fit_backup").exists()

    resumed, counter = _model(), EpochCounter()  # a fresh kernel: same code, run again
    run = training.fit(resumed, train, val, epochs=4, checkpoint_dir=checkpoint, verbose=0,
                       callbacks=[counter])
    assert counter.trained == [2, 3]  # only the epochs the interruption cost
    assert list(run.history.index) == [0, 1, 2, 3]  # epochs before the interruption are kept
    for got, want in zip(resumed.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert not checkpoint.exists()  # made by the interrupted fit, removed by the resumed one


def test_fit_removes_only_what_it_wrote(tmp_path):
    train, val = _task()
    drive = tmp_path / "drive"  # a folder of the user's, as on Google Drive
    (drive / "backup").mkdir(parents=True)
    (drive / "backup" / "model.keras").write_text("the user's model")
    (drive / "history.csv").write_text("the user's own table")
    (drive / "notes.txt").write_text("kept")
    empty = tmp_path / "empty"
    empty.mkdir()
    for folder in (drive, empty):
        training.fit(_model(), train, val, epochs=1, checkpoint_dir=folder, verbose=0)
    assert sorted(path.name for path in drive.iterdir()) == ["backup", "history.csv", "notes.txt"]
    assert (drive / "backup" / "model.keras").read_text() == "the user's model"
    assert (drive / "history.csv").read_text() == "the user's own table"
    assert empty.is_dir()  # the user made it: fit leaves it, empty as it was


def _interrupt(checkpoint, *, epochs: int, after_epoch: int) -> keras.Model:
    """A model whose fit was interrupted once `after_epoch` had ended; its backup is kept."""
    train, val = _task()
    model = _model()
    with pytest.raises(KeyboardInterrupt):
        training.fit(model, train, val, epochs=epochs, checkpoint_dir=checkpoint, verbose=0,
                     callbacks=[Interrupt(after_epoch=after_epoch)])
    return model


def test_a_backup_of_another_model_says_what_is_in_the_way(tmp_path):
    checkpoint = tmp_path / "ck"
    _interrupt(checkpoint, epochs=3, after_epoch=0)
    train, val = _task()
    for _ in range(2):  # every re-run says the same, and the backup is not lost
        with pytest.raises(training.StaleCheckpointError) as caught:
            training.fit(_model(units=32), train, val, epochs=3, checkpoint_dir=checkpoint,
                         verbose=0)
        message = str(caught.value)
        assert "another model" in message and f"delete the folder {checkpoint / 'fit_backup'}" \
            in message and "run it with the model as it was" in message
        assert (checkpoint / "fit_backup").is_dir()
    shutil.rmtree(checkpoint / "fit_backup")  # what the message says to do
    run = training.fit(_model(units=32), train, val, epochs=2, checkpoint_dir=checkpoint,
                       verbose=0)
    assert list(run.history.index) == [0, 1]  # a fresh start, no rows of the other model


def test_a_backup_holding_the_asked_epochs_already_trains_nothing_and_says_so(tmp_path):
    checkpoint = tmp_path / "ck"
    interrupted = _interrupt(checkpoint, epochs=4, after_epoch=2)  # 3 epochs backed up
    train, val = _task()
    model, counter = _model(), EpochCounter()
    with pytest.warns(UserWarning, match="nothing was trained.*already held 3 epochs, at least "
                                         "the 2 asked for"):
        run = training.fit(model, train, val, epochs=2, checkpoint_dir=checkpoint, verbose=0,
                           callbacks=[counter])
    assert counter.trained == [] and list(run.history.index) == [0, 1, 2]
    for got, want in zip(model.get_weights(), interrupted.get_weights(), strict=True):
        np.testing.assert_allclose(got, want)  # the backed-up weights, not fresh ones


def test_a_finished_run_is_not_resumed(tmp_path):
    train, val = _task()
    training.fit(_model(), train, val, epochs=2, checkpoint_dir=tmp_path / "ck", verbose=0)
    run = training.fit(_model(), train, val, epochs=2, checkpoint_dir=tmp_path / "ck", verbose=0)
    assert run.epochs == 2


def test_epochs_must_be_a_positive_int(tmp_path):
    train, val = _task()
    with pytest.raises(ValueError, match="epochs"):
        training.fit(_model(), train, val, epochs=0, checkpoint_dir=tmp_path)


def test_fit_counts_its_training_flops_and_adds_the_fit_to_the_kernels_work(tmp_path,
                                                                         monkeypatch):
    work = training.Work()
    monkeypatch.setattr(training, "WORK_DONE", work)
    train, val = _task()  # 192 images in batches of 32: 6 steps an epoch
    model = _model()
    run = training.fit(model, train, val, epochs=2, checkpoint_dir=tmp_path / "ck", verbose=0)
    x, y = next(iter(train))
    one_step = training.flop_count.train_step_flops(model, x, y)
    assert run.flops == pytest.approx(one_step * 6 * 2)
    assert run.tflop_per_second == pytest.approx(run.flops / run.seconds / 1e12)
    assert (work.fits, work.flops) == (1, pytest.approx(run.flops))
