"""Our measurements beside the figures a source reported, as one table and one bar chart.

A notebook states the reported figures itself (they are part of its lesson); this module only
lines them up with what `ResultsLog` recorded."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

SPLITS = {"train": "train_accuracy", "validation": "val_accuracy", "test": "test_accuracy"}


def measured_vs_reported(table: pd.DataFrame,
                         reported: Mapping[str, Mapping[str, float]]) -> pd.DataFrame:
    """`ResultsLog.table()` in percent beside the reported figures.

    `reported` maps a model's name to its reported accuracies in percent by split, e.g.
    `{"small CNN": {"train": 75.0, "test": 61.6}}`; a model left out shows blanks."""
    unknown_models = sorted(set(reported) - set(table.index))
    if unknown_models:
        raise KeyError(f"reported figures for models this notebook did not record: "
                       f"{unknown_models}; recorded: {list(table.index)}")
    splits = [split for split in SPLITS if any(split in row for row in reported.values())]
    unknown_splits = {key for row in reported.values() for key in row} - set(SPLITS)
    if unknown_splits:
        raise ValueError(f"reported splits must be {', '.join(SPLITS)}; "
                         f"got {sorted(unknown_splits)}")
    comparison = pd.DataFrame({"parameters": table["parameters"]}, index=table.index)
    for split, column in SPLITS.items():
        comparison[split] = table[column] * 100
    comparison["train − validation"] = (table["train_accuracy"] - table["val_accuracy"]) * 100
    for split in splits:
        comparison[f"reported {split}"] = [reported.get(model, {}).get(split, np.nan)
                                           for model in table.index]
    comparison.index.name = "model"
    return comparison.round(2)


def plot_measured_vs_reported(comparison: pd.DataFrame, *, title: str) -> Figure:
    """Grouped bars per model: measured (solid) beside reported (hatched), for each split a
    source reported; "not reported" where it gave no figure."""
    splits = [column.removeprefix("reported ") for column in comparison.columns
              if column.startswith("reported ")]
    if not splits:
        raise ValueError("the comparison holds no reported column")
    columns = [(split, kind) for split in splits for kind in ("measured", "reported")]
    positions = np.arange(len(comparison))
    width = 0.8 / len(columns)
    fig, ax = plt.subplots(figsize=(max(7.0, 2.2 * len(comparison)), 4.5), layout="constrained")
    for offset, (split, kind) in enumerate(columns):
        values = comparison[split if kind == "measured" else f"reported {split}"]
        x = positions + (offset - (len(columns) - 1) / 2) * width
        color = f"C{list(SPLITS).index(split)}"
        ax.bar(x, values, width, color=color, alpha=0.45 if kind == "reported" else 1.0,
               hatch="//" if kind == "reported" else None, label=f"{kind} {split}")
        if kind == "reported":
            for position, value in zip(x, values, strict=True):
                if np.isnan(value):
                    ax.text(position, 1, "not\nreported", ha="center", fontsize=7)
    ax.set_xticks(positions, [str(name).replace(" + ", "\n+ ") for name in comparison.index])
    ax.set_title(title)
    ax.set_xlabel("Model")
    ax.set_ylabel("Accuracy (%)")
    ax.set_ylim(0, 100)
    ax.legend(loc="upper left", bbox_to_anchor=(1, 1), fontsize=8)
    return fig
