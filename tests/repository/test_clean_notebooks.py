"""The notebook cleaner keeps exactly what nbval needs to compare, and nothing of a run."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
from clean_notebooks import CHECK_MARKER, clean  # noqa: E402


def executed_notebook() -> nbformat.NotebookNode:
    injected = new_code_cell("EPOCHS = 1", execution_count=1,
                             metadata={"tags": ["injected-parameters"]})
    plain = new_code_cell("print('noise')", execution_count=2,
                          outputs=[new_output("stream", name="stdout", text="noise\n")])
    checked = [new_code_cell(f"{CHECK_MARKER}\n{n} * 2", execution_count=7 + n,
                             outputs=[new_output("execute_result", data={"text/plain": str(n * 2)},
                                                 execution_count=7 + n)])
               for n in (1, 2)]
    return new_notebook(cells=[new_markdown_cell("# title"), injected, plain, *checked],
                        metadata={"papermill": {"duration": 1.0}})


def test_clean_drops_run_state_and_keeps_checked_outputs_numbered_from_one():
    cleaned = clean(executed_notebook())
    code = [cell for cell in cleaned.cells if cell.cell_type == "code"]
    assert len(code) == 3, "the injected parameters cell is dropped"
    assert code[0].outputs == [] and code[0].execution_count is None
    assert [cell.execution_count for cell in code[1:]] == [1, 2]
    assert [cell.outputs[0].execution_count for cell in code[1:]] == [1, 2]
    assert [cell.outputs[0].data["text/plain"] for cell in code[1:]] == ["2", "4"]
    assert "papermill" not in cleaned.metadata
    assert cleaned.metadata.kernelspec.name == "python3"


def test_clean_is_idempotent_and_leaves_its_argument_alone():
    original = executed_notebook()
    cleaned = clean(original)
    assert clean(cleaned) == cleaned
    assert original.cells[1].metadata["tags"] == ["injected-parameters"]
