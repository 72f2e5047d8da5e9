"""Reference results from a full-profile `course run`: the rows that
helpers/reference_results.csv keeps, each with its provenance (device, backend, data, date,
commit, command), so that the site, the README and every notebook's ladder show what the course
reached, never what a shortened run did."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from course.runner import is_full_lesson
from course.series_report import earlier_outcomes
from helpers.ladder import REFERENCE_FILE, best_per_notebook, reference_results
from helpers.results_log import read_results

IDENTITY = ["notebook", "model", "device", "backend"]  # a newer row replaces one with these


class NotAReferenceRun(ValueError):
    """The folder holds no full-profile run that could be a reference."""


def _finished_full_runs(run_dir: Path):
    """(outcome, results, environment) of every notebook a full-profile run into `run_dir`
    finished; a shortened run, or results that name no device, are refused."""
    for outcome in earlier_outcomes(Path(run_dir)):
        if outcome.status != "ok":
            continue
        if not is_full_lesson(outcome.run):
            raise NotAReferenceRun(
                f"{outcome.notebook} in {run_dir} was run as '{outcome.run}': only the full "
                "profile with no --set value is a reference result (run course run --profile "
                "full)")
        results = read_results(outcome.output_dir) or {}
        where = results.get("environment")
        if not where:
            raise NotAReferenceRun(f"{outcome.output_dir} records no device and backend: run "
                                   "the notebook again with this version of the course")
        yield outcome, results, where


def reference_rows(run_dir: Path, *, commit: str, command: str) -> pd.DataFrame:
    """One row per model of every notebook a full-profile run into `run_dir` executed."""
    rows = [{
        "notebook": outcome.notebook, "model": model["model"], "dataset": model["dataset"],
        "parameters": model["parameters"], "epochs": model["epochs"],
        "train_accuracy": model["train_accuracy"], "val_accuracy": model["val_accuracy"],
        "test_accuracy": model["test_accuracy"],
        "training_seconds": model["training_seconds"],
        "training_pflop": model.get("training_pflop"),
        "device": where["device"], "backend": where["backend"],
        "date": outcome.run[:10], "commit": commit, "command": command,
        "note": f"full profile; all the notebook's training: "
                f"{(results.get('training') or {}).get('training_pflop') or 0:.3g} PFLOP",
    } for outcome, results, where in _finished_full_runs(run_dir)
        for model in results.get("models", [])]
    if not rows:
        raise NotAReferenceRun(f"{run_dir} holds no notebook that finished with results")
    return pd.DataFrame(rows)


def timing_rows(run_dir: Path, *, commit: str, command: str) -> pd.DataFrame:
    """site/timings.csv's rows for the same run: each finished notebook's minutes, on a GPU or
    a CPU as its results say, so the site's course map shows measured minutes."""
    rows = [{"notebook": outcome.notebook,
             "kind": "cpu" if where["device"].startswith("CPU") else "gpu",
             "device": where["device"], "profile": "full", "backend": where["backend"],
             "seconds": round(outcome.seconds, 1), "date": outcome.run[:10],
             "source": f"{command} (commit {commit}, {results.get('dataset', 'CIFAR-10')})"}
            for outcome, results, where in _finished_full_runs(run_dir)]
    return pd.DataFrame(rows)


def record_timings(rows: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Add `rows` to the timings table at `path`; an identical earlier row is not repeated."""
    table = pd.concat([pd.read_csv(path, dtype=str), rows.astype(str)], ignore_index=True)
    table = table.drop_duplicates().sort_values(["notebook", "date"], kind="stable")
    table.to_csv(path, index=False)
    return table


def record(rows: pd.DataFrame, path: Path = REFERENCE_FILE) -> pd.DataFrame:
    """Add `rows` to the reference table at `path`, replacing a row of the same notebook,
    model, device and backend; rows measured elsewhere (the CPU rows) stay."""
    table = reference_results(path)
    kept = table.merge(rows[IDENTITY], on=IDENTITY, how="left", indicator=True)
    table = table[(kept["_merge"] == "left_only").to_numpy()]
    table = pd.concat([table, rows], ignore_index=True).sort_values(["notebook", "date"])
    table.to_csv(path, index=False)
    return table


RESULTS_START = "<!-- reference results: tools/record_reference.py writes this table -->"
RESULTS_END = "<!-- end of reference results -->"


def results_table(reference: pd.DataFrame, notebooks: list[str]) -> str:
    """README's table of what the course reached: each notebook's best reference model (chosen
    on validation) with where and when it was measured, and the notebooks with none yet."""
    lines = [RESULTS_START, "",
             "| Notebook | Model | Test accuracy | Measured on | Date | Command |",
             "|---|---|---|---|---|---|"]
    best = best_per_notebook(reference)
    for row in best.itertuples():
        lines.append(f"| {row.notebook} | {row.model} | {row.test_accuracy:.1%} | {row.device}, "
                     f"{row.backend}, {row.dataset} | {row.date} | `{row.command}` |")
    missing = [name[:2] for name in notebooks if name not in set(best["notebook"])]
    lines += ["", f"No reference run yet: {', '.join(missing) or 'none'}.", "", RESULTS_END]
    return "\n".join(lines)


def update_readme(readme: Path, reference: pd.DataFrame, notebooks: list[str]) -> None:
    """Replace README's reference-results table with the one `reference` gives."""
    text = readme.read_text()
    start, end = text.index(RESULTS_START), text.index(RESULTS_END) + len(RESULTS_END)
    readme.write_text(text[:start] + results_table(reference, notebooks) + text[end:])
