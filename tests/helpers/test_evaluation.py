"""Finding the classes a classifier mixes up."""

import numpy as np

from helpers.evaluation import most_confused_pairs


def test_most_confused_pairs_sums_both_directions_and_sorts():
    y_true = np.array([0, 0, 0, 1, 1, 2, 2, 2])
    y_pred = np.array([1, 1, 0, 0, 1, 0, 2, 1])  # 0<->1: 3 mistakes, 0<->2: 1, 1<->2: 1
    pairs = most_confused_pairs(y_true, y_pred, ["cat", "dog", "car"], top=2)
    assert list(pairs.iloc[0]) == ["cat", "dog", 2, 1, 3, 0.6]
    assert len(pairs) == 2 and pairs["both directions"].tolist() == [3, 1]


def test_most_confused_pairs_of_a_perfect_classifier_are_all_zero():
    y = np.array([0, 1, 2])
    assert most_confused_pairs(y, y, ["a", "b", "c"])["both directions"].sum() == 0
