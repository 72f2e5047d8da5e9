"""Recording what a notebook reached, so `course run` can gather one report for the series."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:  # keeps `course run`'s report free of a TensorFlow import
    import keras

    from helpers.training import TrainingRun

RESULTS_FILE = "results.json"


class ResultsLog:
    """The models a notebook trained and what each reached, written to
    `output_dir/results.json` after every addition (a crash later keeps what was done), with
    the training this kernel has done so far in all (`helpers.training.WORK_DONE`: every fit
    timed by an EpochClock, reported models or not), for the series' report.

    Creating a log starts an empty file, so no stale result of an earlier run survives."""

    def __init__(self, output_dir: str | Path, notebook: str, dataset: str) -> None:
        self.path = Path(output_dir) / RESULTS_FILE
        self.notebook = notebook
        self.dataset = dataset
        self.models: list[dict] = []
        self.environment = _where_it_runs()
        self._write()

    def add(self, name: str, model: keras.Model, run: TrainingRun, *,
            test_loss: float, test_accuracy: float, dataset: str | None = None,
            train_accuracy: float | None = None, val_accuracy: float | None = None,
            **extra: float | str) -> dict:
        """Record one trained model; `extra` holds any further figures worth reporting.

        `dataset` marks a model trained on another dataset than the notebook's (LeNet on
        Fashion-MNIST beside CIFAR-10 networks): it is reported, but never the headline.
        `train_accuracy` and `val_accuracy` default to the last epoch's; give the kept
        weights' figures when early stopping restored an earlier epoch."""
        row = {
            "model": name,
            "dataset": dataset or self.dataset,
            "parameters": int(model.count_params()),
            "epochs": run.epochs,
            "training_seconds": round(run.seconds, 1),
            "train_accuracy": float(run.final("accuracy") if train_accuracy is None
                                    else train_accuracy),
            "val_accuracy": float(run.final("val_accuracy") if val_accuracy is None
                                  else val_accuracy),
            "test_accuracy": float(test_accuracy),
            "test_loss": float(test_loss),
            "training_pflop": None if run.flops is None else run.flops / 1e15,
            "tflop_per_second": run.tflop_per_second,
            **extra,
        }
        self.models = [m for m in self.models if m["model"] != name] + [row]
        self._write()
        return row

    def table(self) -> pd.DataFrame:
        """All recorded models, one row each, with the train - validation accuracy gap that
        measures overfitting."""
        if not self.models:
            return pd.DataFrame()
        table = pd.DataFrame(self.models).set_index("model")
        table["gap"] = table["train_accuracy"] - table["val_accuracy"]
        return table

    def _write(self) -> None:
        from helpers.training import WORK_DONE  # here: reading results needs no Keras

        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"notebook": self.notebook, "dataset": self.dataset,
                   "environment": self.environment, "training": WORK_DONE.summary(),
                   "models": self.models}
        self.path.write_text(json.dumps(payload, indent=2))


def _where_it_runs() -> dict[str, str]:
    """The backend and the device the notebook trains on, for a report or a reference row."""
    from helpers import environment

    return {"backend": environment.backend(),
            "device": environment.accelerator_model() or "CPU (no GPU)"}


def read_results(output_dir: str | Path) -> dict | None:
    """A notebook's recorded results, or None if it wrote none."""
    path = Path(output_dir) / RESULTS_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def headline(results: dict) -> dict | None:
    """The model a notebook is summarised by: the best on validation (never chosen on test),
    among those trained on the notebook's own dataset."""
    models = [model for model in results.get("models") or []
              if model.get("dataset", results.get("dataset")) == results.get("dataset")]
    return max(models, key=lambda m: m["val_accuracy"]) if models else None
