"""`course run` and `course prepare` on small notebooks made in the test."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from course import cli, runner, series_report

pytestmark = pytest.mark.one_backend

PARAMETERS = 'EPOCHS = 5\nOUTPUT_DIR = "unused"'
RECORD = """
import json, pathlib
folder = pathlib.Path(OUTPUT_DIR); folder.mkdir(parents=True, exist_ok=True)
model = {"model": "m", "parameters": 10, "epochs": EPOCHS, "training_seconds": 1.0,
         "train_accuracy": 0.5, "val_accuracy": 0.4, "test_accuracy": 0.375, "test_loss": 1.0}
training = {"fits": 1, "training_seconds": 1.0, "training_pflop": 0.0125,
            "tflop_per_second": 12.5}
(folder / "results.json").write_text(json.dumps(
    {"notebook": "x", "dataset": "toy", "training": training, "models": [model]}))
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
    assert "0.0125 PFLOP of training at 12.5 TFLOP/s" in printed  # what 00_good recorded
    table = pd.read_csv(out / "results.csv")
    assert table["status"].tolist() == ["ok", "failed"]
    assert table.loc[0, "test_accuracy"] == 0.375 and table.loc[0, "epochs"] == 1  # smoke
    assert "ValueError: deliberate failure" in table.loc[1, "error"]
    report = (out / "report.md").read_text()
    assert "selected 2 notebooks: 1 ok, 1 failed." in report and "deliberate failure" in report
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
        runner.notebook_parameters("huge", tmp_path, series / "00_good.ipynb", kernel_dir=series)


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
    text = series_report.for_reading(table)
    assert "45.7%" in text and "674,986" in text and "28.2" in text
    assert "nan" not in text


def _run(series: Path, out: Path, *extra: str) -> int:
    return cli.main(["run", "--profile", "smoke", "--notebooks", str(series),
                     "--output", str(out), *extra])


def test_ctrl_c_still_writes_the_report_and_says_what_did_not_run(series, tmp_path, capsys,
                                                                   monkeypatch):
    _notebook(series / "02_later.ipynb", RECORD)
    run_notebook = runner.run_notebook

    def ctrl_c_in_01(notebook, *args, **kwargs):
        if notebook.name.startswith("01"):
            raise KeyboardInterrupt
        return run_notebook(notebook, *args, **kwargs)

    monkeypatch.setattr(runner, "run_notebook", ctrl_c_in_01)
    out = tmp_path / "out"
    assert _run(series, out) == cli.EXIT_INTERRUPTED
    assert "not run: 02_later" in capsys.readouterr().out
    table = pd.read_csv(out / "results.csv")
    assert table["status"].tolist() == ["ok", "interrupted", "not run"]
    assert table.loc[0, "test_accuracy"] == 0.375
    report_text = (out / "report.md").read_text()
    assert "selected 3 notebooks: 1 ok, 1 interrupted, 1 not run" in report_text
    assert "**01_broken** (interrupted): interrupted by Ctrl-C" in report_text
    assert not (out / runner.LOCK_FILE).exists()  # the folder is free for the next run


def test_the_executed_copy_of_an_interrupted_notebook_says_where_it_stopped(tmp_path,
                                                                             monkeypatch):
    from papermill.clientwrap import PapermillNotebookClient

    notebook = tmp_path / "00_long.ipynb"
    _notebook(notebook, "x = 1", "# the cell running at Ctrl-C\ny = 2", "z = 3")
    execute_cell = PapermillNotebookClient.execute_cell

    def ctrl_c(self, cell, index, *args, **kwargs):
        if "Ctrl-C" in cell.source:
            raise KeyboardInterrupt
        return execute_cell(self, cell, index, *args, **kwargs)

    monkeypatch.setattr(PapermillNotebookClient, "execute_cell", ctrl_c)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(KeyboardInterrupt):
        runner.run_notebook(notebook, "smoke", out, cell_timeout=60)
    executed = nbformat.read(out / notebook.name, as_version=4)
    # parameters, papermill's injected parameters, x = 1, the interrupted cell, z = 3
    statuses = [cell.metadata.papermill["status"] for cell in executed.cells]
    assert statuses == ["completed", "completed", "completed", "failed", "pending"]
    assert executed.cells[3].outputs[-1]["ename"] == "KeyboardInterrupt"
    assert executed.metadata.papermill["exception"] is True


