"""`course run` and `course prepare` on small notebooks made in the test."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pandas as pd
import pytest

from helpers import cli, report, runner

PARAMETERS = 'EPOCHS = 5\nOUTPUT_DIR = "unused"'
RECORD = """
import json, pathlib
folder = pathlib.Path(OUTPUT_DIR); folder.mkdir(parents=True, exist_ok=True)
model = {"model": "m", "parameters": 10, "epochs": EPOCHS, "training_seconds": 1.0,
         "train_accuracy": 0.5, "val_accuracy": 0.4, "test_accuracy": 0.375, "test_loss": 1.0}
(folder / "results.json").write_text(json.dumps(
    {"notebook": "x", "dataset": "toy", "models": [model]}))
"""


def _notebook(path: Path, *cells: str) -> None:
    notebook = nbformat.v4.new_notebook()
    parameters = nbformat.v4.new_code_cell(PARAMETERS)
    parameters.metadata["tags"] = ["parameters"]
    notebook.cells = [parameters, *(nbformat.v4.new_code_cell(cell) for cell in cells)]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    nbformat.write(notebook, path)


@pytest.fixture
def series(tmp_path: Path) -> Path:
    folder = tmp_path / "notebooks"
    folder.mkdir()
    _notebook(folder / "00_good.ipynb", RECORD)
    _notebook(folder / "01_broken.ipynb", "raise ValueError('deliberate failure')")
    (folder / "notes.ipynb").write_text("{}")  # not NN_topic: not part of the series
    return folder


def test_a_notebook_without_a_kernel_is_reported_not_raised(series, tmp_path):
    broken = series / "02_no_kernel.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]), broken)
    outcome = runner.run_notebook(broken, "smoke", tmp_path / "out", cell_timeout=60)
    assert outcome.status == "failed" and "kernel" in outcome.error


def test_run_keeps_going_past_a_failure_and_reports_both(series, tmp_path, capsys):
    out = tmp_path / "out"
    code = cli.main(["run", "--profile", "smoke", "--notebooks", str(series), "--output", str(out)])
    assert code == 1
    printed = capsys.readouterr().out
    assert "[1/2] 00_good ... ok" in printed and "[2/2] 01_broken ... failed" in printed
    table = pd.read_csv(out / "results.csv")
    assert table["status"].tolist() == ["ok", "failed"]
    assert table.loc[0, "test_accuracy"] == 0.375 and table.loc[0, "epochs"] == 1  # smoke
    assert "ValueError: deliberate failure" in table.loc[1, "error"]
    report = (out / "report.md").read_text()
    assert "1 of 2 notebooks ran; 1 failed" in report and "deliberate failure" in report
    assert (out / "accuracy.png").read_bytes()[:4] == b"\x89PNG"
    executed = nbformat.read(out / "00_good.ipynb", as_version=4)
    injected = next(cell for cell in executed.cells
                    if "injected-parameters" in cell.metadata.get("tags", []))
    assert "EPOCHS = 1" in injected.source and "TRAIN_SIZE" not in injected.source


def test_only_selects_notebooks_and_unknown_numbers_are_refused(series, tmp_path, capsys):
    assert [p.name for p in runner.discover_notebooks(series, ["01"])] == ["01_broken.ipynb"]
    code = cli.main(["run", "--only", "07", "--notebooks", str(series)])
    assert code == 2 and "no notebook numbered 07; available: 00, 01" in capsys.readouterr().err


def test_prepare_injects_the_profile_and_executes_nothing(series, tmp_path):
    out = tmp_path / "prepared"
    assert cli.main(["prepare", "--profile", "smoke", "--only", "00",
                     "--notebooks", str(series), "--output", str(out)]) == 0
    prepared = nbformat.read(out / "00_good.ipynb", as_version=4)
    assert "EPOCHS = 1" in prepared.cells[1].source
    assert all(not cell.get("outputs") for cell in prepared.cells if cell.cell_type == "code")


def test_unknown_profile_is_refused(series, tmp_path):
    with pytest.raises(ValueError, match="unknown profile 'huge'"):
        runner.notebook_parameters("huge", tmp_path, series / "00_good.ipynb")


def test_set_overrides_the_profile_where_the_notebook_declares_the_name(series, tmp_path):
    out = tmp_path / "prepared"
    assert cli.main(["prepare", "--profile", "smoke", "--only", "00", "--set", "EPOCHS=3",
                     "--notebooks", str(series), "--output", str(out)]) == 0
    injected = nbformat.read(out / "00_good.ipynb", as_version=4).cells[1].source
    assert "EPOCHS = 3" in injected and "TRAIN_SIZE" not in injected  # not declared there


def test_override_values_are_literals_or_plain_strings():
    assert runner.parse_override("EPOCHS=3") == ("EPOCHS", 3)
    assert runner.parse_override("TRAIN_SIZE=None") == ("TRAIN_SIZE", None)
    assert runner.parse_override("DATASET=cifar10") == ("DATASET", "cifar10")
    with pytest.raises(ValueError, match="NAME=VALUE"):
        runner.parse_override("EPOCHS")


def test_set_of_a_parameter_no_notebook_declares_is_refused(series, tmp_path, capsys):
    code = cli.main(["prepare", "--set", "EPOHCS=3", "--notebooks", str(series),
                     "--output", str(tmp_path / "prepared")])
    assert code == 2 and "no selected notebook has a parameter named EPOHCS" in \
        capsys.readouterr().err


def test_report_tables_read_as_percent_and_counts_with_blanks_for_missing():
    table = pd.DataFrame({"notebook": ["00_a", "01_b"], "test_accuracy": [float("nan"), 0.4567],
                          "parameters": [float("nan"), 674986.0], "seconds": [28.24, 70.0]})
    text = report.for_reading(table)
    assert "45.7%" in text and "674,986" in text and "28.2" in text
    assert "nan" not in text
