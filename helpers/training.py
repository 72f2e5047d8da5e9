"""Training that survives an interruption, and knows how long it took."""

from __future__ import annotations

import statistics
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import keras
import pandas as pd

from helpers import flops as flop_count


@dataclass(frozen=True)
class TrainingRun:
    """What one `fit` produced: one row per epoch (all epochs, across resumes), the training
    seconds, and the training FLOPs (None where the backend cannot count them)."""

    history: pd.DataFrame
    seconds: float
    flops: float | None = None

    @property
    def tflop_per_second(self) -> float | None:
        """The training arithmetic achieved: FLOPs per second of training, in TFLOP/s."""
        if self.flops is None or self.seconds <= 0:
            return None
        return self.flops / self.seconds / 1e12

    @property
    def epochs(self) -> int:
        return len(self.history)

    def final(self, metric: str) -> float:
        """The metric's value after the last epoch, e.g. `final("val_accuracy")`."""
        return float(self.history[metric].iloc[-1])


@dataclass
class Work:
    """The training this Python process has done: timed fits, their seconds, and the FLOPs of
    those whose work could be counted (with their own seconds, for the FLOP/s)."""

    fits: int = 0
    seconds: float = 0.0
    flops: float = 0.0
    counted_seconds: float = 0.0

    def add(self, seconds: float, flops: float | None) -> None:
        self.fits += 1
        self.seconds += seconds
        if flops is not None:
            self.flops += flops
            self.counted_seconds += seconds

    def summary(self) -> dict:
        """The totals as `results.json` records them: PFLOP and TFLOP/s."""
        rate = self.flops / self.counted_seconds / 1e12 if self.counted_seconds else None
        return {"fits": self.fits, "training_seconds": round(self.seconds, 1),
                "training_pflop": self.flops / 1e15 if self.counted_seconds else None,
                "tflop_per_second": rate}


# Every EpochClock adds its fit here, so that a notebook's results can say how much training
# it did in all, including fits that produced no reported model (ablations, timings).
WORK_DONE = Work()


class EpochClock(keras.callbacks.Callback):
    """Records each epoch's training seconds (validation excluded) in `seconds`, and adds them
    to the epoch's logs as `epoch_seconds`, so that a CSV log keeps them across resumes.

    The first epoch also pays for compiling the training step; `compile_seconds` estimates
    that as the first epoch's excess over the median of the others. Given `batch`, one
    training batch (x, y), it also counts the FLOPs of a training step on batches of that shape
    (`step_flops`, see helpers.flops) when training ends, and `flops` is the fit's total."""

    def __init__(self, batch: tuple | None = None) -> None:
        super().__init__()
        self.batch = batch
        self.step_flops: float | None = None

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
        if logs is not None:
            logs["epoch_seconds"] = self.seconds[-1]

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.batch is not None and self.seconds:
            self.step_flops = flop_count.training_flops(self.model, self.batch, steps=1)
        WORK_DONE.add(self.training_seconds, self.flops)

    @property
    def steps_per_epoch(self) -> int | None:
        return self.params.get("steps") if self.params else None

    @property
    def flops(self) -> float | None:
        """The FLOPs of the epochs this fit trained (a smaller last batch counted as full)."""
        return self.flops_of(len(self.seconds))

    def flops_of(self, epochs: int) -> float | None:
        """The FLOPs of `epochs` epochs of this fit's steps, None where they were not counted."""
        if self.step_flops is None or not self.steps_per_epoch:
            return None
        return self.step_flops * self.steps_per_epoch * epochs

    @property
    def compile_seconds(self) -> float:
        if len(self.seconds) < 2:
            return float("nan")
        return max(self.seconds[0] - statistics.median(self.seconds[1:]), 0.0)

    @property
    def training_seconds(self) -> float:
        """All epochs' training time, compilation included."""
        return float(sum(self.seconds))


class StaleCheckpointError(RuntimeError):
    """The backup in `checkpoint_dir` holds the training state of another model."""


class _BackupAndRestore(keras.callbacks.BackupAndRestore):
    """Keras's BackupAndRestore, whose error for a backup that does not fit the model (Keras
    says "2 objects could not be loaded", on every re-run) says what is in the way instead."""

    def on_train_begin(self, logs: dict | None = None) -> None:
        try:
            super().on_train_begin(logs)
        except ValueError as err:
            if not self.model.built:  # Keras's own message says to build the model
                raise
            raise StaleCheckpointError(
                f"{self.backup_dir} holds the backup of an interrupted training of another "
                "model, which does not fit this one (Keras's error is above). To resume that "
                "training, run it with the model as it was; to train this model from scratch, "
                f"delete the folder {self.backup_dir} or pass another checkpoint_dir.") from err


def _made_by_fit(folder: Path, own: set[Path]) -> bool:
    """Whether `folder` is fit's to remove at the end: missing now (fit creates it), or holding
    only what an interrupted fit left there. A folder of the user's (on Drive, say) is kept."""
    if not folder.exists():
        return True
    entries = set(folder.iterdir())
    return bool(entries) and entries <= own


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
    `checkpoint_dir/fit_backup` (point `checkpoint_dir` at Google Drive in Colab to survive a
    lost VM); `checkpoint_dir/fit_history.csv` beside it keeps the per-epoch metrics. When
    training ends normally both are removed, so a later run starts fresh, and so is
    `checkpoint_dir` if fit created it; anything else in it is left alone. The run's `flops`
    are the training FLOPs of all its epochs (see helpers.flops), None where the backend
    cannot count them.

    A backup of another model raises StaleCheckpointError; a backup that already holds `epochs`
    epochs or more trains nothing, warns, and returns the recorded history."""
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs <= 0:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    checkpoint_dir = Path(checkpoint_dir)
    # Names of fit's own, so that a user's "backup" or "history.csv" there is never touched.
    backup_dir = checkpoint_dir / "fit_backup"
    log_path = checkpoint_dir / "fit_history.csv"
    remove_folder = _made_by_fit(checkpoint_dir, {backup_dir, log_path})
    if not backup_dir.exists() and log_path.exists():
        log_path.unlink()  # a finished or abandoned earlier run: start its log afresh
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    clock = EpochClock(batch=next(iter(train)))  # one batch's shapes, to count the FLOPs
    trained = model.fit(
        train,
        validation_data=validation,
        epochs=epochs,
        verbose=verbose,
        shuffle=False,  # the input pipeline shuffles
        # Order matters at each epoch's end: the caller's callbacks first, so what they add to
        # the logs (ReduceLROnPlateau's learning_rate) reaches the CSV history; the backup last,
        # so an epoch it marks as done is always in the history too.
        callbacks=[
            *callbacks,
            clock,
            keras.callbacks.CSVLogger(str(log_path), append=True),
            _BackupAndRestore(str(backup_dir)),
        ],
    )
    history = (pd.read_csv(log_path).drop_duplicates("epoch", keep="last")
               .set_index("epoch").sort_index())
    if not trained.epoch:
        warnings.warn(
            f"nothing was trained: the backup in {backup_dir} already held {len(history)} "
            f"epochs, at least the {epochs} asked for. The model has the backed-up weights and "
            "the history of those epochs is returned; run again to train afresh.", stacklevel=2)
    log_path.unlink()
    if remove_folder and not any(checkpoint_dir.iterdir()):
        checkpoint_dir.rmdir()
    return TrainingRun(history=history, seconds=float(history["epoch_seconds"].sum()),
                       flops=clock.flops_of(len(history)))  # resumed epochs too
