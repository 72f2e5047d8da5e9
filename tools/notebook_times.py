"""Seconds each notebook took under nbval, from the JUnit files `make test` writes.

    python tools/notebook_times.py build/junit-tensorflow.xml build/junit-jax.xml
"""

from __future__ import annotations

import argparse
import re
import sys
import xml.etree.ElementTree as ElementTree
from collections import defaultdict
from pathlib import Path


def notebook_seconds(junit_file: Path) -> dict[str, float]:
    """Total seconds of every nbval cell, by notebook (the test case's file)."""
    totals: dict[str, float] = defaultdict(float)
    for case in ElementTree.parse(junit_file).iter("testcase"):
        notebook = re.search(r"(\d\d_\w+)\.ipynb$", case.get("classname", ""))
        if notebook:
            totals[notebook.group(1)] += float(case.get("time", 0))
    return dict(sorted(totals.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("junit_files", nargs="+", type=Path)
    args = parser.parse_args(argv)
    tables = {path.stem.removeprefix("junit-"): notebook_seconds(path) for path in args.junit_files}
    notebooks = sorted(set().union(*tables.values()))
    print("| notebook | " + " | ".join(f"{leg} (s)" for leg in tables) + " |")
    print("|---" * (len(tables) + 1) + "|")
    for notebook in notebooks:
        cells = " | ".join(f"{tables[leg].get(notebook, float('nan')):.1f}" for leg in tables)
        print(f"| {notebook} | {cells} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
