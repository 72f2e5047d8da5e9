"""Seconds each notebook took in `make test`: from a JUnit file (nbval's cells) or a course
run's results.csv (the TensorFlow leg executes the series with `course run`).

    python tools/notebook_times.py build/smoke-run/results.csv build/junit-jax.xml
"""

from __future__ import annotations

import argparse
import csv
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


def run_seconds(results_csv: Path) -> dict[str, float]:
    """Seconds per notebook, as `course run` recorded them."""
    with results_csv.open() as table:
        return {row["notebook"]: float(row["seconds"] or "nan") for row in csv.DictReader(table)}


def leg_name(path: Path) -> str:
    return path.parent.name if path.suffix == ".csv" else path.stem.removeprefix("junit-")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE",
                        help="build/junit-*.xml or a run's results.csv")
    args = parser.parse_args(argv)
    tables = {leg_name(path): run_seconds(path) if path.suffix == ".csv" else notebook_seconds(path)
              for path in args.files}
    notebooks = sorted(set().union(*tables.values()))
    print("| notebook | " + " | ".join(f"{leg} (s)" for leg in tables) + " |")
    print("|---" * (len(tables) + 1) + "|")
    for notebook in notebooks:
        cells = " | ".join(f"{tables[leg].get(notebook, float('nan')):.1f}" for leg in tables)
        print(f"| {notebook} | {cells} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