def test_a_run_into_a_folder_of_an_earlier_run_keeps_the_rows_it_did_not_run(series, tmp_path):
    out = tmp_path / "out"
    assert _run(series, out) == 1
    first = pd.read_csv(out / "results.csv")
    assert _run(series, out, "--only", "00", "--set", "EPOCHS=3") == 0
    table = pd.read_csv(out / "results.csv")
    assert table["notebook"].tolist() == ["00_good", "01_broken"]  # 01's row is not dropped
    assert table.loc[0, "epochs"] == 3 and table.loc[0, "run"].endswith("smoke, EPOCHS=3")
    assert table.loc[1, "run"] == first.loc[1, "run"] != table.loc[0, "run"]
    assert table.loc[1, "status"] == "failed"
    assert "come from an earlier run into this folder" in (out / "report.md").read_text()


def test_a_rerun_never_reports_the_earlier_runs_results_as_its_own(series, tmp_path):
    out = tmp_path / "out"
    assert _run(series, out, "--only", "00") == 0
    _notebook(series / "00_good.ipynb", "raise RuntimeError('broken before recording')", RECORD)
    assert _run(series, out, "--only", "00") == 1
    table = pd.read_csv(out / "results.csv")
    assert table.loc[0, "status"] == "failed" and pd.isna(table.loc[0, "test_accuracy"])
    assert "broken before recording" in table.loc[0, "error"]


def test_output_folders_a_run_must_not_write_into_are_refused(series, tmp_path, capsys):
    busy = tmp_path / "busy"
    busy.mkdir()
    alive = os.getpid()  # a run still going: this process
    (busy / runner.LOCK_FILE).write_text(f"process {alive}, run 2026-01-01 10:00:00, full")
    assert _run(series, busy) == 2
    assert f"in use by another course run (process {alive}" in capsys.readouterr().err
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "report.md").write_text("my own report")
    (mine / "results.csv").write_text("grade,student\n")
    assert _run(series, mine) == 2
    assert "holds files no course run wrote (report.md, results.csv)" in capsys.readouterr().err
    assert (mine / "report.md").read_text() == "my own report"
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    assert _run(series, a_file) == 2
    assert f"--output {a_file} is a file" in capsys.readouterr().err
    assert _run(series, series) == 2
    assert "is the notebooks folder" in capsys.readouterr().err


def test_set_values_are_held_to_the_type_of_the_notebooks_defaults(tmp_path):
    notebook = tmp_path / "00_typed.ipynb"
    _notebook(notebook)
    source = notebook.read_text().replace(
        'EPOCHS = 5', 'EPOCHS = 5\\nTRAIN_SIZE = None\\nBATCH_SIZE = 32\\nDATASET = \\"x\\"\\n'
        'RUN_SOLUTIONS = False\\nRATE = 0.001')
    notebook.write_text(source)
    for name, value in [("EPOCHS", 3), ("TRAIN_SIZE", None), ("TRAIN_SIZE", 500),
                        ("DATASET", "cifar10"), ("RUN_SOLUTIONS", True), ("RATE", 1)]:
        runner.check_overrides([notebook], {name: value})
    for name, value, expected in [
            ("EPOCHS", "abc", "a positive int"), ("EPOCHS", -1, "a positive int"),
            ("EPOCHS", 2.5, "a positive int"), ("EPOCHS", True, "a positive int"),
            ("EPOCHS", None, "a positive int"), ("TRAIN_SIZE", 0, "a positive int or None"),
            ("BATCH_SIZE", 0, "a positive int"), ("DATASET", 5, "a string"),
            ("RUN_SOLUTIONS", "true", "True or False"), ("RATE", "fast", "a number")]:
        with pytest.raises(ValueError) as caught:
            runner.check_overrides([notebook], {name: value})
        assert str(caught.value).startswith(f"--set {name}={value!r}: {name} must be {expected} (")


