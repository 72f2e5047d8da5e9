"""Training that survives an interruption, and knows how long it took."""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import keras
import pandas as pd


@dataclass(frozen=True)
class TrainingRun:
    """What one `fit` produced: one row per epoch (all epochs, across resumes) and the time."""

    history: pd.DataFrame
    seconds: float

    @property
    def epochs(self) -> int:
        return len(self.history)

    def final(self, metric: str) -> float:
        """The metric's value after the last epoch, e.g. `final("val_accuracy")`."""
        return float(self.history[metric].iloc[-1])


class _EpochTimer(keras.callbacks.Callback):
    """Adds `epoch_seconds` to each epoch's logs, so the CSV log keeps time across resumes."""

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:
            logs["epoch_seconds"] = time.perf_counter() - self._start


def fit(
    model: keras.Model,
    train,
    validation,
    *,
    epochs: int,
    checkpoint_dir: str | Path,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    verbose: int = 2,
) -> TrainingRun:
    """`model.fit` that resumes where it stopped if the same call is run again after an
    interruption (a Colab disconnect, a killed kernel).

    Keras's BackupAndRestore keeps the weights, optimizer state and epoch in
    `checkpoint_dir/backup` (point `checkpoint_dir` at Google Drive in Colab to survive a lost
    VM); a CSV log beside it keeps the per-epoch metrics. Both are removed when training ends
    normally, so a later run starts fresh."""
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs <= 0:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    checkpoint_dir = Path(checkpoint_dir)
    backup_dir = checkpoint_dir / "backup"
    log_path = checkpoint_dir / "history.csv"
    if not backup_dir.exists() and log_path.exists():
        log_path.unlink()  # a finished or abandoned earlier run: start its log afresh
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    model.fit(
        train,
        validation_data=validation,
        epochs=epochs,
        verbose=verbose,
        shuffle=False,  # the tf.data pipeline shuffles
        # Order matters at each epoch's end: the caller's callbacks first, so what they add to
        # the logs (ReduceLROnPlateau's learning_rate) reaches the CSV history; the backup last,
        # so an epoch it marks as done is always in the history too.
        callbacks=[
            *callbacks,
            _EpochTimer(),
            keras.callbacks.CSVLogger(str(log_path), append=True),
            keras.callbacks.BackupAndRestore(str(backup_dir)),
        ],
    )
    history = (pd.read_csv(log_path).drop_duplicates("epoch", keep="last")
               .set_index("epoch").sort_index())
    shutil.rmtree(checkpoint_dir)
    return TrainingRun(history=history, seconds=float(history["epoch_seconds"].sum()))
