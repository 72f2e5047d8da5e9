"""`course`: the command line that re-executes the notebook series and writes its report."""

from __future__ import annotations

import argparse
import contextlib
import sys
from datetime import datetime
from pathlib import Path

from helpers import paths

try:
    from helpers import runner
except ModuleNotFoundError as missing:  # papermill and nbformat come with the [runner] extra
    runner, MISSING_RUNNER_TOOL = None, missing.name

OUTPUT_HELP = ("output folder (default: runs/PROFILE). A run into a folder that holds an "
               "earlier run's report adds to it: the notebooks it runs replace their rows, the "
               "others keep theirs, and the run column says which run wrote each row. A folder "
               "that another run is writing into, or that holds other files, is refused.")
EXIT_INTERRUPTED = 130  # the shell's code for a command stopped by Ctrl-C


def _positive_seconds(text: str) -> int:
    """--cell-timeout: a positive number of seconds (nbclient reads 0 as "no limit")."""
    refusal = argparse.ArgumentTypeError(f"must be a positive whole number of seconds, got {text}")
    try:
        seconds = int(text)
    except ValueError:
        raise refusal from None
    if seconds <= 0:
        raise refusal
    return seconds


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
        command.add_argument("--output", type=Path, help=OUTPUT_HELP if name == "run"
                             else "output folder (default: runs/PROFILE)")
        command.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                             dest="overrides",
                             help="override a parameter in every notebook that declares it, "
                                  "after the profile, e.g. --set SEED=7 --set EPOCHS=5")
        command.add_argument("--notebooks", type=Path, default=Path("notebooks"),
                             help="folder of NN_topic.ipynb notebooks (default: notebooks)")
        if name == "run":
            command.add_argument("--cell-timeout", type=_positive_seconds, default=3600,
                                 metavar="SECONDS",
                                 help="fail a notebook whose cell runs longer (default 3600)")
    return parser


def _error(message: str) -> int:
    print(f"course: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    if runner is None:
        return _error(f"{MISSING_RUNNER_TOOL} is not installed: `course` needs the runner tools, "
                      "`pip install 'keras-cnn-course[runner]'` (make setup installs them).")
    args = _parser().parse_args(argv)
    try:
        notebooks = runner.discover_notebooks(args.notebooks, args.only)
    except FileNotFoundError as err:
        return _error(f"{err}. Run course from the course's folder, or name the notebooks' "
                      "folder with --notebooks FOLDER.")
    except ValueError as err:
        return _error(str(err))
    try:
        overrides = dict(map(runner.parse_override, args.overrides))
        runner.check_overrides(notebooks, overrides)
    except ValueError as err:
        return _error(str(err))
    unknown = runner.undeclared_overrides(notebooks, overrides)
    if unknown:
        return _error(f"no selected notebook has a parameter named {', '.join(unknown)}; "
                      "see the parameters cell of each notebook")
    paths.make_env_paths_absolute()
    profile = args.profile or runner.default_profile()
    output = args.output or Path("runs") / profile
    if args.command == "prepare":
        try:
            runner.check_output_path(output, args.notebooks)
        except runner.OutputFolderError as err:
            return _error(str(err))
        for path in runner.prepare_series(notebooks, profile, output, overrides):
            print(path)
        return 0
    return _run(args, notebooks, profile, output, overrides)


def _run(args: argparse.Namespace, notebooks: list[Path], profile: str, output: Path,
         overrides: dict[str, object]) -> int:
    """`course run`: execute, report, and exit 130 after Ctrl-C, 1 after a failure, else 0."""
    from helpers.report import write_report  # matplotlib and pandas only when reporting

    run = runner.run_label(profile, overrides, datetime.now())
    with contextlib.ExitStack() as held:
        try:
            held.enter_context(runner.claim_output(output, args.notebooks, run))
        except (runner.OutputFolderError, OSError) as err:
            return _error(str(err))
        print(f"course run: {len(notebooks)} notebooks, profile '{profile}'"
              f"{'' if args.profile else ' (chosen by GPU presence)'}"
              f"{''.join(f', {name}={value!r}' for name, value in overrides.items())}"
              f", output {output}", flush=True)
        outcomes = runner.run_series(notebooks, profile, output, args.cell_timeout, overrides)
        report = write_report(outcomes, output, run)
    stopped = {status: [outcome.notebook for outcome in outcomes if outcome.status == status]
               for status in ("failed", "interrupted")}
    print(f"report: {report}" + "".join(f"; {status}: {', '.join(names)}"
                                        for status, names in stopped.items() if names))
    if stopped["interrupted"]:
        return EXIT_INTERRUPTED
    return 1 if stopped["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