@pytest.mark.parametrize(("notebook", "name"), [
    ("10_what_the_network_sees", "TSNE_SIZE"), ("11_from_notebook_to_web_app", "FALLBACK_EPOCHS"),
    ("09_transfer_learning", "SOURCE_EPOCHS"), ("08_modern_cnns", "RESNET9_WIDTH"),
    ("12_your_own_images", "IMAGE_SIZE")])
def test_the_series_counts_are_refused_below_one(notebook, name):
    """A count of 0 would fail deep inside a library, minutes into the run: refused up front."""
    path = Path(__file__).resolve().parents[2] / "notebooks" / f"{notebook}.ipynb"
    with pytest.raises(ValueError, match=f"{name} must be a positive int"):
        runner.check_overrides([path], {name: 0})


def test_command_line_mistakes_get_a_message_and_exit_code_2(series, tmp_path, capsys):
    assert _run(series, tmp_path / "out", "--set", "EPOCHS=abc") == 2
    assert "--set EPOCHS='abc': EPOCHS must be a positive int (00_good has EPOCHS = 5)" in \
        capsys.readouterr().err
    with pytest.raises(SystemExit) as caught:
        _run(series, tmp_path / "out", "--cell-timeout", "0")
    assert caught.value.code == 2
    assert "--cell-timeout: must be a positive whole number of seconds, got 0" in \
        capsys.readouterr().err
    assert cli.main(["run", "--notebooks", str(tmp_path / "elsewhere")]) == 2
    message = capsys.readouterr().err
    assert f"there is no folder {tmp_path / 'elsewhere'}" in message and "--notebooks" in message
    assert not (tmp_path / "out").exists()  # refused before anything was written


def test_report_numbers_keep_their_type_and_precision(tmp_path):
    models = {"06_plain": {"model": "plain", "parameters": 1000, "epochs": 30,
                           "training_seconds": 12.5, "test_accuracy": 0.7},
              "07_tuned": {"model": "tuned", "parameters": 2000, "epochs": 20,
                           "training_seconds": 30.0, "test_accuracy": 0.8,
                           "learning_rate": 0.001, "batch_size": 64}}
    outcomes = []
    for notebook, model in models.items():
        (tmp_path / notebook).mkdir()
        (tmp_path / notebook / "results.json").write_text(json.dumps(
            {"notebook": notebook, "dataset": "toy",
             "models": [{**model, "val_accuracy": 0.5, "dataset": "toy"}]}))
        outcomes.append(runner.NotebookOutcome(notebook, "ok", 1.0, tmp_path / notebook))
    series_report.write_report(outcomes, tmp_path, "a run")
    written = pd.read_csv(tmp_path / "models.csv", dtype=str, keep_default_na=False)
    assert written["batch_size"].tolist() == ["", "64"]
    assert written["learning_rate"].tolist() == ["", "0.001"]
    assert written["training_seconds"].tolist() == ["12.5", "30.0"]
    rows = [line.split("|") for line in (tmp_path / "report.md").read_text().splitlines()
            if line.startswith("| 07_tuned") and "tuned" in line]
    cells = [cell.strip() for cell in rows[-1]]
    assert "0.001" in cells and "64" in cells and "30.0" in cells
    assert "64.0" not in cells and "0.0" not in cells


