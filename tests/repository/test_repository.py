"""The course as committed: clean notebooks that follow the conventions, lesson pages, modern
Keras only, consistent packaging, and lint."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import tomllib
import yaml

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SHARED_PARAMETERS = {"SEED", "EPOCHS", "BATCH_SIZE", "TRAIN_SIZE", "DATA_DIR", "OUTPUT_DIR",
                     "VERBOSE"}

sys.path.insert(0, str(ROOT / "tools"))
from clean_notebooks import clean  # noqa: E402


def test_the_series_has_notebooks():
    assert [path.name[:2] for path in NOTEBOOKS][:3] == ["00", "01", "02"]


@pytest.fixture(params=NOTEBOOKS, ids=lambda path: path.stem)
def notebook(request) -> tuple[Path, nbformat.NotebookNode]:
    return request.param, nbformat.read(request.param, as_version=4)


def test_notebook_is_committed_clean(notebook):
    path, content = notebook
    assert clean(content) == content, f"run: python tools/clean_notebooks.py {path.name}"
    assert content.metadata["kernelspec"]["name"] == "python3"


def test_checked_cells_do_not_hide_a_value_behind_a_semicolon(notebook):
    """A trailing semicolon hides the cell's value under papermill (the TensorFlow leg) but not
    under nbval's kernel (the JAX leg), so a checked cell ending with one passes on one leg and
    fails on the other: print what the cell shows instead."""
    path, content = notebook
    hiding = [index for index, cell in enumerate(content.cells) if cell.cell_type == "code"
              and "NBVAL_CHECK_OUTPUT" in cell.source and cell.source.rstrip().endswith(";")]
    assert not hiding, f"{path.name}: checked cells {hiding} end with ';'"


def test_notebook_has_one_parameters_cell_of_literals_with_shared_names(notebook):
    path, content = notebook
    cells = [c for c in content.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, "exactly one cell tagged 'parameters'"
    names = set()
    for statement in ast.parse(cells[0].source).body:
        assert isinstance(statement, ast.Assign), ast.unparse(statement)
        ast.literal_eval(statement.value)  # raises unless the value is a literal
        names |= {target.id for target in statement.targets}
    assert {"SEED", "OUTPUT_DIR"} <= names
    own = names - SHARED_PARAMETERS  # a lesson's own knobs, such as DATASET or TRIALS
    assert all(name.isupper() for name in own), f"parameters are UPPER_CASE: {sorted(own)}"
    assert f'OUTPUT_DIR = "outputs/{path.stem}"' in cells[0].source


def test_notebook_opens_with_title_colab_link_and_one_setup_cell(notebook):
    path, content = notebook
    title = content.cells[0]
    assert title.cell_type == "markdown" and title.source.startswith(f"# {path.name[:2]} · ")
    repository = PYPROJECT["project"]["urls"]["Repository"].removeprefix("https://github.com/")
    link = f"https://colab.research.google.com/github/{repository}/blob/main/notebooks/{path.name}"
    assert link in title.source
    setup = [c for c in content.cells if c.cell_type == "code" and "%pip install" in c.source]
    assert len(setup) == 1
    # An extra may follow the name (notebook 11 installs `[serve]` for its web app).
    install = re.compile(rf'"{re.escape(PYPROJECT["project"]["name"])}(\[[a-z,]+\])? @ '
                         rf'git\+https://github\.com/{re.escape(repository)}"')
    assert install.search(setup[0].source)
    assert 'os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL"' in setup[0].source


def test_every_notebook_has_its_lesson_page(notebook):
    path, _ = notebook
    lesson = ROOT / "lessons" / f"{path.stem}.md"
    assert lesson.is_file(), f"missing {lesson.relative_to(ROOT)}"
    _, front, prose = lesson.read_text().split("---\n", 2)
    meta = yaml.safe_load(front)
    assert meta["notebook"] == f"notebooks/{path.name}"
    assert isinstance(meta["teaching"], int) and isinstance(meta["exercises"], int)
    for key in ("questions", "objectives", "keypoints"):
        assert meta[key] and all(isinstance(item, str) for item in meta[key]), key
    assert prose.count("\n## ") >= 2, "the concepts in prose, in sections"


LEGACY_KERAS = {
    "ImageDataGenerator": r"\bImageDataGenerator\b",
    "fit_generator": r"\bfit_generator\b",
    "optimizers.legacy": r"optimizers\.legacy\b",
    "lr= in an optimizer": r"\b(Adam|SGD|RMSprop|AdamW|Adagrad|Nadam)\([^)]*\blr\s*=",
    "decay= in an optimizer": r"\b(Adam|SGD|RMSprop|AdamW|Adagrad|Nadam)\([^)]*\bdecay\s*=",
    "tf.keras": r"\btf\.keras\b",
}


def _sources() -> list[tuple[Path, str]]:
    files = [path for folder in ("helpers", "course", "tests", "tools", "benchmarks")
             for path in ROOT.glob(f"{folder}/**/*.py")]
    this_file = Path(__file__).resolve()  # it holds the patterns and their examples
    found = [(path, path.read_text()) for path in files if path.resolve() != this_file]
    for path in NOTEBOOKS:
        content = nbformat.read(path, as_version=4)
        found.append((path, "\n".join(c.source for c in content.cells if c.cell_type == "code")))
    return found


@pytest.mark.parametrize("api", LEGACY_KERAS)
def test_no_legacy_keras_api(api):
    offenders = [str(path.relative_to(ROOT)) for path, text in _sources()
                 if re.search(LEGACY_KERAS[api], text)]
    assert not offenders, f"{api} is legacy Keras; found in {offenders}"


def test_legacy_check_catches_what_it_should():
    assert re.search(LEGACY_KERAS["lr= in an optimizer"], "keras.optimizers.Adam(lr=0.01)")
    assert not re.search(LEGACY_KERAS["lr= in an optimizer"], "Adam(learning_rate=0.01)")
    assert re.search(LEGACY_KERAS["optimizers.legacy"], "keras.optimizers.legacy.SGD()")


def test_base_install_leaves_the_backend_to_the_environment():
    """Colab holds TensorFlow already, other machines hold it under another name
    (tensorflow-cpu) or not at all (JAX): the base install must never ask for it."""
    base = _requirement_names(PYPROJECT["project"]["dependencies"])
    assert not any(name.startswith(("tensorflow", "jax", "torch")) for name in base)
    assert not any(name.startswith(("papermill", "ipykernel", "nbformat")) for name in base)


def _requirement_names(requirements: list[str]) -> set[str]:
    return {re.sub(r"\s+", "", requirement).lower() for requirement in requirements}


def test_environment_yml_agrees_with_package_metadata():
    """environment.yml installs what `make setup` does: the TensorFlow environment, whole."""
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(item["pip"] for item in environment["dependencies"]
                       if isinstance(item, dict))
    project = PYPROJECT["project"]
    extras = project["optional-dependencies"]
    declared = project["dependencies"] + [requirement for extra in ("tensorflow", "runner", "lab",
                                                                    "dev", "serve", "site",
                                                                    "onnx")
                                          for requirement in extras[extra]]
    listed = [requirement for requirement in pip_section if requirement != "-e ."]
    assert _requirement_names(listed) == _requirement_names(declared)
    assert "-e ." in pip_section


TENSORFLOW_IMPORT = re.compile(r"^\s*(import tensorflow|from tensorflow)", re.MULTILINE)


def test_notebooks_import_tensorflow_only_through_the_helper(notebook):
    """Every notebook must also run on JAX with no TensorFlow installed: a lesson about
    TensorFlow itself gets it from `environment.import_tensorflow()`, which may return None."""
    path, content = notebook
    code = "\n".join(cell.source for cell in content.cells if cell.cell_type == "code")
    assert not TENSORFLOW_IMPORT.search(code), f"{path.name} imports TensorFlow directly"
    assert "tf.config" not in code, "use helpers.environment.accelerators()"


def _solution_cells(content: nbformat.NotebookNode) -> tuple[int, list]:
    headings = [index for index, cell in enumerate(content.cells)
                if cell.cell_type == "markdown" and cell.source.startswith("## Solutions")]
    assert len(headings) == 1, "one markdown cell starting with '## Solutions'"
    return headings[0], content.cells[headings[0] + 1:]


def test_solutions_close_the_notebook_collapsed(notebook):
    path, content = notebook
    heading, solutions = _solution_cells(content)
    exercises = [index for index, cell in enumerate(content.cells)
                 if cell.cell_type == "markdown" and "## Exercises" in cell.source]
    assert exercises and exercises[0] < heading, "the exercises come before their solutions"
    assert any(cell.cell_type == "code" for cell in solutions)
    for cell in solutions:
        assert cell.metadata.get("jupyter", {}).get("source_hidden") is True, cell.source[:60]
        if cell.cell_type == "code":
            assert cell.source.startswith("#@title Solution to exercise"), cell.source[:60]
            assert cell.metadata.get("cellView") == "form"


def test_solutions_that_train_run_only_when_asked(notebook):
    path, content = notebook
    _, solutions = _solution_cells(content)
    training = [cell for cell in solutions if cell.cell_type == "code"
                and re.search(r"\.fit\(|\.search\(", cell.source)]
    for cell in training:
        assert "if RUN_SOLUTIONS:" in cell.source, cell.source[:60]
    if training:
        parameters = next(c for c in content.cells if "parameters" in c.metadata.get("tags", []))
        assert "RUN_SOLUTIONS = False" in parameters.source


def test_ruff_finds_nothing_in_code_and_notebooks():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", str(ROOT)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
