"""Reliability bins, expected calibration error and temperature scaling, against answers worked
out by hand and synthetic predictions whose calibration is known by construction."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from helpers.diagnostics import calibration  # noqa: E402


def two_class(confidences: list[float], predicted: list[int]) -> np.ndarray:
    confidences = np.asarray(confidences)
    probabilities = np.stack([1 - confidences, confidences], axis=1)
    flip = np.asarray(predicted) == 0
    probabilities[flip] = probabilities[flip][:, ::-1]
    return probabilities


def test_ece_of_an_overconfident_example_matches_the_hand_computation() -> None:
    # Four predictions at 0.9 confidence, half right: |0.5 - 0.9| = 0.4 in one bin holding
    # 4 of 6 predictions. Two at 0.6, both right: |1.0 - 0.6| = 0.4 in a bin holding 2 of 6.
    probabilities = two_class([0.9, 0.9, 0.9, 0.9, 0.6, 0.6], [1, 1, 1, 1, 1, 1])
    labels = np.array([1, 1, 0, 0, 1, 1])
    assert calibration.expected_calibration_error(probabilities, labels) == pytest.approx(
        4 / 6 * 0.4 + 2 / 6 * 0.4)
    bins = calibration.reliability_bins(probabilities, labels)
    assert len(bins) == 15 and bins["count"].sum() == 6
    filled = bins[bins["count"] > 0]
    assert filled["count"].tolist() == [2, 4]
    assert filled["accuracy"].tolist() == [1.0, 0.5]


def test_bins_include_their_upper_edge() -> None:
    probabilities = two_class([0.6, 0.6 + 1e-9], [1, 1])
    bins = calibration.reliability_bins(probabilities, np.array([1, 1]), n_bins=5)
    assert bins["count"].tolist() == [0, 0, 1, 1, 0]  # 0.6 closes (0.4, 0.6]


def test_ece_of_perfectly_calibrated_synthetic_predictions_is_near_zero() -> None:
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.5, 1.0, 200_000)
    right = rng.random(200_000) < confidence  # right with exactly the stated probability
    probabilities = two_class(confidence.tolist(), [1] * len(confidence))
    labels = np.where(right, 1, 0)
    assert calibration.expected_calibration_error(probabilities, labels) < 0.01


def test_fit_temperature_recovers_a_known_temperature() -> None:
    """Labels drawn from softmax(z), logits shown as 2.5 z: the best T undoes the 2.5."""
    rng = np.random.default_rng(1)
    true_logits = rng.normal(scale=2.0, size=(20_000, 10))
    probabilities = calibration.softmax(true_logits)
    labels = np.array([rng.choice(10, p=row) for row in probabilities])
    temperature = calibration.fit_temperature(2.5 * true_logits, labels)
    assert temperature == pytest.approx(2.5, rel=0.05)
    fitted = calibration.softmax(2.5 * true_logits, temperature)
    assert (calibration.expected_calibration_error(fitted, labels)
            < calibration.expected_calibration_error(calibration.softmax(2.5 * true_logits),
                                                     labels))
    np.testing.assert_array_equal(fitted.argmax(axis=1), true_logits.argmax(axis=1))


def test_temperature_below_one_sharpens_an_underconfident_model() -> None:
    rng = np.random.default_rng(2)
    true_logits = rng.normal(scale=3.0, size=(20_000, 10))
    labels = np.array([rng.choice(10, p=row) for row in calibration.softmax(true_logits)])
    assert calibration.fit_temperature(0.5 * true_logits, labels) == pytest.approx(0.5,
                                                                                   rel=0.05)


def test_bad_input_fails_clearly() -> None:
    with pytest.raises(ValueError, match="at least one prediction"):
        calibration.fit_temperature(np.zeros((0, 10)), np.zeros(0, int))
    with pytest.raises(ValueError, match="labels"):
        calibration.fit_temperature(np.zeros((3, 10)), np.zeros(2, int))
    with pytest.raises(ValueError, match="integer"):
        calibration.expected_calibration_error(np.full((2, 2), 0.5), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="sum to 1"):
        calibration.expected_calibration_error(np.ones((2, 2)), np.array([0, 1]))
    with pytest.raises(ValueError, match="positive"):
        calibration.softmax(np.zeros((1, 2)), temperature=0.0)
    with pytest.raises(ValueError, match="n_bins"):
        calibration.reliability_bins(np.full((2, 2), 0.5), np.array([0, 1]), n_bins=0)


def test_the_reliability_diagram_draws_one_titled_panel_per_set() -> None:
    probabilities = two_class([0.9, 0.7, 0.55], [1, 0, 1])
    fig = calibration.plot_reliability_diagrams(
        {"before": probabilities, "after": probabilities}, np.array([1, 0, 0]), title="t")
    axes = fig.get_axes()
    assert len(axes) == 2 and axes[0].get_title().startswith("before: ECE")
    assert axes[0].get_xlabel() and axes[0].get_ylabel() and fig._suptitle.get_text() == "t"