def test_the_report_gives_each_notebooks_training_petaflop_and_rate(tmp_path):
    (tmp_path / "08_fast").mkdir()
    (tmp_path / "08_fast" / "results.json").write_text(json.dumps(
        {"notebook": "08_fast", "dataset": "toy",
         "training": {"fits": 9, "training_seconds": 120.0, "training_pflop": 2.4567,
                      "tflop_per_second": 20.4725},
         "models": [{"model": "m", "val_accuracy": 0.5, "test_accuracy": 0.5,
                     "dataset": "toy", "training_pflop": 0.5, "tflop_per_second": 25.0}]}))
    outcome = runner.NotebookOutcome("08_fast", "ok", 130.0, tmp_path / "08_fast")
    series_report.write_report([outcome], tmp_path, "a run")
    summary = pd.read_csv(tmp_path / "results.csv")
    # the notebook's total, all its fits: not the headline model's 0.5 PFLOP
    assert summary.loc[0, "training_pflop"] == pytest.approx(2.4567)
    assert summary.loc[0, "tflop_per_second"] == pytest.approx(20.4725)
    assert pd.read_csv(tmp_path / "models.csv").loc[0, "training_pflop"] == 0.5
    row = next(line for line in (tmp_path / "report.md").read_text().splitlines()
               if line.startswith("| 08_fast"))
    assert "2.46" in row and "20.5" in row  # three figures: estimates, not exact counts


def test_gpu_probe_is_quiet(capfd):
    """The probe runs in a child process: no CUDA start-up errors reach the terminal."""
    assert isinstance(runner.gpu_available(), bool)
    captured = capfd.readouterr()
    assert "cuInit" not in captured.err and "cuda" not in captured.err.lower()


def test_course_without_the_runner_extra_says_what_to_install(monkeypatch, capsys):
    import importlib

    import course
    from course import cli

    monkeypatch.setitem(sys.modules, "papermill", None)  # as if not installed
    monkeypatch.delitem(sys.modules, "course.runner")
    monkeypatch.delattr(course, "runner")
    try:
        reloaded = importlib.reload(cli)
        assert reloaded.main(["run"]) == 2
        assert "keras-cnn-course[runner]" in capsys.readouterr().err
    finally:
        monkeypatch.undo()
        importlib.reload(cli)


def _prepare(series: Path, out: Path, *extra: str) -> int:
    return cli.main(["prepare", "--profile", "smoke", "--notebooks", str(series),
                     "--output", str(out), *extra])


def test_prepare_keeps_a_notebook_the_user_has_in_the_folder(series, tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "00_good.ipynb").write_text("my edited copy")
    assert _prepare(series, mine) == 2
    assert "holds files no course run wrote (00_good.ipynb)" in capsys.readouterr().err
    assert (mine / "00_good.ipynb").read_text() == "my edited copy"


def test_prepare_may_replace_what_it_prepared_and_takes_the_runs_lock(series, tmp_path, capsys):
    out = tmp_path / "out"
    assert _prepare(series, out) == 0
    assert _prepare(series, out) == 0  # its own folder: prepared again
    assert not (out / runner.LOCK_FILE).exists()
    (out / runner.LOCK_FILE).write_text(f"process {os.getpid()}, run 2026-01-01 10:00:00, full")
    assert _prepare(series, out) == 2
    assert "in use by another course run" in capsys.readouterr().err


def test_output_that_cannot_be_created_is_a_sentence_not_a_traceback(series, tmp_path, capsys):
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    for command in (_prepare, _run):
        assert command(series, a_file / "out") == 2
        assert f"cannot write into {a_file / 'out'}" in capsys.readouterr().err


def test_output_inside_the_notebooks_folder_is_refused(series, capsys):
    for command in (_prepare, _run):
        assert command(series, series / "runs") == 2
        assert "inside the notebooks folder" in capsys.readouterr().err
        assert not (series / "runs").exists()


def test_a_lock_whose_process_is_gone_is_taken_over_saying_so(series, tmp_path, capsys):
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)
    gone = int(finished.stdout)  # a process that has ended
    out = tmp_path / "out"
    out.mkdir()
    (out / runner.LOCK_FILE).write_text(f"process {gone} on {socket.gethostname()}, run x\n")
    assert _run(series, out, "--only", "00") == 0
    said = capsys.readouterr().err
    assert f"taking over {out / runner.LOCK_FILE}" in said
    assert f"process {gone} no longer exists" in said
    assert not (out / runner.LOCK_FILE).exists()


