"""The notebooks as `course run` executed them (the run COURSE_SMOKE_RUN names; `make test` runs
the smoke profile there, and builds the website from the same run): every notebook ran to the
end, and every cell marked NBVAL_CHECK_OUTPUT printed what the committed notebook shows, as
nbval checks it for the JAX leg. Skipped when COURSE_SMOKE_RUN is unset."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECK_MARK = "# NBVAL_CHECK_OUTPUT"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
# As conftest.py tells nbval: stderr and rich displays vary by machine and are not compared.
UNCOMPARED = {"stderr", "text/html", "image/png"}


def run_dir() -> Path:
    folder = os.environ.get("COURSE_SMOKE_RUN")
    if not folder:
        pytest.skip("COURSE_SMOKE_RUN is unset: it names a `course run` folder to check")
    path = Path(folder)
    if not (path / "results.csv").is_file():
        pytest.fail(f"COURSE_SMOKE_RUN={folder} holds no results.csv: the run did not finish")
    return path


def compared_outputs(cell: nbformat.NotebookNode) -> list[tuple[str, str]]:
    """What a checked cell printed, as nbval compares it: streams and plain-text results."""
    compared = []
    for output in cell.get("outputs", []):
        kind = output["output_type"]
        if kind == "stream" and output["name"] not in UNCOMPARED:
            compared.append((output["name"], output["text"]))
        elif kind in ("execute_result", "display_data") and "text/plain" in output["data"]:
            compared.append(("text/plain", output["data"]["text/plain"]))
        elif kind == "error":
            compared.append(("error", f"{output['ename']}: {output['evalue']}"))
    # consecutive prints arrive as one or several stream outputs: join them as nbval does
    joined: list[tuple[str, str]] = []
    for name, text in compared:
        if joined and joined[-1][0] == name and name not in ("text/plain", "error"):
            joined[-1] = (name, joined[-1][1] + text)
        else:
            joined.append((name, text))
    return joined


def checked_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [cell for cell in notebook.cells if cell.cell_type == "code"
            and cell.source.lstrip().startswith(CHECK_MARK)]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_ran_to_the_end(notebook):
    results = pd.read_csv(run_dir() / "results.csv", dtype=str, keep_default_na=False)
    row = results[results["notebook"] == notebook.stem]
    assert len(row) == 1, f"the run has no row for {notebook.stem}"
    status, error = row["status"].iloc[0], row["error"].iloc[0]
    assert status == "ok", (f"{notebook.stem} {status}: {error} (read "
                            f"{run_dir() / notebook.name} and its .stderr.log)")


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.stem)
def test_checked_cells_print_what_the_notebook_shows(notebook):
    executed_path = run_dir() / notebook.name
    if not executed_path.is_file():
        pytest.fail(f"the run has no executed copy of {notebook.name}")
    committed = checked_cells(nbformat.read(notebook, 4))
    executed = checked_cells(nbformat.read(executed_path, 4))
    assert len(committed) == len(executed), "the executed copy has other checked cells"
    for expected, got in zip(committed, executed, strict=True):
        title = expected.source.splitlines()[1:2]
        assert compared_outputs(got) == compared_outputs(expected), (
            f"{notebook.stem}, the checked cell starting {title}: its output differs from the "
            "committed one (if the change is right, take it with tools/clean_notebooks.py "
            f"--from {executed_path})")
