"""Module paths held in strings resolve: kernel start-up lines, the accelerator probe, the MkDocs
hook, `python -m` targets in notebooks, scripts and docs, and every dotted `helpers.` or
`course.` name the prose gives a student. A module that moves without them fails here, not in
a student's notebook."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from course import runner, site
from course.serve import server_process

pytestmark = pytest.mark.one_backend

ROOT = Path(__file__).resolve().parents[2]
PYTHON_M = re.compile(r"""(?:python3?\s+-m\s+|"-m",\s*")((?:helpers|course)(?:\.\w+)*)""")
DOTTED = re.compile(r"(?<![\w/.])((?:helpers|course)(?:\.\w+)+)")
FILE_SUFFIXES = ("py", "js", "md", "csv", "json", "html", "ipynb", "keras", "png", "log", "txt")
TEXT_FILES = ["README.md", "Makefile", "data/README.md", ".ci/run", "tools/device_run.sh",
              *[str(path.relative_to(ROOT)) for folder in ("lessons", "site", ".github")
                for path in sorted((ROOT / folder).rglob("*"))
                if path.suffix in (".md", ".yml", ".yaml")]]


def texts() -> dict[str, str]:
    """Every text a student or instructor reads or runs: docs, scripts, notebooks' cells."""
    found = {name: (ROOT / name).read_text() for name in TEXT_FILES}
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        found[path.name] = "\n".join("".join(cell["source"]) for cell in cells)
    for path in sorted([*(ROOT / "helpers").rglob("*.py"), *(ROOT / "course").rglob("*.py"),
                        *(ROOT / "benchmarks").glob("*.py")]):
        found[str(path.relative_to(ROOT))] = path.read_text()
    return found


def resolves(dotted: str) -> bool:
    """A module, or a module's attribute (a class's too): `helpers.modern.recipe.Recipe`."""
    first, *rest = dotted.split(".")
    target = importlib.import_module(first)
    for count, part in enumerate(rest, start=2):
        if hasattr(target, part):
            target = getattr(target, part)
        elif hasattr(target, "__path__") and importlib.util.find_spec(
                name := ".".join(dotted.split(".")[:count])) is not None:
            target = importlib.import_module(name)
        else:
            return False
    return True


def test_the_checks_catch_a_stale_name():
    assert resolves("helpers.modern.recipe.Recipe") and resolves("course.cli")
    assert not resolves("helpers.recipe") and not resolves("helpers.modern.recipe.Recipie")
    assert PYTHON_M.findall('python -m helpers.cli run; [sys.executable, "-m", "course.x"]') \
        == ["helpers.cli", "course.x"]


def test_every_python_m_target_is_a_runnable_module():
    targets = {(name, target) for name, text in texts().items()
               for target in PYTHON_M.findall(text)}
    assert {target for _, target in targets} >= {"course.cli", "course.bench.time_to_accuracy"}
    missing = sorted((name, target) for name, target in targets
                     if importlib.util.find_spec(target) is None
                     or not hasattr(importlib.import_module(target), "main"))
    assert not missing, f"`python -m` targets that are not runnable modules: {missing}"


def test_every_dotted_name_in_the_texts_resolves():
    names = {(name, dotted) for name, text in texts().items() for dotted in DOTTED.findall(text)
             if dotted.rsplit(".", 1)[-1] not in FILE_SUFFIXES}  # course.js is a file
    stale = sorted((name, dotted) for name, dotted in names if not resolves(dotted))
    assert not stale, f"names that no longer exist: {stale}"


def test_the_kernel_start_up_line_and_the_accelerator_probe_run():
    result = subprocess.run([sys.executable, "-c", runner.ACCELERATOR_PROBE], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and result.stdout.split()[-1].isdigit(), result.stderr[-2000:]
    module, function = re.fullmatch(r"import ([\w.]+); \1\.(\w+)\(\)",
                                    runner.KERNEL_STARTUP).groups()
    assert callable(getattr(importlib.import_module(module), function))


def test_the_site_names_an_existing_hook_file():
    hooks = Path(site.__file__).with_name("site_hooks.py")
    assert hooks.is_file()
    assert "site_hooks.py" in Path(site.__file__).read_text()


def test_the_server_process_starts_the_course_command():
    command = inspect.signature(server_process.started_server).parameters["command"].default
    assert tuple(command[1:]) == ("-m", "course.cli")


@pytest.mark.parametrize("script", sorted(path.name for path in (ROOT / "benchmarks").glob("*.py")))
def test_each_benchmark_script_starts(script):
    result = subprocess.run([sys.executable, f"benchmarks/{script}", "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "usage:" in result.stdout


def test_the_course_command_starts():
    course = Path(sys.executable).with_name("course")
    result = subprocess.run([str(course), "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    for command in ("run", "prepare", "site", "serve"):
        assert command in result.stdout
