"""ResultsLog and the plotting helpers."""

from __future__ import annotations

import json

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from helpers import plots, results_log, training
from helpers.training import TrainingRun


def _run(val_accuracy: float) -> TrainingRun:
    history = pd.DataFrame({"loss": [1.0, 0.8], "accuracy": [0.5, 0.6],
                            "val_loss": [1.1, 0.9], "val_accuracy": [0.45, val_accuracy]})
    return TrainingRun(history=history, seconds=12.34)


class _Model:
    def count_params(self) -> int:
        return 1234


def test_results_log_writes_after_each_model_and_replaces_a_rerun(tmp_path):
    log = results_log.ResultsLog(tmp_path, "01_test", "CIFAR-10 (JPEG copy)")
    assert results_log.read_results(tmp_path)["models"] == []
    log.add("a", _Model(), _run(0.55), test_loss=0.9, test_accuracy=0.52)
    log.add("b", _Model(), _run(0.60), test_loss=0.8, test_accuracy=0.50)
    log.add("a", _Model(), _run(0.58), test_loss=0.9, test_accuracy=0.53)
    saved = json.loads((tmp_path / "results.json").read_text())
    assert [m["model"] for m in saved["models"]] == ["b", "a"]
    assert saved["models"][1] == {
        "model": "a", "dataset": "CIFAR-10 (JPEG copy)", "parameters": 1234, "epochs": 2,
        "training_seconds": 12.3,
        "train_accuracy": 0.6, "val_accuracy": 0.58, "test_accuracy": 0.53, "test_loss": 0.9,
        "training_pflop": None, "tflop_per_second": None}
    # the headline is chosen on validation, even though "a" has the better test accuracy
    assert results_log.headline(saved)["model"] == "b"
    assert list(log.table().index) == ["b", "a"]
    assert log.table().loc["a", "gap"] == pytest.approx(0.6 - 0.58)


def test_a_counted_run_records_its_petaflop_and_rate_and_the_log_the_kernels_training(
        tmp_path, monkeypatch):
    work = training.Work()
    monkeypatch.setattr(training, "WORK_DONE", work)
    work.add(10.0, 3e15)
    work.add(5.0, None)  # a fit whose FLOPs the backend could not count
    log = results_log.ResultsLog(tmp_path, "08_test", "CIFAR-10")
    counted = TrainingRun(history=_run(0.5).history, seconds=20.0, flops=4e15)
    row = log.add("counted", _Model(), counted, test_loss=1.0, test_accuracy=0.5)
    assert row["training_pflop"] == pytest.approx(4.0)
    assert row["tflop_per_second"] == pytest.approx(200.0)
    assert results_log.read_results(tmp_path)["training"] == {
        "fits": 2, "training_seconds": 15.0, "training_pflop": pytest.approx(3.0),
        "tflop_per_second": pytest.approx(300.0)}


def test_a_model_on_another_dataset_is_recorded_but_never_the_headline(tmp_path):
    log = results_log.ResultsLog(tmp_path, "04_test", "CIFAR-10")
    log.add("LeNet", _Model(), _run(0.90), test_loss=0.3, test_accuracy=0.9,
            dataset="Fashion-MNIST")
    log.add("VGG-style", _Model(), _run(0.70), test_loss=0.9, test_accuracy=0.7)
    assert log.table()["dataset"].tolist() == ["Fashion-MNIST", "CIFAR-10"]
    assert results_log.headline(results_log.read_results(tmp_path))["model"] == "VGG-style"


def test_the_kept_weights_figures_replace_the_last_epochs(tmp_path):
    log = results_log.ResultsLog(tmp_path, "05_test", "CIFAR-10")
    row = log.add("early-stopped", _Model(), _run(0.55), test_loss=0.9, test_accuracy=0.6,
                  train_accuracy=0.7, val_accuracy=0.62)
    assert (row["train_accuracy"], row["val_accuracy"]) == (0.7, 0.62)
    assert log.table().loc["early-stopped", "gap"] == pytest.approx(0.08)


