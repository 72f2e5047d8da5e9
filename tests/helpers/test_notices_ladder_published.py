"""The boxed run notice, the accuracy ladder and the measured-vs-reported comparison."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from helpers import ladder, notices, published_figures  # noqa: E402
from helpers.results_log import ResultsLog  # noqa: E402


def test_notice_is_silent_for_the_full_lesson_on_official_data(capsys):
    notices.show_run_notice("CIFAR-10", train_size=None, epochs=20, lesson_epochs=20)
    assert capsys.readouterr().out == ""


def test_notice_names_subset_epochs_and_jpeg_copy_in_one_box(capsys):
    notices.show_run_notice("CIFAR-10 (JPEG copy)", train_size=1000, epochs=1, lesson_epochs=20,
                            notes=["DATASET is cifar10 here."])
    printed = capsys.readouterr().out
    lines = printed.splitlines()
    assert lines[0].startswith("┌") and lines[-1].startswith("└")
    assert printed.count("┌") == 1
    assert len({len(line) for line in lines}) == 1, "every line of the box has the same width"
    text = " ".join(line.strip("│ ") for line in lines[1:-1])
    assert "1,000 training images" in text and "1 epoch instead of the lesson's 20" in text
    assert "JPEG" in text and "DATASET is cifar10 here." in text


def test_notice_names_smaller_validation_and_test_sets():
    lines = notices.run_notice_lines("CIFAR-10", eval_size=1000)
    assert len(lines) == 1
    assert "at most 1,000 validation and test images each" in lines[0]
    assert "EVAL_SIZE = None" in lines[0]


def test_notice_for_more_epochs_than_the_lesson_says_nothing_about_epochs():
    lines = notices.run_notice_lines("CIFAR-10", epochs=30, lesson_epochs=20)
    assert lines == []


def _log(tmp_path, notebook="06_data_augmentation", accuracies=((0.30, 0.31),)) -> ResultsLog:
    log = ResultsLog(tmp_path, notebook, "CIFAR-10 (JPEG copy)")
    log.models = [{"model": f"m{index}", "dataset": "CIFAR-10 (JPEG copy)", "parameters": 10,
                   "train_accuracy": val + 0.1, "val_accuracy": val, "test_accuracy": test}
                  for index, (val, test) in enumerate(accuracies)]
    return log


def test_reference_table_has_provenance_for_every_row():
    table = ladder.reference_results()
    assert not table.empty
    for column in ladder.PROVENANCE:
        assert table[column].notna().all(), column
    assert table["test_accuracy"].between(0, 1).all()


def test_ladder_marks_this_run_beside_the_reference_rows(tmp_path):
    log = _log(tmp_path, accuracies=((0.30, 0.31), (0.40, 0.35)))
    table = ladder.ladder_table(log)
    mine = table[table["run"] == "this run"]
    assert list(mine["model"]) == ["m1"], "the best on validation, not on test"
    assert list(mine["test_accuracy"]) == [0.35]
    reference = table[table["run"] != "this run"]
    assert reference["notebook"].is_unique
    assert reference["run"].str.startswith("reference: ").all()
    fig = ladder.plot_ladder(log)
    ax = fig.axes[0]
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    assert "06_data_augmentation" in [label.get_text() for label in ax.get_yticklabels()]


def test_ladder_picks_each_notebooks_best_reference_on_validation(tmp_path):
    reference = pd.DataFrame({
        "notebook": ["01_a", "01_a"], "model": ["weak", "strong"], "test_accuracy": [0.9, 0.5],
        "val_accuracy": [0.4, 0.6], "device": "cpu", "backend": "jax", "dataset": "d",
        "date": "2026-11-23", "command": "c"})
    table = ladder.ladder_table(_log(tmp_path, notebook="01_a"), reference)
    assert table.loc[table["run"] != "this run", "model"].tolist() == ["strong"]


def test_measured_vs_reported_lines_up_percentages(tmp_path):
    log = _log(tmp_path, accuracies=((0.30, 0.31), (0.40, 0.35)))
    comparison = published_figures.measured_vs_reported(log.table(), {"m1": {"test": 61.6}})
    assert comparison.loc["m1", "test"] == 35.0
    assert comparison.loc["m1", "reported test"] == 61.6
    assert np.isnan(comparison.loc["m0", "reported test"])
    assert "reported train" not in comparison.columns
    fig = published_figures.plot_measured_vs_reported(comparison, title="t")
    assert fig.axes[0].get_title() == "t"


def test_measured_vs_reported_refuses_unknown_models_and_splits(tmp_path):
    table = _log(tmp_path).table()
    with pytest.raises(KeyError, match="did not record"):
        published_figures.measured_vs_reported(table, {"typo": {"test": 50.0}})
    with pytest.raises(ValueError, match="reported splits"):
        published_figures.measured_vs_reported(table, {"m0": {"tset": 50.0}})
