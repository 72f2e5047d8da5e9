"""`course`: the command line that re-executes the notebook series and writes its report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from helpers import paths, runner


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="course", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("run", "execute the notebooks and write report.md, results.csv and accuracy.png"),
        ("prepare", "write copies with the profile's parameters injected, nothing executed"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--profile", choices=sorted(runner.PROFILES),
                             help="smoke: small subset, 1 epoch; full: the real lesson "
                                  "(default: full with a GPU, else smoke)")
        command.add_argument("--only", nargs="+", metavar="NN",
                             help="only these notebook numbers, e.g. --only 00 02")
        command.add_argument("--output", type=Path, help="output folder (default: runs/PROFILE)")
        command.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                             dest="overrides",
                             help="override a parameter in every notebook that declares it, "
                                  "after the profile, e.g. --set SEED=7 --set EPOCHS=5")
        command.add_argument("--notebooks", type=Path, default=Path("notebooks"),
                             help="folder of NN_topic.ipynb notebooks (default: notebooks)")
        if name == "run":
            command.add_argument("--cell-timeout", type=int, default=3600, metavar="SECONDS",
                                 help="fail a notebook whose cell runs longer (default 3600)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        notebooks = runner.discover_notebooks(args.notebooks, args.only)
        overrides = dict(map(runner.parse_override, args.overrides))
    except (FileNotFoundError, ValueError) as err:
        print(f"course: {err}", file=sys.stderr)
        return 2
    unknown = runner.undeclared_overrides(notebooks, overrides)
    if unknown:
        print(f"course: no selected notebook has a parameter named {', '.join(unknown)}; "
              "see the parameters cell of each notebook", file=sys.stderr)
        return 2
    paths.make_env_paths_absolute()
    profile = args.profile or runner.default_profile()
    output = args.output or Path("runs") / profile
    if args.command == "prepare":
        for path in runner.prepare_series(notebooks, profile, output, overrides):
            print(path)
        return 0
    from helpers.report import write_report  # matplotlib and pandas only when reporting

    print(f"course run: {len(notebooks)} notebooks, profile '{profile}'"
          f"{'' if args.profile else ' (chosen by GPU presence)'}"
          f"{''.join(f', {name}={value!r}' for name, value in overrides.items())}"
          f", output {output}", flush=True)
    outcomes = runner.run_series(notebooks, profile, output, args.cell_timeout, overrides)
    report = write_report(outcomes, profile, output)
    failed = [outcome.notebook for outcome in outcomes if outcome.status != "ok"]
    print(f"report: {report}" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
