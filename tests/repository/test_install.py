"""Installing the course where Colab's packages already are must change none of them.

A fresh virtual environment gets Colab's versions of the packages its runtime preinstalls, then
the course from this checkout with pip, as a notebook's setup cell installs it. uv builds the
Colab-like environment (seconds from its cache, where pip takes minutes to unpack TensorFlow);
the first run needs the package index."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import skip_outside_ci

ROOT = Path(__file__).resolve().parents[2]
# What Google Colab's runtime held when this was written; bump with Colab.
COLAB_PREINSTALLED = {"tensorflow": "2.20.0", "keras": "3.13.2", "numpy": "2.0.2",
                      "ipykernel": "6.17.1"}
# Run in the installed copy (not this checkout): every subpackage is in the wheel, and so are
# the data files that travel with the code.
INSTALLED_CHECK = """
import importlib.resources as resources
import course.cli  # the web app and benchmarks need extras this install has not
import helpers.data.sources, helpers.selfcheck, helpers.modern.recipe
import helpers.transfer.pretrained, helpers.diagnostics.calibration, helpers.deploy.uploads
import helpers.environment as environment
assert "site-packages" in helpers.__file__, helpers.__file__
assert resources.files("course.serve").joinpath("index.html").is_file()
assert resources.files("helpers").joinpath("reference_results.csv").is_file()
print(environment.backend())
"""


def _pip(python: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(python), "-m", "pip", "--disable-pip-version-check", *args],
                          capture_output=True, text=True)


def _installed(python: Path) -> dict[str, str]:
    listing = _pip(python, "list", "--format=freeze").stdout.splitlines()
    pairs = (line.split("==") for line in listing if "==" in line)
    return {name.lower().replace("_", "-"): version for name, version in pairs}


@pytest.fixture(scope="module")
def colab_like(tmp_path_factory) -> Path:
    """A virtual environment holding Colab's preinstalled versions."""
    venv = tmp_path_factory.mktemp("colab") / "venv"
    uv = str(Path(sys.executable).parent / "uv")
    subprocess.run([uv, "venv", "--quiet", "--seed", "--python", sys.executable, str(venv)],
                   check=True)
    python = venv / "bin" / "python"
    pins = [f"{name}=={version}" for name, version in COLAB_PREINSTALLED.items()]
    result = subprocess.run([uv, "pip", "install", "--quiet", "--python", str(python), *pins],
                            capture_output=True, text=True)
    if result.returncode != 0:
        skip_outside_ci(f"could not build a Colab-like environment (no package index?): "
                        f"{result.stderr[-500:]}")
    return python


def test_installing_the_course_changes_none_of_colabs_packages(colab_like):
    before = _installed(colab_like)
    assert {name: before.get(name) for name in COLAB_PREINSTALLED} == COLAB_PREINSTALLED
    result = _pip(colab_like, "install", "--quiet", str(ROOT))
    assert result.returncode == 0, result.stderr[-2000:]
    after = _installed(colab_like)
    changed = {name: (version, after.get(name)) for name, version in before.items()
               if after.get(name) != version}
    assert not changed, f"installing the course changed preinstalled packages: {changed}"
    assert "keras-cnn-course" in after
    imported = subprocess.run([str(colab_like), "-c", INSTALLED_CHECK], capture_output=True,
                              text=True, cwd=colab_like.parent)
    assert imported.stdout.strip() == "tensorflow", imported.stderr[-2000:]