def test_an_old_empty_lock_is_stale_and_a_fresh_one_or_another_hosts_is_not(tmp_path):
    lock = tmp_path / runner.LOCK_FILE
    lock.write_text("")
    assert runner.stale_lock_reason(lock) is None  # being written this moment, perhaps
    an_hour_ago = time.time() - 3600
    os.utime(lock, (an_hour_ago, an_hour_ago))
    assert "empty" in runner.stale_lock_reason(lock)
    lock.write_text("process 1 on another-machine, run x\n")  # cannot be asked from here
    assert runner.stale_lock_reason(lock) is None
    lock.write_text(f"process {os.getpid()} on {socket.gethostname()}, run x\n")
    assert runner.stale_lock_reason(lock) is None


def test_a_lock_that_cannot_be_written_whole_is_not_left_behind(tmp_path, monkeypatch):
    """On a full disk the lock file is created, then its line cannot be written."""
    real_open = Path.open

    class FullDisk:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def write(self, text):
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "open", lambda self, *a, **k: FullDisk(real_open(self, *a, **k)))
    lock = tmp_path / runner.LOCK_FILE
    with pytest.raises(runner.OutputFolderError, match="No space left on device"):
        runner.claim_output(tmp_path, tmp_path / "notebooks", "a run").__enter__()
    assert not lock.exists()


def test_sigterm_stops_a_run_as_ctrl_c_does(series, tmp_path):
    """The report is written, the notebook is `interrupted`, the folder is free again."""
    _notebook(series / "00_good.ipynb", "import time\ntime.sleep(300)", RECORD)
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "course.cli", "run", "--profile", "smoke", "--notebooks",
         str(series), "--output", str(out)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    deadline = time.monotonic() + 120
    while not (out / "00_good.ipynb").is_file() and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(3)  # the kernel reaches the sleeping cell
    process.send_signal(signal.SIGTERM)
    printed, _ = process.communicate(timeout=120)
    assert process.returncode == cli.EXIT_INTERRUPTED, printed
    table = pd.read_csv(out / "results.csv")
    assert table["status"].tolist() == ["interrupted", "not run"]
    assert "stopped by a termination signal (SIGTERM)" in (out / "report.md").read_text()
    assert not (out / runner.LOCK_FILE).exists()


def test_set_output_dir_is_refused_and_folders_must_be_paths(series, tmp_path, capsys):
    assert _run(series, tmp_path / "out", "--set", "OUTPUT_DIR=elsewhere") == 2
    assert "choose where the run writes with --output" in capsys.readouterr().err
    notebook = tmp_path / "00_folders.ipynb"
    _notebook(notebook)
    notebook.write_text(notebook.read_text().replace('EPOCHS = 5', 'EPOCHS = 5\\nDATA_DIR = None'))
    runner.check_overrides([notebook], {"DATA_DIR": "../shared/datasets"})
    runner.check_overrides([notebook], {"DATA_DIR": None})
    with pytest.raises(ValueError, match="DATA_DIR must be a folder's path in quotes, or None"):
        runner.check_overrides([notebook], {"DATA_DIR": 5})


def test_copies_carry_no_absolute_path_of_the_machine(series, tmp_path, monkeypatch):
    """The injected OUTPUT_DIR is relative to where the copy's kernel starts, and still the
    notebook's folder of the run: results land where the report reads them. Papermill's record
    of the paths is relative to the folder the command ran in (the course's, here)."""
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    assert _run(series, out, "--only", "00") == 0
    assert _prepare(series, tmp_path / "prepared", "--only", "00") == 0
    for copy in (out / "00_good.ipynb", tmp_path / "prepared" / "00_good.ipynb"):
        injected = nbformat.read(copy, as_version=4).cells[1]
        assert "injected-parameters" in injected.metadata.tags
        assert str(tmp_path) not in copy.read_text(), copy
    injected = nbformat.read(out / "00_good.ipynb", as_version=4).cells[1].source
    assert 'OUTPUT_DIR = "../out/00_good"' in injected
    assert (out / "00_good" / "results.json").is_file()
    prepared = nbformat.read(tmp_path / "prepared" / "00_good.ipynb", as_version=4)
    assert 'OUTPUT_DIR = "00_good"' in prepared.cells[1].source
