"""helpers.flops: the backend's count of a step's arithmetic, checked against hand counts."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from helpers import flops

BATCH = 32
# PyTorch's FlopCounterMode counts matrix products and convolutions only: no bias addition.
BIAS = 0 if keras.backend.backend() == "torch" else 1


def _compiled(*layers: keras.layers.Layer, shape: tuple[int, ...]) -> keras.Model:
    model = keras.Sequential([keras.Input(shape), *layers])
    model.compile(optimizer=keras.optimizers.SGD(0.1),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def _batch(*shape: int) -> np.ndarray:
    return np.zeros((BATCH, *shape), "float32")


def test_a_dense_layers_prediction_costs_a_multiply_add_per_weight_and_image():
    model = _compiled(keras.layers.Dense(10), shape=(100,))
    by_hand = BATCH * (2 * 100 * 10 + 10 * BIAS)  # a multiply and an add per weight, the bias
    assert flops.inference_flops(model, _batch(100)) == by_hand


def test_a_convolutions_prediction_costs_a_multiply_add_per_weight_and_output_position():
    model = _compiled(keras.layers.Conv2D(4, 3), shape=(8, 8, 3))  # "valid": 6 x 6 outputs
    by_hand = BATCH * (6 * 6 * 4 * (2 * 3 * 3 * 3) + 6 * 6 * 4 * BIAS)
    assert flops.inference_flops(model, _batch(8, 8, 3)) == by_hand


def test_a_dense_training_step_costs_the_forward_pass_the_weight_gradient_and_the_update():
    model = _compiled(keras.layers.Dense(10), shape=(1000,))
    forward = BATCH * (2 * 1000 * 10 + 10 * BIAS)
    weight_gradient = BATCH * (2 * 1000 * 10 + 10 * BIAS)  # x^T · dy, the bias's sum over images
    # The images need no gradient. The SGD update (w - learning_rate * g, 1 or 2 FLOPs per
    # weight) and the loss on 32 x 10 logits add under 2% more, which each backend counts its
    # own way (TensorFlow leaves out the subtraction, XLA counts the exponentials, PyTorch
    # neither).
    by_hand = forward + weight_gradient
    counted = flops.train_step_flops(model, _batch(1000), np.zeros(BATCH, "int32"))
    assert by_hand <= counted <= 1.02 * by_hand


def test_training_flops_are_the_steps_times_one_step_and_counting_changes_no_weight():
    model = _compiled(keras.layers.Dense(10), shape=(100,))
    weights = [w.copy() for w in model.get_weights()]
    x, y = _batch(100), np.zeros(BATCH, "int32")
    step = flops.train_step_flops(model, x, y)
    assert flops.training_flops(model, (x, y), steps=7) == 7 * step
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights(), strict=True))


def test_counting_a_step_leaves_the_batch_normalisation_statistics_as_they_were():
    model = _compiled(keras.layers.Conv2D(4, 3), keras.layers.BatchNormalization(),
                      keras.layers.Flatten(), keras.layers.Dense(10), shape=(8, 8, 3))
    before = [w.copy() for w in model.get_weights()]
    flops.train_step_flops(model, _batch(8, 8, 3), np.zeros(BATCH, "int32"))
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))


def test_prediction_flops_scale_one_batch_to_the_images_asked_for():
    model = _compiled(keras.layers.Dense(10), shape=(100,))
    per_image = 2 * 100 * 10 + 10 * BIAS
    assert flops.prediction_flops(model, _batch(100), 1000) == pytest.approx(1000 * per_image)


def test_an_uncompiled_or_unbuilt_model_is_refused_with_what_to_do():
    model = keras.Sequential([keras.layers.Dense(10)])
    with pytest.raises(ValueError, match="compile"):
        flops.train_step_flops(model, _batch(100), np.zeros(BATCH, "int32"))
    with pytest.raises(ValueError, match="built"):
        flops.inference_flops(model, _batch(100))


def test_a_backend_without_a_cost_analysis_is_refused_and_training_flops_says_none(monkeypatch):
    model = _compiled(keras.layers.Dense(10), shape=(100,))
    monkeypatch.setattr(keras.backend, "backend", lambda: "numpy")
    with pytest.raises(flops.FlopCountUnavailable, match="JAX, TensorFlow or PyTorch"):
        flops.train_step_flops(model, _batch(100), np.zeros(BATCH, "int32"))
    assert flops.training_flops(model, (_batch(100), np.zeros(BATCH, "int32")), 3) is None
    assert flops.prediction_flops(model, _batch(100), 1000) is None
