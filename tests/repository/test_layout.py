"""The line between the two packages: `helpers` (what notebooks import to learn with) never
imports `course` (the course's tooling) or the tooling's libraries, the core of `helpers` never
imports a later lesson's subpackage, and notebooks 00-07 meet only that core."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HELPERS = ROOT / "helpers"
# What `helpers` must never import: the course's own package and the libraries of its tooling.
MACHINERY = ("course", "papermill", "nbformat", "nbclient", "fastapi", "starlette", "uvicorn",
             "multipart", "mkdocs", "material", "mkdocs_jupyter")
# The subpackages of later lessons; everything else at the top of `helpers` is its core.
TOPICS = ("modern", "transfer", "diagnostics", "deploy", "own_images")
CORE = ("data", "pipeline", "models", "training", "plots", "evaluation", "results_log",
        "published_figures", "notices", "ladder", "environment", "parameters_cell", "selfcheck",
        "flops", "_internal")


def imported_modules(source: str, module: str) -> set[str]:
    """Every module that `source` (the text of `module`, e.g. "helpers.data.paths") imports,
    relative imports resolved, wherever the import statement stands (inside functions too)."""
    found = set()
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module or ""
            found.add(name)
            found.update(f"{name}.{alias.name}" for alias in node.names)
    return found


def without_magics(cell: str) -> str:
    """A notebook cell as Python: each IPython magic (`%pip ...`) becomes `pass`."""
    return "\n".join(line[:len(line) - len(line.lstrip())] + "pass"
                     if line.lstrip().startswith(("%", "!")) else line
                     for line in cell.splitlines())


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def helpers_modules() -> dict[str, set[str]]:
    return {module_name(path): imported_modules(path.read_text(), module_name(path))
            for path in sorted(HELPERS.rglob("*.py"))}


def machinery_imports(imports: set[str]) -> list[str]:
    return sorted(name for name in imports if name.split(".")[0] in MACHINERY)


def topic_imports(imports: set[str]) -> list[str]:
    return sorted(name for name in imports
                  if name.split(".")[:2] in [["helpers", topic] for topic in TOPICS])


def is_core(module: str) -> bool:
    parts = module.split(".")
    return len(parts) == 1 or parts[1] in CORE


def test_the_checks_find_what_they_look_for():
    """The rules below would catch a violation, written in each way Python allows."""
    written = imported_modules("def f():\n    from course.serve import webapp\n"
                               "import papermill\nfrom ..modern import recipe\n",
                               "helpers.data.loading")
    assert machinery_imports(written) == ["course.serve", "course.serve.webapp", "papermill"]
    assert topic_imports(written) == ["helpers.modern", "helpers.modern.recipe"]
    assert is_core("helpers.data.sources") and is_core("helpers.training")
    assert not is_core("helpers.modern.recipe")


def test_helpers_never_imports_the_course_or_its_machinery():
    offenders = {module: machinery_imports(imports)
                 for module, imports in helpers_modules().items() if machinery_imports(imports)}
    assert not offenders, f"helpers must not import the course's tooling: {offenders}"


def test_the_core_never_imports_a_later_lessons_subpackage():
    offenders = {module: topic_imports(imports) for module, imports in helpers_modules().items()
                 if is_core(module) and topic_imports(imports)}
    assert not offenders, f"core modules importing a later lesson's subpackage: {offenders}"


def test_the_top_of_helpers_is_its_core_and_one_folder_per_later_topic():
    top = {path.stem for path in HELPERS.iterdir()
           if path.suffix == ".py" or (path.is_dir() and (path / "__init__.py").is_file())}
    assert top - {"__init__"} == set(CORE) | set(TOPICS)


def test_notebooks_00_to_07_import_only_the_core_of_helpers():
    for path in sorted((ROOT / "notebooks").glob("0[0-7]_*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        imports = set()
        for cell in cells:
            if cell["cell_type"] == "code":
                imports |= imported_modules(without_magics("".join(cell["source"])), "notebook")
        assert not machinery_imports(imports), path.name
        beyond = sorted(name for name in imports
                        if name.startswith("helpers.") and not is_core(name))
        assert not beyond, f"{path.name} imports {beyond}"


def test_importing_every_helpers_module_loads_none_of_the_machinery():
    """In a fresh interpreter, so that what other tests imported does not count."""
    modules = sorted(helpers_modules())
    program = ("import importlib, json, sys\n"
               f"for name in {modules!r}:\n"
               "    importlib.import_module(name)\n"
               "print(json.dumps(sorted(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                            cwd=ROOT, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(result.stdout.splitlines()[-1])
    assert "helpers.modern.recipe" in loaded  # the program did import them
    assert not machinery_imports(set(loaded))


@pytest.mark.parametrize("module", ["course.cli", "course.runner", "course.series_report"])
def test_the_command_line_loads_no_deep_learning_framework(module):
    """`course run` and `course --help` start at once: Keras loads only in the kernels."""
    program = (f"import sys, {module}\n"
               "print([m for m in ('keras', 'tensorflow', 'jax', 'torch') if m in sys.modules])")
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                            cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split("\n")[-2] == "[]"


def test_tensorflow_log_level_is_set_once_in_the_code():
    """Once in the package (imported before Keras) and once in each notebook's setup cell."""
    setting = "TF_CPP_MIN_LOG_LEVEL"
    places = sorted(str(path.relative_to(ROOT)) for folder in ("helpers", "course", "benchmarks",
                                                              "tools")
                    for path in (ROOT / folder).rglob("*.py") if setting in path.read_text())
    assert places == ["helpers/__init__.py"]
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        code = [cell for cell in cells if cell["cell_type"] == "code"]
        assert sum(setting in "".join(cell["source"]) for cell in code) == 1, path.name
