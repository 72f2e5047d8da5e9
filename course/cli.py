"""`course`: the command line that re-executes the notebook series and writes its report, builds
the course's website from a run, and serves a saved model as a web app."""

from __future__ import annotations

import argparse
import contextlib
import sys
from datetime import datetime
from pathlib import Path

from helpers.data import paths

try:
    from course import runner
except ModuleNotFoundError as missing:  # papermill and nbformat come with the [runner] extra
    runner, MISSING_RUNNER_TOOL = None, missing.name

OUTPUT_HELP = ("output folder (default: runs/PROFILE). A run into a folder that holds an "
               "earlier run's report adds to it: the notebooks it runs replace their rows, the "
               "others keep theirs, and the run column says which run wrote each row. A folder "
               "that another run is writing into, or that holds other files, is refused.")
EXIT_INTERRUPTED = 130  # the shell's code for a command stopped by Ctrl-C
MAX_UPLOAD_MB = 1000


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


def _positive_megabytes(text: str) -> float:
    """--max-upload-mb: a positive number of megabytes, up to MAX_UPLOAD_MB (inf and nan are
    no limits a server can hold to)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value <= MAX_UPLOAD_MB:
        raise argparse.ArgumentTypeError(f"must be a positive number of megabytes, at most "
                                         f"{MAX_UPLOAD_MB:,} (a 32x32 model needs little), got "
                                         f"{text}")
    return value


def _probability(text: str) -> float:
    """--min-confidence: a probability, 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be a probability between 0 and 1, got {text}")
    return value


def _port(text: str) -> int:
    """--port: 0 (any free port) to 65535."""
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"must be a port number, 0 to 65535, got {text}")
    return int(text)


def _add_serve(commands) -> None:
    serve = commands.add_parser(
        "serve", help="serve a saved model as a web app: an upload page and a JSON API",
        description="Serve a model saved by notebook 09 or 11 (a .keras file with its card): "
                    "an upload page at /, POST /predict, GET /health, API docs at /docs. "
                    "The model is loaded once, before the first request.")
    serve.add_argument("--model", type=Path, required=True, metavar="PATH",
                       help="the .keras file, e.g. notebooks/outputs/09_transfer_learning/"
                            "model.keras")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1: this machine only; "
                            "0.0.0.0 lets other machines on your network in, with no password)")
    serve.add_argument("--port", type=_port, default=8000,
                       help="port to listen on (default 8000; 0: any free port)")
    serve.add_argument("--max-upload-mb", type=_positive_megabytes, default=10.0, metavar="MB",
                       help="largest upload accepted, in megabytes (default 10)")
    serve.add_argument("--min-confidence", type=_probability, default=0.5, metavar="P",
                       help="below this top probability, answers carry a warning that the "
                            "image may be unlike the model's classes (default 0.5)")
    serve.add_argument("--stop-at-stdin-eof", action="store_true",
                       help="also stop when standard input closes (for a program that starts "
                            "the server through a pipe, such as a notebook: the server then "
                            "never outlives it)")