def test_a_new_log_drops_stale_results(tmp_path):
    results_log.ResultsLog(tmp_path, "01", "x").add("old", _Model(), _run(0.5), test_loss=1,
                                                test_accuracy=0.5)
    results_log.ResultsLog(tmp_path, "01", "x")
    assert results_log.read_results(tmp_path)["models"] == []
    assert results_log.read_results(tmp_path / "missing") is None


def _labels(ax) -> tuple[str, str, str]:
    return ax.get_title(), ax.get_xlabel(), ax.get_ylabel()


def test_training_curves_show_loss_and_accuracy_for_each_run():
    fig = plots.plot_training_curves({"small": _run(0.5), "big": _run(0.6).history},
                                     title="Two runs")
    loss_ax, acc_ax = fig.axes
    assert fig._suptitle.get_text() == "Two runs"
    assert _labels(acc_ax)[1:] == ("Epoch", "Accuracy") and _labels(loss_ax)[2] == "Loss"
    assert len(acc_ax.lines) == 4  # train and validation for each run
    plt.close(fig)


def test_image_grid_titles_each_image_and_hides_spare_axes():
    images = np.zeros((7, 8, 8, 1), np.float32)
    fig = plots.plot_image_grid(images, [f"img {i}" for i in range(7)], title="Grid", ncols=4)
    visible = [ax for ax in fig.axes if ax.axison]
    assert [ax.get_title() for ax in visible] == [f"img {i}" for i in range(7)]
    assert len(fig.axes) == 8
    with pytest.raises(ValueError, match="7 images but 2 titles"):
        plots.plot_image_grid(images, ["a", "b"], title="bad")
    plt.close("all")


def test_confusion_matrix_is_labelled():
    fig = plots.plot_confusion_matrix(np.array([0, 1, 1]), np.array([0, 1, 0]), ["cat", "dog"],
                                      title="Confusion")
    assert _labels(fig.axes[0]) == ("Confusion", "Predicted class", "True class")
    plt.close(fig)


def test_misclassified_gallery_shows_the_most_confident_mistakes_first():
    y_true = np.array([0, 0, 1, 1])
    probabilities = np.array([[0.9, 0.1], [0.4, 0.6], [0.95, 0.05], [0.2, 0.8]])
    fig = plots.plot_misclassified(np.zeros((4, 4, 4, 3)), y_true, probabilities, ["cat", "dog"],
                                   title="Mistakes", count=5)
    titles = [ax.get_title() for ax in fig.axes if ax.axison]
    assert titles == ["true: dog\npred: cat (95%)", "true: cat\npred: dog (60%)"]
    with pytest.raises(ValueError, match="no misclassified"):
        plots.plot_misclassified(np.zeros((1, 4, 4, 3)), np.array([0]), np.array([[1.0, 0.0]]),
                                 ["cat", "dog"], title="none")
    plt.close("all")


def test_classification_report_table_has_per_class_rows():
    table = plots.classification_report_table(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]),
                                              ["cat", "dog"])
    assert table.loc["cat", "precision"] == 1.0 and table.loc["dog", "recall"] == 1.0
    assert table.loc["cat", "support"] == 2 and "macro avg" in table.index
    assert list(table.index) == ["cat", "dog", "macro avg", "weighted avg"]


def test_prediction_grid_titles_predicted_and_true_class_and_marks_errors():
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]])
    fig = plots.plot_predictions(np.zeros((3, 8, 8, 3)), np.array([0, 0, 0]), probabilities,
                                 ["cat", "dog"], title="Predictions", count=2)
    titles = [ax.title for ax in fig.axes if ax.axison]
    assert [t.get_text() for t in titles] == ["pred: cat\ntrue: cat", "✗ pred: dog\ntrue: cat"]
    assert [t.get_color() for t in titles] == ["black", "crimson"]
    plt.close(fig)
