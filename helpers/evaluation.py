"""Reading a classifier's mistakes: which classes it mixes up."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix


def most_confused_pairs(y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str],
                        *, top: int = 5) -> pd.DataFrame:
    """The `top` pairs of classes with the most mistakes between them, both directions summed
    (a cat called a dog and a dog called a cat are one confusion), most first."""
    counts = confusion_matrix(y_true, y_pred, labels=range(len(class_names)))
    np.fill_diagonal(counts, 0)
    rows = [(class_names[a], class_names[b], counts[a, b], counts[b, a],
             counts[a, b] + counts[b, a])
            for a in range(len(class_names)) for b in range(a + 1, len(class_names))]
    pairs = pd.DataFrame(rows, columns=["class A", "class B", "A called B", "B called A",
                                        "both directions"])
    pairs["share of all mistakes"] = (pairs["both directions"] / max(counts.sum(), 1)).round(3)
    return (pairs.sort_values("both directions", ascending=False, kind="stable")
            .head(top).reset_index(drop=True))
