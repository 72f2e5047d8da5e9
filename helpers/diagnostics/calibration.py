"""Does 80% confidence mean 80% right? Reliability bins, expected calibration error (ECE),
temperature scaling (Guo et al., 2017, "On Calibration of Modern Neural Networks"), and the
reliability diagram. NumPy and SciPy only: calibration is measured on predictions, not
inside a model."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy.optimize import minimize_scalar

N_BINS = 15  # Guo et al.'s choice, the usual one for ECE
LOG_TEMPERATURE_BOUNDS = (-4.0, 4.0)  # T between e^-4 (about 0.02) and e^4 (about 55)


def _check_predictions(values: np.ndarray, labels: np.ndarray, what: str
                       ) -> tuple[np.ndarray, np.ndarray]:
    values = np.asarray(values, dtype=np.float64)
    labels = np.asarray(labels)
    if values.ndim != 2 or values.shape[1] < 2:
        raise ValueError(f"{what} must be (N, classes) with at least two classes, got shape "
                         f"{values.shape}")
    if len(values) == 0:
        raise ValueError(f"no {what}: calibration needs at least one prediction")
    if labels.shape != (len(values),):
        raise ValueError(f"expected {len(values)} labels, got shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be integer class indices, got dtype {labels.dtype}")
    if labels.min() < 0 or labels.max() >= values.shape[1]:
        raise ValueError(f"labels must lie in [0, {values.shape[1]})")
    return values, labels


def _check_probabilities(probabilities: np.ndarray, labels: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray]:
    probabilities, labels = _check_predictions(probabilities, labels, "probabilities")
    if probabilities.min() < 0 or not np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-3):
        raise ValueError("probabilities must be non-negative and sum to 1 per row "
                         "(apply a softmax to logits first)")
    return probabilities, labels


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Class probabilities from logits divided by `temperature` (T > 1 softens, T < 1
    sharpens; the predicted class never changes)."""
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    scaled -= scaled.max(axis=1, keepdims=True)  # the same probabilities, no overflow
    exp = np.exp(scaled)
    return exp / exp.sum(axis=1, keepdims=True)


def reliability_bins(probabilities: np.ndarray, labels: np.ndarray, *, n_bins: int = N_BINS
                     ) -> pd.DataFrame:
    """Predictions grouped by confidence (the top probability) into `n_bins` equal-width bins
    of (0, 1], each bin's lower edge excluded and upper included: per bin the count, the mean
    confidence and the accuracy (NaN where a bin is empty)."""
    probabilities, labels = _check_probabilities(probabilities, labels)
    if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive int, got {n_bins!r}")
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    index = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)
    rows = []
    for b in range(n_bins):
        members = index == b
        count = int(members.sum())
        rows.append({"lower": edges[b], "upper": edges[b + 1], "count": count,
                     "confidence": confidence[members].mean() if count else np.nan,
                     "accuracy": correct[members].mean() if count else np.nan})
    return pd.DataFrame(rows)


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, *,
                               n_bins: int = N_BINS) -> float:
    """ECE = sum over bins of (share of predictions in the bin) x |accuracy - mean confidence|,
    with `n_bins` equal-width confidence bins (15 by default, as Guo et al.). 0 is perfect."""
    bins = reliability_bins(probabilities, labels, n_bins=n_bins)
    filled = bins[bins["count"] > 0]
    share = filled["count"] / filled["count"].sum()
    return float((share * (filled["accuracy"] - filled["confidence"]).abs()).sum())


def negative_log_likelihood(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0
                            ) -> float:
    """Mean -log p(true class) of softmax(logits / temperature): the loss temperature scaling
    minimises."""
    logits, labels = _check_predictions(logits, labels, "logits")
    probabilities = softmax(logits, temperature)
    return float(-np.mean(np.log(np.maximum(probabilities[np.arange(len(labels)), labels],
                                            1e-300))))


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature T > 0 that minimises the negative log-likelihood of softmax(logits / T)
    on these (validation) predictions. Searched over log T, so T stays positive, within
    e^-4 to e^4."""
    logits, labels = _check_predictions(logits, labels, "logits")
    result = minimize_scalar(
        lambda log_t: negative_log_likelihood(logits, labels, float(np.exp(log_t))),
        bounds=LOG_TEMPERATURE_BOUNDS, method="bounded", options={"xatol": 1e-6})
    return float(np.exp(result.x))


def plot_reliability_diagrams(probabilities: Mapping[str, np.ndarray], labels: np.ndarray, *,
                              title: str, n_bins: int = N_BINS) -> Figure:
    """One reliability diagram per entry of `probabilities` (e.g. before and after temperature
    scaling), side by side: accuracy per confidence bin as bars, each bin's mean confidence as
    a red mark, the diagonal a perfectly calibrated model would follow, each bin's count above
    its bar and the ECE in the title."""
    if not probabilities:
        raise ValueError("give at least one set of probabilities")
    fig, axes = plt.subplots(1, len(probabilities), figsize=(5.2 * len(probabilities), 4.8),
                             squeeze=False, layout="constrained")
    for ax, (name, values) in zip(axes[0], probabilities.items(), strict=True):
        bins = reliability_bins(values, labels, n_bins=n_bins)
        ece = expected_calibration_error(values, labels, n_bins=n_bins)
        width = 1.0 / n_bins
        filled = bins[bins["count"] > 0]
        ax.bar(filled["lower"], filled["accuracy"], width=width, align="edge", color="C0",
               edgecolor="white", label="accuracy in the bin")
        ax.scatter(filled["lower"] + width / 2, filled["confidence"], marker="_", s=160,
                   linewidths=2.5, color="C3", zorder=3, label="mean confidence in the bin")
        ax.plot([0, 1], [0, 1], "k--", linewidth=1, label="perfect calibration")
        for row in filled.itertuples():
            ax.text(row.lower + width / 2, min(max(row.accuracy, row.confidence), 0.97) + 0.01,
                    f"{row.count}", ha="center", fontsize=7, rotation=90)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.08)
        ax.set_xlabel("Confidence (top probability)")
        ax.set_ylabel("Accuracy")
        ax.set_title(f"{name}: ECE {ece:.3f}")
        ax.legend(loc="upper left", fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    return fig
