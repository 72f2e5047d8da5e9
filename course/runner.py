"""Executing the notebook series with papermill, one profile of parameters for all."""

from __future__ import annotations

import ast
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import nbformat
import papermill

from helpers._internal.native_stderr import native_stderr_to
from helpers.parameters_cell import ALL_WHEN_NONE, FOLDERS, POSITIVE_COUNTS
from helpers.results_log import RESULTS_FILE, read_results

# What each profile injects into every notebook's `parameters` cell. `full` injects nothing:
# a notebook's own defaults are the full lesson.
PROFILES: dict[str, dict[str, object]] = {
    # DATASET: a notebook whose lesson uses a dataset with no offline copy (Fashion-MNIST)
    # runs on CIFAR-10, which CI has locally.
    # RUN_SOLUTIONS: the exercise solutions that train models run too, so they are checked.
    # TUNER_TRIALS: two KerasTuner trials show the search works; five only cost minutes.
    # EVAL_SIZE: 1,000 validation and test images each instead of 10,000.
    # 02: two seeds in the seed study instead of five.
    # 08: ResNet-9 at an eighth of its width, plain and residual networks of 8 and 14 layers
    # instead of 20 and 56, one epoch or two timed steps per run, two seeds for the decision.
    # 09: no download attempt (CI has no network), a source backbone an eighth as wide
    # trained for one epoch, two input sizes, two label counts.
    # 10: 300 validation images in the t-SNE map. 11: the model trained when 09's is missing,
    # one epoch. 12: the offline folder (no download attempt), read at 32x32 pixels.
    "smoke": {"EPOCHS": 1, "TRAIN_SIZE": 1000, "VERBOSE": 0, "DATASET": "cifar10",
              "RUN_SOLUTIONS": True, "TUNER_TRIALS": 2, "EVAL_SIZE": 1000,
              "RESNET9_WIDTH": 8, "SHALLOW_DEPTH": 8, "DEEP_DEPTH": 14, "DEPTH_EPOCHS": 1,
              "ABLATION_EPOCHS": 1, "SPEED_STEPS": 2, "DECISION_SEEDS": 2, "SEEDS": [0, 1],
              "WEIGHTS": "offline", "BACKBONE_WIDTH": 8, "SOURCE_EPOCHS": 1,
              "FINE_TUNE_EPOCHS": 1, "INPUT_SIZES": [32, 48], "LABELS_PER_CLASS": [10, None],
              "TSNE_SIZE": 300, "FALLBACK_EPOCHS": 1, "IMAGES": "offline", "IMAGE_SIZE": 32},
    "full": {},
}
KERNEL = "python3"
# What each kernel runs before a notebook's first cell: figures inline, titles as alt text.
KERNEL_STARTUP = "import course.figure_alt; course.figure_alt.prepare_kernel()"
# Run in a child process by gpu_available: prints how many accelerators the backend sees.
ACCELERATOR_PROBE = "from helpers.environment import accelerators; print(len(accelerators()))"
# How a notebook's execution ended: "interrupted" by Ctrl-C, "not run" after an interruption.
STATUSES = ("ok", "failed", "interrupted", "not run")
# Present in an output folder while a run writes into it.
LOCK_FILE = ".course-run.lock"
# In every folder `course run` or `course prepare` writes into: the course may replace what it
# wrote there, and nothing else.
OWNER_FILE = ".course-output"
# A lock left empty (a run that could not write it, e.g. on a full disk) counts as stale once
# it is this old: a run writes its lock within a moment of creating it.
EMPTY_LOCK_SECONDS = 60
LOCK_HOLDER = re.compile(r"process (\d+)(?: on (\S+))?,")


@dataclass(frozen=True)
class NotebookOutcome:
    """How one notebook's execution ended, and in which run (see `run_label`)."""

    notebook: str
    status: str  # one of STATUSES
    seconds: float
    output_dir: Path
    error: str = ""
    run: str = ""


class OutputFolderError(ValueError):
    """An --output folder the run must not write into."""


def gpu_available() -> bool:
    """Whether the Keras backend sees a GPU, asked in a child process whose output is kept:
    importing TensorFlow prints CUDA start-up errors ("failed call to cuInit") on a machine
    without a GPU, which a newcomer reads as a failure of the run."""
    result = subprocess.run([sys.executable, "-c", ACCELERATOR_PROBE], capture_output=True,
                            text=True)
    lines = result.stdout.split()
    return result.returncode == 0 and bool(lines) and lines[-1].isdigit() and int(lines[-1]) > 0


