"""Gradients with the active backend, saliency, Grad-CAM and layer outputs: checked against
answers known by hand, so they hold under TensorFlow and under JAX alike."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from helpers.diagnostics import explain
from helpers.modern import resnet


def test_the_active_backends_gradient_of_a_sum_of_squares_is_twice_x() -> None:
    x = np.arange(-3, 3, dtype=np.float32).reshape(2, 3)
    value, gradient = explain.value_and_gradient(lambda z: keras.ops.sum(z * z), x)
    assert float(value) == pytest.approx(float((x * x).sum()))
    np.testing.assert_allclose(gradient, 2 * x, rtol=1e-6)


def test_an_unknown_backend_is_named_with_the_choices() -> None:
    with pytest.raises(ValueError, match="tensorflow, jax, torch"):
        explain.gradient_function("mxnet")
    assert explain.gradient_function() is explain.GRADIENT_FUNCTIONS[keras.backend.backend()]


def linear_model() -> keras.Model:
    """logits = flattened image @ W, so d logit_k / d pixel = W[:, k], known exactly."""
    inputs = keras.Input((4, 4, 3))
    dense = keras.layers.Dense(2, use_bias=False)
    model = keras.Model(inputs, dense(keras.layers.Flatten()(inputs)))
    weights = np.random.default_rng(0).normal(size=(48, 2)).astype(np.float32)
    dense.set_weights([weights])
    return model


def test_saliency_is_the_largest_absolute_input_gradient_over_channels() -> None:
    model = linear_model()
    weights = model.get_weights()[0]
    images = np.random.default_rng(1).random((3, 4, 4, 3), dtype=np.float32)
    maps = explain.saliency(model, images, class_indices=[0, 1, 1])
    assert maps.shape == (3, 4, 4)
    for index, k in enumerate([0, 1, 1]):
        expected = np.abs(weights[:, k].reshape(4, 4, 3)).max(axis=-1)
        np.testing.assert_allclose(maps[index], expected, rtol=1e-5)


def test_saliency_rejects_a_wrong_shape_and_wrong_classes() -> None:
    with pytest.raises(ValueError, match=r"\(N, H, W, C\)"):
        explain.saliency(linear_model(), np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError, match="class indices"):
        explain.saliency(linear_model(), np.zeros((1, 4, 4, 3), np.float32), class_indices=[5])


@pytest.fixture(scope="module")
def small_resnet() -> keras.Model:
    """ResNet-9's shape in miniature (uint8 in, normalisation and a random flip inside, a
    residual block, global max pooling, a dense layer, logits scaled by 1/8): every weight
    shape costs a compilation of its initializer under JAX, so few layers keep the test fast."""
    images, x = resnet.inputs_block((32, 32, 3), np.full(3, 120.0), np.full(3, 4000.0),
                                    augment=True, seed=0)
    x = keras.layers.MaxPooling2D(4)(resnet.conv_bn(x, 4))
    x = resnet.residual(x, 4)
    x = keras.layers.GlobalMaxPooling2D()(x)
    logits = keras.layers.Rescaling(0.125)(keras.layers.Dense(10, use_bias=False)(x))
    return keras.Model(images, logits)


def test_the_float_twin_predicts_as_the_uint8_model_and_has_a_pixel_gradient(
        small_resnet: keras.Model) -> None:
    model = small_resnet
    twin = explain.float_input_twin(model)
    images = np.random.default_rng(2).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    # training=False everywhere: Keras's RandomFlip flips when called without it
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(twin(images.astype(np.float32), training=False)),
        keras.ops.convert_to_numpy(model(images, training=False)), atol=1e-5)
    maps = explain.saliency(twin, images.astype(np.float32))
    assert maps.shape == (2, 32, 32) and maps.max() > 0


def test_grad_cam_is_non_negative_image_sized_and_follows_the_feature_map(
        small_resnet: keras.Model) -> None:
    model = small_resnet
    features, head = explain.split_at(model, model.layers[-4].name)  # the last residual Add
    images = np.random.default_rng(3).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(head(features(images, training=False), training=False)),
        keras.ops.convert_to_numpy(model(images, training=False)), atol=1e-5)
    cams, logits = explain.grad_cam(features, head, images, size=(32, 32))
    assert cams.shape == (2, 32, 32) and logits.shape == (2, 10) and cams.min() >= 0


def test_grad_cam_is_zero_where_the_feature_map_is_zero() -> None:
    """A feature map that is 0 on its left half: the weighted sum is 0 there, whatever the
    weights, and stays 0 after upsampling away from the border between the halves."""
    maps = np.ones((1, 4, 4, 2), np.float32)
    maps[:, :, :2] = 0.0
    maps[..., 1] = 2.0 * maps[..., 1]
    features = keras.Sequential([keras.Input((4, 4, 2)), keras.layers.Identity()])
    pooled = keras.Input((4, 4, 2))
    head = keras.Model(pooled, keras.layers.Dense(3)(keras.layers.GlobalAveragePooling2D()(
        pooled)))
    head.layers[-1].set_weights([np.array([[1.0, -1.0, 0.0], [1.0, 0.5, 0.0]], np.float32),
                                 np.zeros(3, np.float32)])
    raw, _ = explain.grad_cam(features, head, maps, class_indices=[0])
    # d score / d map = W[c, 0] / 16 per position, so cam = (1 * 1 + 1 * 2) / 16 on the right
    np.testing.assert_allclose(raw[0, :, :2], 0.0)
    np.testing.assert_allclose(raw[0, :, 2:], 3.0 / 16, rtol=1e-6)
    resized, _ = explain.grad_cam(features, head, maps, class_indices=[0], size=(32, 32))
    assert resized.shape == (1, 32, 32)
    np.testing.assert_allclose(resized[0, :, :8], 0.0, atol=1e-7)
    # class 1 weighs channel 0 at -1 and channel 1 at 0.5: -1 + 1 = 0, nothing positive left
    zero, _ = explain.grad_cam(features, head, maps, class_indices=[1])
    np.testing.assert_allclose(zero, 0.0, atol=1e-7)


def test_normalise_maps_scales_each_map_by_its_own_peak() -> None:
    maps = np.array([[[0.0, 2.0]], [[0.0, 0.0]]], np.float32)
    np.testing.assert_allclose(explain.normalise_maps(maps), [[[0.0, 1.0]], [[0.0, 0.0]]])


def test_layer_outputs_returns_each_named_layers_activations(small_resnet: keras.Model) -> None:
    model = small_resnet
    names = [model.layers[6].name, model.layers[-3].name]  # the first ReLU, the pooling
    images = np.zeros((2, 32, 32, 3), np.uint8)
    outputs = explain.layer_outputs(model, images, names)
    assert list(outputs) == names
    assert outputs[names[0]].shape[:3] == (2, 32, 32)
    assert outputs[names[1]].shape == (2, 4)  # the pooled features
    with pytest.raises(ValueError, match="at least one"):
        explain.layer_outputs(model, images, [])
