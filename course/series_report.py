"""The series report: one row per notebook, a table of every model, and a chart.

A run into a folder that already holds a report adds to it: the notebooks the run executed
replace their rows, the others keep theirs, and the `run` column says which run wrote each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # the report is written from a command line, never shown

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from course.runner import STATUSES, NotebookOutcome, notebook_output_dir  # noqa: E402
from helpers.results_log import headline, read_results  # noqa: E402

SUMMARY_COLUMNS = ["notebook", "status", "dataset", "model", "test_accuracy", "val_accuracy",
                   "parameters", "epochs", "training_seconds", "training_pflop",
                   "tflop_per_second", "seconds", "error", "run"]
COUNT_COLUMNS = ("parameters", "epochs")  # ints, even where pandas made a column float
WORK_COLUMNS = ("training_pflop", "tflop_per_second")  # estimates: three figures say enough
EARLIER_RUN = "an earlier run"  # rows of a results.csv written before runs were named


def earlier_outcomes(output_dir: Path) -> list[NotebookOutcome]:
    """The rows of the report an earlier run left in `output_dir`, as outcomes."""
    path = output_dir / "results.csv"
    if not path.is_file():
        return []
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    return [NotebookOutcome(row["notebook"], row["status"], float(row["seconds"] or 0),
                            notebook_output_dir(output_dir, Path(f"{row['notebook']}.ipynb")),
                            row["error"], row.get("run") or EARLIER_RUN)
            for row in table.to_dict("records")]


def merge_outcomes(earlier: Sequence[NotebookOutcome],
                   current: Sequence[NotebookOutcome]) -> list[NotebookOutcome]:
    """This run's outcomes, and earlier ones for the notebooks it did not execute (not
    selected, or not reached after Ctrl-C), in notebook order."""
    rows = {outcome.notebook: outcome for outcome in earlier}
    for outcome in current:
        if outcome.status != "not run" or outcome.notebook not in rows:
            rows[outcome.notebook] = outcome
    return [rows[notebook] for notebook in sorted(rows)]


def summarise(outcomes: Sequence[NotebookOutcome]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(one row per notebook with its headline model, one row per model of every notebook).

    Object columns keep each value as recorded: a batch size stays the int 64 beside a notebook
    that recorded none, instead of becoming the float 64.0."""
    rows, models = [], []
    for outcome in outcomes:
        ran = outcome.status != "not run"  # else its folder holds no record of this run
        results = (read_results(outcome.output_dir) if ran else None) or {}
        best = headline(results) if results else None
        work = results.get("training") or {}  # all the notebook's training, not the headline's
        rows.append({"notebook": outcome.notebook, "status": outcome.status,
                     "dataset": results.get("dataset", ""), **(best or {}),
                     "training_pflop": work.get("training_pflop"),
                     "tflop_per_second": work.get("tflop_per_second"),
                     "seconds": round(outcome.seconds, 1) if ran else None,
                     "error": outcome.error, "run": outcome.run})
        models += [{"notebook": outcome.notebook, **model, "run": outcome.run}
                   for model in results.get("models", [])]
    summary = pd.DataFrame(rows, dtype=object).reindex(columns=SUMMARY_COLUMNS)
    return summary, pd.DataFrame(models, dtype=object)


def _cell_text(column: str, value: object) -> str:
    """How one figure reads in report.md: accuracies in percent, counts and other ints with
    separators, other numbers with the precision they have (a learning rate of 0.001 is not
    0.0, and a float stays a float: 64.0 is not 64)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if column.endswith("accuracy") or column == "gap":
        return f"{value:.1%}"
    if isinstance(value, int) or column in COUNT_COLUMNS:
        return f"{int(value):,}"
    digits = 4 if column.endswith("loss") else 3 if column in WORK_COLUMNS else 6
    return repr(float(f"{value:.{digits}g}"))


def for_reading(table: pd.DataFrame) -> str:
    """`table` as a Markdown table for people (the CSV files keep the raw numbers)."""
    shown = pd.DataFrame({column: [_cell_text(column, value) for value in table[column]]
                          for column in table.columns})
    return shown.to_markdown(index=False, disable_numparse=True)


def plot_accuracy(summary: pd.DataFrame, title: str) -> plt.Figure:
    """Bar chart of each notebook's headline test accuracy."""
    done = summary.dropna(subset=["test_accuracy"])
    accuracy = done["test_accuracy"].astype(float)
    fig, ax = plt.subplots(figsize=(max(5, 1.3 * len(summary)), 4))
    bars = ax.bar(done["notebook"], accuracy, color="C0")
    ax.bar_label(bars, labels=[f"{value:.1%}" for value in accuracy])
    ax.set_ylim(0, 1)
    ax.set_xlabel("Notebook")
    ax.set_ylabel("Test accuracy (best model on validation)")
    ax.set_title(title)
    ax.tick_params(axis="x", rotation=20)
    fig.tight_layout()
    return fig


def _this_run(outcomes: Sequence[NotebookOutcome], run: str) -> str:
    """One sentence on what this run did, status by status."""
    counts = [f"{sum(outcome.status == status for outcome in outcomes)} {status}"
              for status in STATUSES if any(outcome.status == status for outcome in outcomes)]
    return f"This run ({run}) selected {len(outcomes)} notebooks: {', '.join(counts)}."


def write_report(outcomes: Sequence[NotebookOutcome], output_dir: Path, run: str) -> Path:
    """Write results.csv, models.csv, accuracy.png and report.md into `output_dir` for the run
    named `run` (see `runner.run_label`), keeping the rows of an earlier run into it for the
    notebooks this one did not execute."""
    current = [replace(outcome, run=run) for outcome in outcomes]
    summary, models = summarise(merge_outcomes(earlier_outcomes(output_dir), current))
    summary.to_csv(output_dir / "results.csv", index=False)
    models.to_csv(output_dir / "models.csv", index=False)
    one_run = set(summary["run"]) == {run}
    fig = plot_accuracy(summary, "Test accuracy per notebook"
                        + (f" ({run})" if one_run else " (rows of several runs)"))
    fig.savefig(output_dir / "accuracy.png", dpi=110)
    plt.close(fig)
    lines = ["# Course report", "", _this_run(current, run)]
    if not one_run:
        lines.append("Rows of another run come from an earlier run into this folder, for the "
                     "notebooks this run did not execute (see the run column).")
    lines += [
        "Each notebook is summarised by its best model on validation; its test accuracy is "
        "measured once, at the end of the notebook. training_pflop and tflop_per_second count "
        "all the notebook's timed training (every fit, reported model or not; FLOPs from the "
        "backend's cost analysis, helpers.flops); training_seconds is the headline model's.",
        "",
        for_reading(summary.drop(columns=["error"] + (["run"] if one_run else []))), "",
        "![Test accuracy per notebook](accuracy.png)", "",
    ]
    problems = summary[summary["status"].isin(["failed", "interrupted"])]
    if not problems.empty:
        lines += ["## Failures and interruptions", ""] + [
            f"- **{row.notebook}** ({row.status}): {row.error}" for row in problems.itertuples()]
        lines.append("")
    if not models.empty:
        lines += ["## Every model", "",
                  for_reading(models.drop(columns=["run"]) if one_run else models), ""]
    path = output_dir / "report.md"
    path.write_text("\n".join(lines))
    return path