def default_profile() -> str:
    """`full` where a GPU can train the real lessons in minutes, `smoke` on a CPU."""
    return "full" if gpu_available() else "smoke"


def discover_notebooks(notebooks_dir: Path, only: Sequence[str] | None = None) -> list[Path]:
    """The series' notebooks (`NN_topic.ipynb`) in order, optionally only those numbered in
    `only` (e.g. ["00", "02"])."""
    folder = Path(notebooks_dir).resolve()
    if not folder.is_dir():
        raise FileNotFoundError(f"there is no folder {folder}")
    found = sorted(path for path in folder.glob("[0-9][0-9]_*.ipynb"))
    if not found:
        raise FileNotFoundError(f"no notebooks named NN_topic.ipynb in {folder}")
    if not only:
        return found
    numbers = {path.name[:2]: path for path in found}
    unknown = [number for number in only if number not in numbers]
    if unknown:
        raise ValueError(f"no notebook numbered {', '.join(unknown)}; "
                         f"available: {', '.join(numbers)}")
    return [numbers[number] for number in sorted(set(only))]


def notebook_parameters(profile: str, output_dir: Path, notebook: Path,
                        overrides: Mapping[str, object] | None = None, *,
                        kernel_dir: Path) -> dict[str, object]:
    """The parameters injected into one notebook: those of the profile, then the `overrides`
    (e.g. an instructor's SEED), that the notebook declares, and its own output folder,
    relative to `kernel_dir`, where its kernel starts: an executed or handed-out copy then
    carries no absolute path of the machine that ran or prepared it."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose from {', '.join(PROFILES)}")
    declared = papermill.inspect_notebook(str(notebook))
    wanted = {**PROFILES[profile], **(overrides or {})}
    injected = {name: value for name, value in wanted.items() if name in declared}
    output = os.path.relpath(notebook_output_dir(output_dir, notebook), Path(kernel_dir).resolve())
    return {**injected, "OUTPUT_DIR": Path(output).as_posix()}


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


def _expected_value(name: str, default: object) -> tuple[str, type | tuple[type, ...]]:
    """What a parameter accepts, judged by its name and its default: (in words, types)."""
    if name in FOLDERS:
        return "a folder's path in quotes, or None", (str, type(None))
    if name in POSITIVE_COUNTS:
        return ("a positive int or None", (int, type(None))) if name in ALL_WHEN_NONE \
            else ("a positive int", int)
    if isinstance(default, bool):
        return "True or False", bool
    if isinstance(default, float):
        return "a number", (int, float)
    if isinstance(default, int):
        return "an int", int
    if isinstance(default, str):
        return "a string", str
    return "anything", object  # None or an expression: the notebook gives no type


def _default_value(text: str) -> object:
    """A parameter's default (papermill gives its source text), or None for an expression."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None


def _accepts(name: str, value: object, expected: type | tuple[type, ...]) -> bool:
    if isinstance(value, bool) and expected is not bool and expected is not object:
        return False  # True is an int to Python, not to a parameter such as EPOCHS
    if not isinstance(value, expected):
        return False
    return not (name in POSITIVE_COUNTS and isinstance(value, int) and value <= 0)


def check_overrides(notebooks: Sequence[Path], overrides: Mapping[str, object]) -> None:
    """Refuse, before anything runs, a --set value that a notebook declaring the name could not
    use: its type must match the default's (an int stays an int), and counts must be positive.
    OUTPUT_DIR is the runner's to set, from --output."""
    if "OUTPUT_DIR" in overrides:
        raise ValueError("--set OUTPUT_DIR: the runner gives each notebook its own OUTPUT_DIR, "
                         "a folder of the run's --output (OUTPUT/NN_topic); choose where the "
                         "run writes with --output instead")
    for path in notebooks:
        declared = papermill.inspect_notebook(str(path))
        for name, value in overrides.items():
            if name not in declared:
                continue
            text = declared[name]["default"]
            words, expected = _expected_value(name, _default_value(text))
            if not _accepts(name, value, expected):
                raise ValueError(f"--set {name}={value!r}: {name} must be {words} "
                                 f"({path.stem} has {name} = {text})")