def _add_site(commands) -> None:
    site = commands.add_parser(
        "site", help="build the course's website from a run: lessons, executed notebooks, report",
        description="Build the course's static website (Material for MkDocs) from lessons/, "
                    "the executed notebooks and report of one `course run`, and site/. "
                    "Works offline.")
    site.add_argument("--run", type=Path, metavar="FOLDER",
                      help="the run to publish (default: the run under runs/ whose report was "
                           "written last)")
    site.add_argument("--output", type=Path, default=Path("build/site"), metavar="FOLDER",
                      help="where the site goes (default build/site); a folder of other files "
                           "is refused, since building empties it")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="course", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    profiles = sorted(runner.PROFILES) if runner is not None else None
    for name, help_text in (
        ("run", "execute the notebooks and write report.md, results.csv and accuracy.png"),
        ("prepare", "write copies with the profile's parameters injected, nothing executed"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--profile", choices=profiles,
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
    _add_site(commands)
    _add_serve(commands)
    return parser


def _error(message: str) -> int:
    print(f"course: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "site":
        return _site(args)
    if runner is None:
        return _error(f"{MISSING_RUNNER_TOOL} is not installed: `course {args.command}` needs the "
                      "runner tools, `pip install 'keras-cnn-course[runner]'` (make setup "
                      "installs them).")
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
        return _prepare(args, notebooks, profile, output, overrides)
    return _run(args, notebooks, profile, output, overrides)


def _prepare(args: argparse.Namespace, notebooks: list[Path], profile: str, output: Path,
             overrides: dict[str, object]) -> int:
    """`course prepare`: the notebooks with the profile's parameters, not executed, written
    into a folder it may write into (as `course run` claims one), and listed."""
    label = f"prepare, {runner.run_label(profile, overrides, datetime.now())}"
    try:
        with runner.claim_output(output, args.notebooks, label):
            prepared = runner.prepare_series(notebooks, profile, output, overrides)
    except runner.OutputFolderError as err:
        return _error(str(err))
    except OSError as err:
        return _error(f"cannot write into {output} ({err.strerror or err}): choose a folder "
                      "you can write to")
    for path in prepared:
        print(path)
    return 0


def _run(args: argparse.Namespace, notebooks: list[Path], profile: str, output: Path,
         overrides: dict[str, object]) -> int:
    """`course run`: execute, report, and exit 130 after Ctrl-C or SIGTERM, 1 after a failure,
    else 0."""
    from course.series_report import write_report  # matplotlib and pandas only when reporting

    run = runner.run_label(profile, overrides, datetime.now())
    with contextlib.ExitStack() as held:
        try:
            held.enter_context(runner.claim_output(output, args.notebooks, run))
        except runner.OutputFolderError as err:
            return _error(str(err))
        except OSError as err:
            return _error(f"cannot write into {output} ({err.strerror or err}): choose a "
                          "folder you can write to")
        held.enter_context(runner.sigterm_as_interrupt())
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


def _site(args: argparse.Namespace) -> int:
    """`course site`: stage and build the website; 2 when something it needs is missing."""
    try:
        from course import site
    except ModuleNotFoundError as missing:
        return _error(f"{missing.name} is not installed: `course site` needs the site tools, "
                      "`pip install 'keras-cnn-course[site]'` (make setup installs them).")
    try:
        run = args.run or site.latest_run(Path("runs"))
        print(f"course site: building {args.output} from the run in {run}", flush=True)
        built = site.build_site(run, args.output)
    except (site.SiteError, FileNotFoundError) as err:
        return _error(str(err))
    except OSError as err:
        return _error(f"cannot build the site in {args.output} ({err.strerror or err}): choose "
                      "a folder you can write to")
    print(f"course site: {built.pages} pages in {built.folder} ({built.seconds:.0f} s); open "
          f"{built.folder / 'index.html'}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    """`course serve`: bind the port, load the model, serve until Ctrl-C; 2 on a bad start."""
    try:
        import fastapi  # noqa: F401
        import fastapi_offline  # noqa: F401
        import multipart  # noqa: F401
        import uvicorn  # noqa: F401
    except ModuleNotFoundError as missing:
        return _error(f"{missing.name} is not installed: `course serve` needs the web tools, "
                      "`pip install 'keras-cnn-course[serve]'` (make setup installs them).")
    if not args.model.is_file():
        return _error(f"no model file at {args.model}: run notebook 09 (or 11) to save one, "
                      "and name it with --model PATH")
    from course.serve import server_process, webapp

    try:
        sock = server_process.bind(args.host, args.port)
    except OSError as err:
        if server_process.port_in_use(err):
            return _error(f"port {args.port} on {args.host} is in use (another `course serve`, "
                          "or another program): stop it, or choose another with --port")
        return _error(f"cannot listen on {args.host}:{args.port}: {err.strerror or err}")
    with sock:
        paths.make_env_paths_absolute()
        from helpers.deploy.classifier import Classifier  # imports Keras and its backend: seconds

        max_bytes = round(args.max_upload_mb * 1024 * 1024)
        try:
            classifier = Classifier.from_file(args.model, min_confidence=args.min_confidence,
                                              max_bytes=max_bytes)
        except (OSError, ValueError, TypeError) as err:
            return _error(f"cannot serve {args.model}: {err}")
        app = webapp.create_app(classifier, max_upload_bytes=max_bytes)
        host, port = sock.getsockname()[:2]
        address = f"[{host}]" if ":" in host else host
        if host not in ("127.0.0.1", "::1"):
            print(f"course serve: listening on {host}: other machines can reach this server, "
                  "which has no password", file=sys.stderr)
        print(f"course serve: {classifier.name} ({len(classifier.class_names)} classes) at "
              f"http://{address}:{port}/ (API docs at /docs); Ctrl-C stops it", flush=True)
        server_process.serve(app, sock, stop_at_stdin_eof=args.stop_at_stdin_eof)
    return 0


if __name__ == "__main__":
    sys.exit(main())
