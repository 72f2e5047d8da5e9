"""A parameters cell's values are checked before a notebook uses them: a hand-edited value the
notebook cannot use is named, with what it must be, instead of failing deep inside Keras."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import parameters_cell

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("EPOCHS", 1.5, "a whole number of at least 1"),
    ("EPOCHS", "1", "a whole number of at least 1"),
    ("EPOCHS", True, "a whole number of at least 1"),
    ("BATCH_SIZE", 0, "a whole number of at least 1"),
    ("TRAIN_SIZE", -5, "a whole number of at least 1, or None for all of them"),
    ("SEED", -1, "a whole number from 0 to 2**32 - 1"),
    ("SEED", 2**32, "a whole number from 0 to 2**32 - 1"),
    ("VERBOSE", 3, "0 (silent)"),
    ("RUN_SOLUTIONS", "yes", "True or False"),
    ("DATA_DIR", 5, "a folder's path in quotes, or None"),
])
def test_a_value_the_notebook_cannot_use_is_named(name, value, expected):
    with pytest.raises(ValueError) as refused:
        parameters_cell.check({"SEED": 42, name: value})
    message = str(refused.value)
    assert f"sets {name} = {value!r}, but {name} must be {expected}" in message
    assert "correct it there" in message


def test_values_the_notebooks_can_use_pass():
    parameters_cell.check({"EPOCHS": 1, "BATCH_SIZE": 64, "TRAIN_SIZE": None, "EVAL_SIZE": 1000,
                           "SEED": 0, "VERBOSE": 2, "RUN_SOLUTIONS": False, "DATA_DIR": None,
                           "OUTPUT_DIR": "outputs/x", "anything_else": object(), "model": "m"})


def _parameters(notebook: Path) -> dict[str, object]:
    """The notebook's own parameters cell, executed."""
    cells = json.loads(notebook.read_text())["cells"]
    source = next("".join(cell["source"]) for cell in cells
                  if "parameters" in cell.get("metadata", {}).get("tags", []))
    namespace: dict[str, object] = {}
    exec(source, namespace)  # the course's own cell: assignments of literals
    del namespace["__builtins__"]
    return namespace


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.stem)
def test_every_notebook_checks_its_parameters_and_its_defaults_pass(notebook):
    parameters_cell.check(_parameters(notebook))
    cells = json.loads(notebook.read_text())["cells"]
    setup = next("".join(cell["source"]) for cell in cells if cell["cell_type"] == "code"
                 and "environment.print_environment()" in "".join(cell["source"]))
    assert "parameters_cell.check(globals())" in setup
