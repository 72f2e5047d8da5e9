#!/usr/bin/env python3
"""Add a full-profile course run's results to helpers/reference_results.csv and README's
table, and its minutes per notebook to site/timings.csv.

Usage, after a reference run (tools/device_run.sh reference 08 brings back its folder):
    python tools/record_reference.py RUN_FOLDER --commit 1a2b3c4 \
        --command "tools/device_run.sh reference 08"
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from course.reference_rows import (
    NotAReferenceRun,
    record,
    record_timings,
    reference_rows,
    timing_rows,
    update_readme,
)
from course.runner import discover_notebooks

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="the folder the full-profile course run wrote")
    parser.add_argument("--commit", required=True, help="the commit the run executed")
    parser.add_argument("--command", required=True, help="the command that ran it")
    options = parser.parse_args()
    try:
        rows = reference_rows(options.run, commit=options.commit, command=options.command)
    except NotAReferenceRun as err:
        print(f"record_reference: {err}", file=sys.stderr)
        return 2
    table = record(rows)
    record_timings(timing_rows(options.run, commit=options.commit, command=options.command),
                   ROOT / "site" / "timings.csv")
    update_readme(ROOT / "README.md", table,
                  [path.stem for path in discover_notebooks(ROOT / "notebooks")])
    print(rows[["notebook", "model", "test_accuracy", "device", "backend"]].to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
