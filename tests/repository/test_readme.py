"""Every command README.md gives a newcomer exists after `make setup` and parses."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import pytest

from course import cli

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
MAKE_TARGETS = set(re.findall(r"^([a-z][\w-]*):", (ROOT / "Makefile").read_text(), re.MULTILINE))


def _commands() -> list[str]:
    """The commands of README's bash blocks, and those quoted inline, comments removed."""
    blocks = re.findall(r"```bash\n(.*?)```", README, re.DOTALL)
    lines = [line.split("#")[0].strip() for block in blocks for line in block.splitlines()]
    inline = re.findall(r"`((?:make|course) [^`]+)`", README)
    return [command for command in lines + inline if command]


def test_readme_opens_with_the_two_commands():
    first_block = re.search(r"```bash\n(.*?)```", README, re.DOTALL).group(1)
    assert [line.split()[:2] for line in first_block.splitlines()] == [["make", "course"],
                                                                       ["make", "test"]]


@pytest.mark.parametrize("command", [c for c in _commands() if c.startswith("make ")])
def test_make_targets_exist(command):
    target = shlex.split(command)[1]
    assert target in MAKE_TARGETS, f"README names `{command}`, the Makefile has no {target}"


@pytest.mark.parametrize("command", [c for c in _commands() if c.startswith("course ")])
def test_course_commands_parse(command):
    arguments = [word for word in shlex.split(command)[1:] if word != "..."]
    try:
        cli._parser().parse_args(arguments)
    except SystemExit as exit_:
        pytest.fail(f"README's `{command}` is not a valid course command ({exit_})")


@pytest.mark.parametrize("program", ["course", "jupyter-lab", "papermill", "pytest"])
def test_programs_the_readme_relies_on_are_installed(program):
    """`make setup` installs these into the environment this test runs in."""
    assert (Path(sys.executable).parent / program).is_file(), f"{program} is not installed"


def test_readmes_results_are_the_reference_rows():
    """README's table of what the course reaches is the one tools/record_reference.py writes
    from helpers/reference_results.csv: no figure in it comes from anywhere else."""
    from course.reference_rows import RESULTS_END, RESULTS_START, results_table
    from course.runner import discover_notebooks
    from helpers.ladder import reference_results

    shown = README[README.index(RESULTS_START):README.index(RESULTS_END) + len(RESULTS_END)]
    notebooks = [path.stem for path in discover_notebooks(ROOT / "notebooks")]
    assert shown == results_table(reference_results(), notebooks)
