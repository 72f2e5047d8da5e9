"""Figures every notebook needs. Each returns its matplotlib Figure, titled and labelled."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.metrics import ConfusionMatrixDisplay, classification_report

from helpers.training import TrainingRun


def _show_image(ax: plt.Axes, image: np.ndarray) -> None:
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        ax.imshow(image[..., 0], cmap="gray", vmin=0, vmax=1 if image.dtype.kind == "f" else 255)
    else:
        ax.imshow(image)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_image_grid(
    images: np.ndarray,
    titles: Sequence[str],
    *,
    title: str,
    ncols: int = 5,
    title_colors: Sequence[str] | None = None,
) -> Figure:
    """Images in a grid, each with a caption (e.g. its class); grayscale when one channel."""
    if len(images) != len(titles):
        raise ValueError(f"{len(images)} images but {len(titles)} titles")
    nrows = math.ceil(len(images) / ncols)
    # constrained layout makes room for two-line titles and the suptitle, however few rows
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.9 * ncols, 0.6 + 2.3 * nrows),
                             squeeze=False, layout="constrained")
    for index, ax in enumerate(axes.flat):
        if index < len(images):
            _show_image(ax, images[index])
            color = title_colors[index] if title_colors else "black"
            ax.set_title(titles[index], fontsize=9, color=color)
        else:
            ax.axis("off")
    fig.suptitle(title)
    return fig


def plot_training_curves(
    runs: Mapping[str, TrainingRun | pd.DataFrame], *, title: str = "Training curves"
) -> Figure:
    """Loss and accuracy per epoch for one or several runs: train solid, validation dashed."""
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(12, 4.2))
    for index, (name, run) in enumerate(runs.items()):
        history = run.history if isinstance(run, TrainingRun) else run
        epochs = np.arange(1, len(history) + 1)
        color = f"C{index}"
        for ax, metric in ((loss_ax, "loss"), (acc_ax, "accuracy")):
            # markers keep a one-epoch (smoke) run visible as a point
            ax.plot(epochs, history[metric], color=color, marker="o", markersize=3,
                    label=f"{name} (train)")
            ax.plot(epochs, history[f"val_{metric}"], color=color, linestyle="--", marker="o",
                    markersize=3, label=f"{name} (validation)")
    for ax, metric in ((loss_ax, "Loss"), (acc_ax, "Accuracy")):
        ax.set_xlabel("Epoch")
        ax.set_ylabel(metric)
        ax.set_title(f"{metric}: train (solid) vs validation (dashed)")
        ax.grid(alpha=0.3)
    acc_ax.legend(fontsize=8, loc="best")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_confusion_matrix(
    y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str], *, title: str
) -> Figure:
    """Confusion matrix with counts; rows are true classes, columns predictions."""
    fig, ax = plt.subplots(figsize=(8, 7))
    ConfusionMatrixDisplay.from_predictions(
        y_true, y_pred, labels=range(len(class_names)), display_labels=class_names,
        cmap="Blues", colorbar=False, ax=ax, xticks_rotation=45)
    ax.set_title(title)
    ax.set_xlabel("Predicted class")
    ax.set_ylabel("True class")
    fig.tight_layout()
    return fig


def plot_predictions(
    images: np.ndarray,
    y_true: np.ndarray,
    probabilities: np.ndarray,
    class_names: Sequence[str],
    *,
    title: str,
    count: int = 25,
) -> Figure:
    """The first `count` images, each titled with the predicted and the true class; mistakes
    are marked with a cross and red titles, so a reader sees right and wrong at a glance."""
    predicted = probabilities[:count].argmax(axis=1)
    titles, colors = [], []
    for index, guess in enumerate(predicted):
        right = guess == y_true[index]
        titles.append(f"{'' if right else '✗ '}pred: {class_names[guess]}\n"
                      f"true: {class_names[y_true[index]]}")
        colors.append("black" if right else "crimson")
    return plot_image_grid(images[:count], titles, title=title, title_colors=colors)


def plot_misclassified(
    images: np.ndarray,
    y_true: np.ndarray,
    probabilities: np.ndarray,
    class_names: Sequence[str],
    *,
    title: str,
    count: int = 25,
) -> Figure:
    """The most confident mistakes: each image with its true class, the predicted class and the
    probability the model gave it."""
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != y_true)
    if len(wrong) == 0:
        raise ValueError("no misclassified images to show")
    confidence = probabilities[wrong, predicted[wrong]]
    chosen = wrong[np.argsort(-confidence)][:count]
    titles = [f"true: {class_names[y_true[i]]}\npred: {class_names[predicted[i]]} "
              f"({probabilities[i, predicted[i]]:.0%})" for i in chosen]
    return plot_image_grid(images[chosen], titles, title=title,
                           title_colors=["crimson"] * len(chosen))


def classification_report_table(
    y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str]
) -> pd.DataFrame:
    """Precision, recall, F1 and support per class, then the macro and weighted averages.

    scikit-learn's scalar "accuracy" entry is left out: it is not a per-class row and would
    show as a misleading row of repeated numbers.
    """
    report = classification_report(y_true, y_pred, labels=range(len(class_names)),
                                   target_names=list(class_names), output_dict=True,
                                   zero_division=0)
    report.pop("accuracy", None)
    table = pd.DataFrame(report).T
    table["support"] = table["support"].astype(int)
    return table.round(3)