def undeclared_overrides(notebooks: Sequence[Path], overrides: Mapping[str, object]) -> list[str]:
    """Override names that no notebook of `notebooks` declares: most likely a typo."""
    declared = set().union(*(papermill.inspect_notebook(str(path)) for path in notebooks))
    return sorted(set(overrides) - declared)


def run_label(profile: str, overrides: Mapping[str, object], started: datetime) -> str:
    """How the report names a run: its start time, profile and --set values."""
    settings = "".join(f", {name}={value!r}" for name, value in overrides.items())
    return f"{started:%Y-%m-%d %H:%M:%S}, {profile}{settings}"


def run_profile(label: str) -> str | None:
    """The profile a run label names ("2026-12-06 10:00:00, full, EPOCHS=3" gives "full"), or
    None for a label that names none (rows of a report older than run labels)."""
    parts = label.split(", ")
    return parts[1] if len(parts) > 1 and parts[1] in PROFILES else None


def is_full_lesson(label: str) -> bool:
    """Whether a run label names the full profile with no value changed by --set: the only
    run whose results are what the lessons reach."""
    return run_profile(label) == "full" and label.count(", ") == 1


def _holds_a_course_run(folder: Path) -> bool:
    """Whether `folder` has what `course run` or `prepare` writes: the owner file, a lock, a
    kernel log, a results.csv (whose rows a later run keeps, so it must be the course's)."""
    if (folder / OWNER_FILE).is_file():
        return True
    results = folder / "results.csv"
    if results.is_file():
        with results.open() as table:
            return table.readline().startswith("notebook,status,")
    return (folder / LOCK_FILE).exists() or any(folder.glob("[0-9][0-9]_*.stderr.log"))


def check_output_path(output_dir: Path, notebooks_dir: Path) -> None:
    """Refuse an --output that is a file, a broken link, or the notebooks folder itself (the
    copies would overwrite the notebooks)."""
    if output_dir.is_symlink() and not output_dir.exists():
        raise OutputFolderError(f"--output {output_dir} is a broken link to "
                                f"{os.readlink(output_dir)}; name a folder")
    if output_dir.exists() and not output_dir.is_dir():
        raise OutputFolderError(f"--output {output_dir} is a file; name a folder (it is "
                                "created if missing)")
    notebooks = Path(notebooks_dir).resolve()
    if output_dir.resolve() == notebooks:
        raise OutputFolderError(f"--output {output_dir} is the notebooks folder: the copies "
                                "would overwrite the notebooks; choose another folder")
    if output_dir.resolve().is_relative_to(notebooks):
        raise OutputFolderError(f"--output {output_dir} is inside the notebooks folder, where "
                                "git would see the run's files as new notebooks and outputs; "
                                "choose a folder outside it, such as runs/NAME")


def _check_no_other_files(output_dir: Path) -> None:
    """Refuse a folder of other files: a run overwrites its report and executed copies, so it
    writes only into a new or empty folder, or where a course run wrote before."""
    entries = sorted(entry.name for entry in output_dir.iterdir()) if output_dir.exists() else []
    if entries and not _holds_a_course_run(output_dir):
        raise OutputFolderError(
            f"--output {output_dir} holds files no course run wrote ({', '.join(entries[:3])}"
            f"{', ...' if len(entries) > 3 else ''}); choose a new or empty folder")


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except PermissionError:  # it exists, under another user
        return False
    return False


def stale_lock_reason(lock: Path) -> str | None:
    """Why the lock in `lock` is left over from a run that ended without removing it, or None
    while its run may still be going (or its machine cannot tell: another host)."""
    try:
        text = lock.read_text().strip()
        age = time.time() - lock.stat().st_mtime
    except OSError:
        return None
    if not text:
        return "it is empty (its run could not write it)" if age > EMPTY_LOCK_SECONDS else None
    holder = LOCK_HOLDER.match(text)
    if holder is None or holder[2] not in (None, socket.gethostname()):
        return None
    return f"process {holder[1]} no longer exists" if _process_gone(int(holder[1])) else None


