"""The accuracy ladder: each notebook's best model beside every other notebook's, so the series
reads as one story. Other notebooks' figures come from `reference_results.csv`, full-length runs
committed with their provenance; this notebook's own fresh result is marked on top."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from helpers.results_log import ResultsLog, headline

REFERENCE_FILE = Path(__file__).with_name("reference_results.csv")
PROVENANCE = ["device", "backend", "dataset", "date", "commit", "command"]


def reference_results(path: Path = REFERENCE_FILE) -> pd.DataFrame:
    """The committed full-length results, one row per model, with where each came from."""
    table = pd.read_csv(path, dtype={"note": str, "command": str})
    missing = [column for column in ["notebook", "model", "test_accuracy", "val_accuracy",
                                     *PROVENANCE] if column not in table.columns]
    if missing:
        raise ValueError(f"{path} lacks the columns {', '.join(missing)}")
    return table


def best_per_notebook(reference: pd.DataFrame) -> pd.DataFrame:
    """Each notebook's best reference model, chosen on validation, in notebook order."""
    return (reference.sort_values("val_accuracy", ascending=False)
            .drop_duplicates("notebook").sort_values("notebook"))


def ladder_table(results: ResultsLog, reference: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per notebook: its best reference model (chosen on validation), and for this
    notebook the model this run reached as well, labelled "this run"."""
    reference = reference_results() if reference is None else reference
    best = best_per_notebook(reference)
    rows = [{"notebook": row.notebook, "model": row.model, "test_accuracy": row.test_accuracy,
             "run": f"reference: {row.device}, {row.backend}, {row.dataset}, {row.date}"}
            for row in best.itertuples()]
    mine = headline({"dataset": results.dataset, "models": results.models})
    if mine is not None:
        rows.append({"notebook": results.notebook, "model": mine["model"],
                     "test_accuracy": mine["test_accuracy"], "run": "this run"})
    return pd.DataFrame(rows, columns=["notebook", "model", "test_accuracy", "run"])


def plot_ladder(results: ResultsLog, reference: pd.DataFrame | None = None) -> Figure:
    """Test accuracy of each notebook's best model, bottom to top in course order; this run's
    result is a red diamond on its own notebook's row."""
    table = ladder_table(results, reference)
    notebooks = sorted(set(table["notebook"]))
    rows = {name: index for index, name in enumerate(notebooks)}
    fig, ax = plt.subplots(figsize=(9, 0.55 * len(notebooks) + 1.6), layout="constrained")
    earlier = table[table["run"] != "this run"]
    ax.barh([rows[name] for name in earlier["notebook"]], earlier["test_accuracy"],
            color=["C1" if name == results.notebook else "C0" for name in earlier["notebook"]],
            alpha=0.8, label="reference run (full length)")
    for row in earlier.itertuples():
        ax.text(row.test_accuracy + 0.01, rows[row.notebook], f"{row.test_accuracy:.1%}  "
                f"{row.model}", va="center", fontsize=8)
    now = table[table["run"] == "this run"]
    if not now.empty:
        accuracy = now["test_accuracy"].iloc[0]
        ax.plot(now["test_accuracy"], [rows[name] for name in now["notebook"]], "D",
                color="crimson", markersize=9, label=f"this run: {accuracy:.1%}")
    ax.set_yticks(range(len(notebooks)), notebooks)
    ax.set_xlim(0, 1.15)
    ax.axvline(0.1, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("Test accuracy of the notebook's best model (chosen on validation)")
    ax.set_ylabel("Notebook")
    ax.set_title(f"The accuracy ladder: where {results.notebook} stands")
    ax.legend(loc="lower right", fontsize=8)
    return fig
