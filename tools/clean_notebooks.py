"""Strip notebooks for committing: no outputs except the cells nbval checks.

A cell whose source contains `# NBVAL_CHECK_OUTPUT` keeps its outputs (they are nbval's expected
values) and a sequential execution count; every other output and execution count, papermill's
injected cell and run metadata go. The kernel name is normalised to `python3` so papermill and
nbval find it anywhere.

    python tools/clean_notebooks.py notebooks/*.ipynb            # clean in place
    python tools/clean_notebooks.py --check notebooks/*.ipynb    # exit 1 if any is not clean
    python tools/clean_notebooks.py --from runs/smoke/01_mlp.ipynb notebooks/01_mlp.ipynb
        # take the kept outputs from an executed copy
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

CHECK_MARKER = "# NBVAL_CHECK_OUTPUT"
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def clean(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The committed form of `notebook` (a new object; the argument is left as it was)."""
    notebook = nbformat.from_dict(notebook)
    notebook.cells = [cell for cell in notebook.cells
                      if "injected-parameters" not in cell.metadata.get("tags", [])]
    kept_count = 0
    for cell in notebook.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        cell.pop("id", None)
        if cell.cell_type != "code":
            continue
        if CHECK_MARKER in cell.source:
            # nbval refuses a reference cell with outputs but no execution count, so kept
            # cells are numbered 1, 2, ... (stable, unlike the counts of a real run).
            kept_count += 1
            cell.execution_count = kept_count
            for output in cell.outputs:
                if "execution_count" in output:
                    output.execution_count = kept_count
                if output.get("metadata") == {}:
                    output.pop("metadata")
        else:
            cell.execution_count = None
            cell.outputs = []
    notebook.metadata.pop("papermill", None)
    notebook.metadata.pop("widgets", None)
    notebook.metadata["kernelspec"] = dict(KERNELSPEC)
    notebook.nbformat, notebook.nbformat_minor = 4, 4
    return notebook


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true", help="only report unclean notebooks")
    parser.add_argument("--from", dest="source", type=Path,
                        help="executed copy to clean into the (single) notebook given")
    args = parser.parse_args(argv)
    if args.source and len(args.notebooks) != 1:
        parser.error("--from takes exactly one target notebook")
    unclean = []
    for path in args.notebooks:
        original = nbformat.read(args.source or path, as_version=4)
        cleaned = clean(original)
        text = nbformat.writes(cleaned) + "\n"
        if path.is_file() and path.read_text() == text:
            continue
        unclean.append(path)
        if not args.check:
            path.write_text(text)
    if args.check and unclean:
        print("not clean (run python tools/clean_notebooks.py on them):",
              *map(str, unclean), sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
