"""The GitHub Actions workflows, which cannot run here: ci.yml must run what .ci/run runs, and
site.yml must build the site as `make site` does and publish the folder it writes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import tomllib
import yaml
from packaging.specifiers import SpecifierSet

from helpers.data import sources

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"


def _workflow(name: str) -> dict:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the key `on` as the boolean True.
    workflow["on"] = workflow.pop(True)
    return workflow


def _steps(workflow: dict, job: str) -> list[dict]:
    return workflow["jobs"][job]["steps"]


def _runs(steps: list[dict]) -> list[str]:
    return [step["run"].strip() for step in steps if "run" in step]


def _programs(command: str) -> list[str]:
    """The programs a shell command runs: the first word of each of its pipeline stages."""
    joined = command.replace("\\\n", " ")
    return [stage.split()[0] for stage in re.split(r"\n|\||&&|;", joined) if stage.strip()]


def _uses(steps: list[dict], action: str) -> list[dict]:
    return [step for step in steps if step.get("uses", "").split("@")[0] == action]


def _site_dir() -> str:
    found = re.search(r"^SITE_DIR\s*:?=\s*(\S+)\s*$", (ROOT / "Makefile").read_text(), re.M)
    if found is None:
        pytest.skip("the Makefile defines no SITE_DIR, the folder `make site` writes")
    return found.group(1)


CI, SITE = _workflow("ci.yml"), _workflow("site.yml")
# The programs of the commands that fetch the data and check its checksum.
FETCHING = {"curl", "echo", "sha256sum"}
# Each workflow's job that installs Python and the data: (workflow, job).
BUILDS = {"ci.yml": (CI, "test"), "site.yml": (SITE, "build")}


def test_ci_runs_on_pushes_and_pull_requests_to_main():
    assert CI["on"] == {"push": {"branches": ["main"]}, "pull_request": {"branches": ["main"]}}


def test_ci_runs_ci_run_and_nothing_that_replaces_it():
    steps = _steps(CI, "test")
    runs = _runs(steps)
    assert runs[-1] == "bash .ci/run", runs
    # Every other command only fetches the data and checks it: none installs, tests or builds.
    for command in runs[:-1]:
        assert set(_programs(command)) <= FETCHING, command
    assert CI["jobs"]["test"]["timeout-minutes"] > 0


def test_site_builds_with_make_course_then_make_site_and_uploads_what_make_site_writes():
    assert SITE["on"] == {"push": {"branches": ["main"]}, "workflow_dispatch": None}
    steps = _steps(SITE, "build")
    runs = _runs(steps)
    assert "make course" in runs and "make site" in runs, runs
    assert runs.index("make course") < runs.index("make site")
    # Besides them, only the data is fetched.
    assert all(command in {"make course", "make site"} or set(_programs(command)) <= FETCHING
               for command in runs), runs
    (upload,) = _uses(steps, "actions/upload-pages-artifact")
    assert upload["uses"] == "actions/upload-pages-artifact@v3"
    assert steps.index(upload) > max(index for index, step in enumerate(steps)
                                     if step.get("run", "").strip() == "make site")
    assert Path(upload["with"]["path"]) == Path(_site_dir())


def test_site_deploys_to_pages_after_the_build():
    deploy = SITE["jobs"]["deploy"]
    assert deploy["needs"] == "build"
    assert deploy["environment"]["name"] == "github-pages"
    assert [step["uses"] for step in deploy["steps"]] == ["actions/deploy-pages@v4"]
    assert SITE["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    assert SITE["concurrency"]["group"] == "pages"
    assert all(job["timeout-minutes"] > 0 for job in SITE["jobs"].values())


@pytest.mark.parametrize("name", BUILDS)
def test_python_is_a_version_the_project_allows_with_pip_cached_on_pyproject(name):
    workflow, job = BUILDS[name]
    (setup,) = _uses(_steps(workflow, job), "actions/setup-python")
    version = setup["with"]["python-version"]
    assert isinstance(version, str), "quote the version: YAML reads 3.10 as the number 3.1"
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert SpecifierSet(requires).contains(version), (version, requires)
    assert setup["with"]["cache"] == "pip"
    assert setup["with"]["cache-dependency-path"] == "pyproject.toml"


def test_both_workflows_use_one_python_version():
    versions = {name: _uses(_steps(workflow, job), "actions/setup-python")[0]["with"]
                ["python-version"] for name, (workflow, job) in BUILDS.items()}
    assert len(set(versions.values())) == 1, versions


def test_both_workflows_set_course_data_dir_the_same_way_and_fetch_the_same_data():
    data_dirs = {name: workflow["jobs"][job]["env"]["COURSE_DATA_DIR"]
                 for name, (workflow, job) in BUILDS.items()}
    assert len(set(data_dirs.values())) == 1, data_dirs
    fetches = {name: [step for step in _steps(workflow, job)
                      if step.get("id") == "data" or "curl" in step.get("run", "")]
               for name, (workflow, job) in BUILDS.items()}
    assert fetches["ci.yml"] == fetches["site.yml"]
    assert len(fetches["ci.yml"]) == 2


def test_the_cached_archive_is_the_one_the_course_looks_for_with_its_checksum():
    """The cache holds the file the course's first CIFAR-10 source names, in COURSE_DATA_DIR,
    keyed on its published checksum, which the download is checked against."""
    official = sources.DATASETS["cifar10"].sources[0]
    (archive,) = official.files
    steps = _steps(CI, "test")
    (cache,) = _uses(steps, "actions/cache")
    assert cache["with"]["path"] == "${{ env.COURSE_DATA_DIR }}/" + archive.name
    assert archive.algorithm == "sha256" and archive.digest in cache["with"]["key"]
    (download,) = [step for step in steps if "curl" in step.get("run", "")]
    assert download["if"] == f"steps.{cache['id']}.outputs.cache-hit != 'true'"
    command = download["run"]
    assert f'"$COURSE_DATA_DIR/{archive.name}"' in command
    assert f"{archive.digest}  $COURSE_DATA_DIR/{archive.name}" in command
    assert "sha256sum --check" in command
    # The data step runs before the step that uses the data.
    assert steps.index(download) < len(steps) - 1
