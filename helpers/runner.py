"""Executing the notebook series with papermill, one profile of parameters for all."""

from __future__ import annotations

import ast
import contextlib
import os
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import papermill

# What each profile injects into every notebook's `parameters` cell. `full` injects nothing:
# a notebook's own defaults are the full lesson.
PROFILES: dict[str, dict[str, object]] = {
    # DATASET: a notebook whose lesson uses a dataset with no offline copy (Fashion-MNIST)
    # runs on CIFAR-10, which CI has locally.
    "smoke": {"EPOCHS": 1, "TRAIN_SIZE": 1000, "VERBOSE": 0, "DATASET": "cifar10"},
    "full": {},
}
KERNEL = "python3"


@dataclass(frozen=True)
class NotebookOutcome:
    """How one notebook's execution ended."""

    notebook: str
    status: str  # "ok" or "failed"
    seconds: float
    output_dir: Path
    error: str = ""


def gpu_available() -> bool:
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def default_profile() -> str:
    """`full` where a GPU can train the real lessons in minutes, `smoke` on a CPU."""
    return "full" if gpu_available() else "smoke"


def discover_notebooks(notebooks_dir: Path, only: Sequence[str] | None = None) -> list[Path]:
    """The series' notebooks (`NN_topic.ipynb`) in order, optionally only those numbered in
    `only` (e.g. ["00", "02"])."""
    found = sorted(path for path in Path(notebooks_dir).glob("[0-9][0-9]_*.ipynb"))
    if not found:
        raise FileNotFoundError(f"no notebooks named NN_topic.ipynb in {notebooks_dir}")
    if not only:
        return found
    numbers = {path.name[:2]: path for path in found}
    unknown = [number for number in only if number not in numbers]
    if unknown:
        raise ValueError(f"no notebook numbered {', '.join(unknown)}; "
                         f"available: {', '.join(numbers)}")
    return [numbers[number] for number in sorted(set(only))]


def notebook_parameters(profile: str, output_dir: Path, notebook: Path,
                        overrides: Mapping[str, object] | None = None) -> dict[str, object]:
    """The parameters injected into one notebook: those of the profile, then the `overrides`
    (e.g. an instructor's SEED), that the notebook declares, and its own output folder."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose from {', '.join(PROFILES)}")
    declared = papermill.inspect_notebook(str(notebook))
    wanted = {**PROFILES[profile], **(overrides or {})}
    injected = {name: value for name, value in wanted.items() if name in declared}
    return {**injected, "OUTPUT_DIR": str(notebook_output_dir(output_dir, notebook))}


def parse_override(text: str) -> tuple[str, object]:
    """`NAME=VALUE` from the command line: VALUE as a Python literal (3, 0.5, None, "x"),
    or as a plain string when it is not one (cifar10)."""
    name, sep, value = text.partition("=")
    if not sep or not name.isidentifier():
        raise ValueError(f"--set expects NAME=VALUE, such as EPOCHS=5; got {text!r}")
    try:
        return name, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return name, value


def undeclared_overrides(notebooks: Sequence[Path], overrides: Mapping[str, object]) -> list[str]:
    """Override names that no notebook of `notebooks` declares: most likely a typo."""
    declared = set().union(*(papermill.inspect_notebook(str(path)) for path in notebooks))
    return sorted(set(overrides) - declared)


def notebook_output_dir(output_dir: Path, notebook: Path) -> Path:
    """Where a notebook of the series writes its results: a folder named after it."""
    return (output_dir / notebook.stem).resolve()


@contextlib.contextmanager
def _stderr_to(path: Path) -> Iterator[None]:
    """Send this process's stderr, and so the kernel's (TensorFlow's C++ logs), to a file."""
    sys.stderr.flush()
    saved = os.dup(2)
    with path.open("w") as log:
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def prepare_series(notebooks: Sequence[Path], profile: str, output_dir: Path,
                   overrides: Mapping[str, object] | None = None) -> list[Path]:
    """Copies of the notebooks with the profile's parameters injected and nothing executed
    (papermill's prepare-only mode), for nbval to run."""
    output_dir.mkdir(parents=True, exist_ok=True)
    prepared = []
    for notebook in notebooks:
        target = output_dir / notebook.name
        papermill.execute_notebook(
            str(notebook), str(target), kernel_name=KERNEL, prepare_only=True,
            parameters=notebook_parameters(profile, output_dir, notebook, overrides),
            progress_bar=False)
        prepared.append(target)
    return prepared


def run_notebook(notebook: Path, profile: str, output_dir: Path, cell_timeout: int,
                 overrides: Mapping[str, object] | None = None) -> NotebookOutcome:
    """Execute one notebook into `output_dir`; a failure is caught and described, not raised.
    The kernel's stderr goes to `NN_topic.stderr.log` beside the executed copy."""
    start = time.perf_counter()
    try:
        parameters = notebook_parameters(profile, output_dir, notebook, overrides)
        with _stderr_to(output_dir / f"{notebook.stem}.stderr.log"):
            papermill.execute_notebook(
                str(notebook), str(output_dir / notebook.name), parameters=parameters,
                kernel_name=KERNEL, cwd=str(notebook.parent), execution_timeout=cell_timeout,
                progress_bar=False)
        status, error = "ok", ""
    except papermill.PapermillExecutionError as err:
        status, error = "failed", f"cell {err.exec_count}: {err.ename}: {err.evalue}"
    except Exception as err:  # a dead kernel, a timeout or a malformed notebook
        status, error = "failed", f"{type(err).__name__}: {err}"
    return NotebookOutcome(notebook.stem, status, time.perf_counter() - start,
                           notebook_output_dir(output_dir, notebook), error)


def run_series(notebooks: Sequence[Path], profile: str, output_dir: Path, cell_timeout: int,
               overrides: Mapping[str, object] | None = None) -> list[NotebookOutcome]:
    """Execute every notebook in turn, printing progress, and keep going past failures."""
    output_dir.mkdir(parents=True, exist_ok=True)
    outcomes = []
    for index, notebook in enumerate(notebooks, start=1):
        print(f"[{index}/{len(notebooks)}] {notebook.stem} ...", end=" ", flush=True)
        outcome = run_notebook(notebook, profile, output_dir, cell_timeout, overrides)
        print(f"{outcome.status} ({outcome.seconds:.1f} s)"
              + (f"\n      {outcome.error}" if outcome.error else ""), flush=True)
        outcomes.append(outcome)
    return outcomes
