"""The series report: one row per notebook, a table of every model, and a chart."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # the report is written from a command line, never shown

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from helpers.results import headline, read_results  # noqa: E402
from helpers.runner import NotebookOutcome  # noqa: E402

SUMMARY_COLUMNS = ["notebook", "status", "dataset", "model", "test_accuracy", "val_accuracy",
                   "parameters", "epochs", "training_seconds", "seconds", "error"]


def summarise(outcomes: Sequence[NotebookOutcome]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(one row per notebook with its headline model, one row per model of every notebook)."""
    rows, models = [], []
    for outcome in outcomes:
        results = read_results(outcome.output_dir) or {}
        best = headline(results) if results else None
        rows.append({"notebook": outcome.notebook, "status": outcome.status,
                     "dataset": results.get("dataset", ""), **(best or {}),
                     "seconds": round(outcome.seconds, 1), "error": outcome.error})
        models += [{"notebook": outcome.notebook, **model} for model in results.get("models", [])]
    return pd.DataFrame(rows).reindex(columns=SUMMARY_COLUMNS), pd.DataFrame(models)


def _cell_text(column: str, value: object) -> str:
    """How one figure reads in report.md: accuracies in percent, counts with separators."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if column.endswith("accuracy") or column == "gap":
        return f"{value:.1%}"
    if column in ("parameters", "epochs"):
        return f"{int(value):,}"
    if isinstance(value, float):
        return f"{value:.4g}" if column.endswith("loss") else f"{value:.1f}"
    return str(value)


def for_reading(table: pd.DataFrame) -> str:
    """`table` as a Markdown table for people (the CSV files keep the raw numbers)."""
    shown = pd.DataFrame({column: [_cell_text(column, value) for value in table[column]]
                          for column in table.columns})
    return shown.to_markdown(index=False, disable_numparse=True)


def plot_accuracy(summary: pd.DataFrame, title: str) -> plt.Figure:
    """Bar chart of each notebook's headline test accuracy."""
    done = summary.dropna(subset=["test_accuracy"])
    fig, ax = plt.subplots(figsize=(max(5, 1.3 * len(summary)), 4))
    bars = ax.bar(done["notebook"], done["test_accuracy"], color="C0")
    ax.bar_label(bars, labels=[f"{value:.1%}" for value in done["test_accuracy"]])
    ax.set_ylim(0, 1)
    ax.set_xlabel("Notebook")
    ax.set_ylabel("Test accuracy (best model on validation)")
    ax.set_title(title)
    ax.tick_params(axis="x", rotation=20)
    fig.tight_layout()
    return fig


def write_report(outcomes: Sequence[NotebookOutcome], profile: str, output_dir: Path) -> Path:
    """Write results.csv, models.csv, accuracy.png and report.md into `output_dir`."""
    summary, models = summarise(outcomes)
    summary.to_csv(output_dir / "results.csv", index=False)
    models.to_csv(output_dir / "models.csv", index=False)
    fig = plot_accuracy(summary, f"Test accuracy per notebook ({profile} profile)")
    fig.savefig(output_dir / "accuracy.png", dpi=110)
    plt.close(fig)
    failed = int((summary["status"] != "ok").sum())
    lines = [
        f"# Course report ({profile} profile)", "",
        f"{len(summary) - failed} of {len(summary)} notebooks ran; {failed} failed. "
        "Each notebook is summarised by its best model on validation; its test accuracy is "
        "measured once, at the end of the notebook.", "",
        for_reading(summary.drop(columns="error")), "",
        "![Test accuracy per notebook](accuracy.png)", "",
    ]
    if failed:
        lines += ["## Failures", ""] + [f"- **{row.notebook}**: {row.error}"
                                       for row in summary.itertuples() if row.status != "ok"]
        lines.append("")
    if not models.empty:
        lines += ["## Every model", "", for_reading(models), ""]
    path = output_dir / "report.md"
    path.write_text("\n".join(lines))
    return path