def _take_lock(lock: Path, run: str) -> None:
    """Create `lock` for this run, or fail with OutputFolderError; a stale lock is taken over,
    saying so. A lock this run could not write whole is removed, not left to block others."""
    for attempt in (1, 2):
        try:
            handle = lock.open("x")
            break
        except FileExistsError:
            reason = stale_lock_reason(lock)
            if attempt == 2 or reason is None:
                held = lock.read_text().strip() or "an empty lock"
                raise OutputFolderError(
                    f"--output {lock.parent} is in use by another course run ({held}). Wait for "
                    f"it to end, or choose another folder.") from None
            print(f"course: taking over {lock}, left by a run that ended without removing it "
                  f"({reason})", file=sys.stderr)
            lock.unlink(missing_ok=True)
    try:
        with handle:
            handle.write(f"process {os.getpid()} on {socket.gethostname()}, run {run}\n")
    except OSError as err:
        with contextlib.suppress(OSError):
            lock.unlink()
        raise OutputFolderError(f"cannot write the lock file {lock} ({err.strerror or err}): "
                                "free some space on that disk, or choose another folder") from None


@contextlib.contextmanager
def claim_output(output_dir: Path, notebooks_dir: Path, run: str) -> Iterator[None]:
    """Hold `output_dir` for one run or prepare: check it, create it, mark it as the course's,
    and keep a lock file in it while the work lasts, so that a second one into it is refused,
    not mixed with this one."""
    check_output_path(output_dir, notebooks_dir)
    _check_no_other_files(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    lock = output_dir / LOCK_FILE
    _take_lock(lock, run)
    try:
        (output_dir / OWNER_FILE).write_text(
            "course run and course prepare wrote into this folder: they may replace what they "
            "wrote here, and keep everything else.\n")
        yield
    finally:
        lock.unlink(missing_ok=True)


def notebook_output_dir(output_dir: Path, notebook: Path) -> Path:
    """Where a notebook of the series writes its results: a folder named after it."""
    return (output_dir / notebook.stem).resolve()


def _recorded(path: Path) -> str:
    """A path as papermill records it in the copy's metadata: relative to the folder the
    command runs in, so that a copy does not carry the machine's absolute paths."""
    try:
        return Path(os.path.relpath(path)).as_posix()
    except ValueError:  # another drive (Windows): no relative path exists
        return str(path)


def prepare_series(notebooks: Sequence[Path], profile: str, output_dir: Path,
                   overrides: Mapping[str, object] | None = None) -> list[Path]:
    """Copies of the notebooks with the profile's parameters injected and nothing executed
    (papermill's prepare-only mode), for nbval to run."""
    output_dir.mkdir(parents=True, exist_ok=True)
    prepared = []
    for notebook in notebooks:
        target = output_dir / notebook.name
        papermill.execute_notebook(
            _recorded(notebook), _recorded(target), kernel_name=KERNEL, prepare_only=True,
            parameters=notebook_parameters(profile, output_dir, notebook, overrides,
                                           kernel_dir=output_dir),  # a copy runs where it is
            progress_bar=False)
        prepared.append(target)
    return prepared


class Terminated(KeyboardInterrupt):
    """SIGTERM (a job scheduler's stop, `kill`), which a run handles as it does Ctrl-C."""


def _how_stopped(stop: KeyboardInterrupt) -> str:
    return ("stopped by a termination signal (SIGTERM)" if isinstance(stop, Terminated)
            else "interrupted by Ctrl-C")


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While the block runs, SIGTERM raises `Terminated`, so that a terminated run still writes
    a true report and frees its folder, as after Ctrl-C (Python's default would end at once)."""
    def terminate(signum: int, frame: object) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _mark_interrupted(executed: Path, how: str) -> None:
    """Make papermill's record in an executed copy true after Ctrl-C: papermill marks every cell
    "completed" when execution stops for any reason. The cell that was running becomes failed,
    with a KeyboardInterrupt output a reader sees; the cells after it stay pending."""
    try:
        notebook = nbformat.read(executed, as_version=4)
    except (OSError, ValueError):
        return  # not written yet, or cut off mid-write: there is no record to correct
    records = [cell.metadata.get("papermill", {}) for cell in notebook.cells]
    started = [index for index, record in enumerate(records) if record.get("start_time")]
    for record in records[started[-1] + 1 if started else 0:]:
        record.update(status="pending", end_time=None, duration=None)
    if started:
        stopped = notebook.cells[started[-1]]
        records[started[-1]].update(status="failed", exception=True)
        if stopped.cell_type == "code" and not any(output.output_type == "error"
                                                   for output in stopped.outputs):
            stopped.outputs.append(nbformat.v4.new_output(
                "error", ename="KeyboardInterrupt", traceback=[],
                evalue=f"course run was {how} here; the cells below did not run"))
    notebook.metadata.setdefault("papermill", {})["exception"] = True
    nbformat.write(notebook, executed)


def _forget_earlier_run(output_dir: Path, notebook: Path) -> None:
    """Remove what an earlier run into `output_dir` left of this notebook's record (its
    executed copy and results.json), so none of it passes for this run's."""
    (output_dir / notebook.name).unlink(missing_ok=True)
    (notebook_output_dir(output_dir, notebook) / RESULTS_FILE).unlink(missing_ok=True)


def run_notebook(notebook: Path, profile: str, output_dir: Path, cell_timeout: int,
                 overrides: Mapping[str, object] | None = None) -> NotebookOutcome:
    """Execute one notebook into `output_dir`; a failure is caught and described, not raised.
    The kernel's stderr goes to `NN_topic.stderr.log` beside the executed copy. Ctrl-C is
    raised on, once the executed copy says where it stopped."""
    start = time.perf_counter()
    _forget_earlier_run(output_dir, notebook)
    try:
        parameters = notebook_parameters(profile, output_dir, notebook, overrides,
                                         kernel_dir=notebook.parent)  # papermill's cwd below
        with native_stderr_to(output_dir / f"{notebook.stem}.stderr.log"):
            papermill.execute_notebook(
                _recorded(notebook), _recorded(output_dir / notebook.name), parameters=parameters,
                kernel_name=KERNEL, cwd=str(notebook.parent), execution_timeout=cell_timeout,
                progress_bar=False,
                extra_arguments=[f"--IPKernelApp.exec_lines={KERNEL_STARTUP}"])
        status, error = "ok", ""
    except KeyboardInterrupt as stop:
        _mark_interrupted(output_dir / notebook.name, _how_stopped(stop))
        raise
    except papermill.PapermillExecutionError as err:
        status, error = "failed", f"cell {err.exec_count}: {err.ename}: {err.evalue}"
    except Exception as err:  # a dead kernel, a timeout or a malformed notebook
        status, error = "failed", f"{type(err).__name__}: {err}"
    return NotebookOutcome(notebook.stem, status, time.perf_counter() - start,
                           notebook_output_dir(output_dir, notebook), error)


def work_done(outcome: NotebookOutcome) -> str:
    """", 2.46 PFLOP at 20.5 TFLOP/s": the training a finished notebook recorded, or ""."""
    work = ((read_results(outcome.output_dir) or {}).get("training") or {}
            if outcome.status == "ok" else {})
    if work.get("training_pflop") is None:
        return ""
    return (f", {work['training_pflop']:.3g} PFLOP of training at "
            f"{work['tflop_per_second']:.3g} TFLOP/s")


def run_series(notebooks: Sequence[Path], profile: str, output_dir: Path, cell_timeout: int,
               overrides: Mapping[str, object] | None = None) -> list[NotebookOutcome]:
    """Execute every notebook in turn, printing progress, and keep going past failures. Ctrl-C
    stops the series: that notebook is "interrupted", the ones after it "not run"."""
    output_dir.mkdir(parents=True, exist_ok=True)
    outcomes = []
    for index, notebook in enumerate(notebooks, start=1):
        print(f"[{index}/{len(notebooks)}] {notebook.stem} ...", end=" ", flush=True)
        start = time.perf_counter()
        try:
            outcome = run_notebook(notebook, profile, output_dir, cell_timeout, overrides)
        except KeyboardInterrupt as stop:
            outcome = NotebookOutcome(notebook.stem, "interrupted", time.perf_counter() - start,
                                      notebook_output_dir(output_dir, notebook),
                                      _how_stopped(stop))
        print(f"{outcome.status} ({outcome.seconds:.1f} s{work_done(outcome)})"
              + (f"\n      {outcome.error}" if outcome.error else ""), flush=True)
        outcomes.append(outcome)
        if outcome.status == "interrupted":
            rest = notebooks[index:]
            if rest:
                print(f"not run: {', '.join(path.stem for path in rest)}", flush=True)
            return outcomes + [NotebookOutcome(path.stem, "not run", 0.0,
                                               notebook_output_dir(output_dir, path))
                               for path in rest]
    return outcomes
