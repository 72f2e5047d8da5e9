"""What a trained network looks at: input gradients (saliency), Grad-CAM, feature maps.

A gradient is the one thing Keras 3 leaves to its backend: TensorFlow records operations on a
tape, JAX transforms a function into its gradient function, PyTorch follows the graph its
tensors carry. Each has a small function here, and `value_and_gradient` calls the one of the
active backend, so the notebook runs the same cells on every backend."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import keras
import numpy as np


def tensorflow_gradient(function: Callable, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """TensorFlow: run `function` under a GradientTape watching `x`, then ask the tape."""
    import tensorflow as tf  # only under the TensorFlow backend, so JAX needs no TensorFlow

    x = tf.convert_to_tensor(x, dtype=tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)  # x is a constant, not a variable: the tape must be told to follow it
        value = function(x)
    return value.numpy(), tape.gradient(value, x).numpy()


def jax_gradient(function: Callable, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """JAX: `jax.value_and_grad` turns `function` into one returning its gradient as well."""
    import jax
    import jax.numpy as jnp

    value, gradient = jax.value_and_grad(function)(jnp.asarray(x, dtype=jnp.float32))
    return np.asarray(value), np.asarray(gradient)


def torch_gradient(function: Callable, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch: a tensor that requires a gradient, then `torch.autograd.grad` back to it."""
    import torch

    # Keras puts the tensor on its device (a GPU when there is one); a fresh leaf that
    # requires a gradient is what autograd differentiates with respect to.
    x = keras.ops.convert_to_tensor(np.asarray(x, dtype=np.float32)).detach()
    x.requires_grad_(True)
    value = function(x)
    (gradient,) = torch.autograd.grad(value, x)
    return value.detach().cpu().numpy(), gradient.detach().cpu().numpy()


GRADIENT_FUNCTIONS = {"tensorflow": tensorflow_gradient, "jax": jax_gradient,
                      "torch": torch_gradient}


def gradient_function(backend: str | None = None) -> Callable:
    """The gradient function of `backend` (default: Keras's active backend)."""
    backend = backend or keras.backend.backend()
    if backend not in GRADIENT_FUNCTIONS:
        raise ValueError(f"no gradient function for the backend {backend!r}; "
                         f"choose from {', '.join(GRADIENT_FUNCTIONS)}")
    return GRADIENT_FUNCTIONS[backend]


def value_and_gradient(function: Callable, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`function(x)` (a scalar) and its gradient with respect to `x`, as NumPy arrays, with the
    active backend. `function` must use `keras.ops` (or the backend's own operations)."""
    return gradient_function()(function, x)


def _check_images(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"expected a batch of images (N, H, W, C), got shape {images.shape}")
    return images


def _class_indices(logits: np.ndarray, class_indices: Sequence[int] | np.ndarray | None
                   ) -> np.ndarray:
    if class_indices is None:
        return logits.argmax(axis=1)
    class_indices = np.asarray(class_indices, dtype=int).reshape(-1)
    if len(class_indices) != len(logits):
        raise ValueError(f"{len(class_indices)} class indices for {len(logits)} images")
    if class_indices.min() < 0 or class_indices.max() >= logits.shape[1]:
        raise ValueError(f"class indices must lie in [0, {logits.shape[1]})")
    return class_indices


def _selected_score(model: Callable, class_indices: np.ndarray, num_classes: int) -> Callable:
    """x -> the sum over the batch of each image's chosen logit. Images do not interact in
    inference mode, so the gradient of the sum holds each image's own gradient."""
    mask = keras.ops.convert_to_tensor(np.eye(num_classes, dtype=np.float32)[class_indices])

    def score(x):
        return keras.ops.sum(model(x, training=False) * mask)

    return score


def float_input_twin(model: keras.Model) -> keras.Model:
    """A copy of `model` that takes float32 pixels (0-255) instead of uint8, with the same
    weights. A uint8 input is cast to integers on the way in, and integers have no gradient:
    saliency needs the derivative of the output with respect to each pixel's value."""
    if len(model.inputs) != 1:
        raise ValueError("expected a model with one input")
    inputs = keras.Input(model.input.shape[1:], dtype="float32", name="float_images")
    twin = keras.models.clone_model(model, input_tensors=inputs)
    twin.set_weights(model.get_weights())
    return twin


def saliency(model: keras.Model, images: np.ndarray,
             class_indices: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
    """Simonyan et al.'s (2014) saliency map: |d class score / d pixel|, the largest over the
    colour channels, for each image (N, H, W). `model` takes float images and outputs logits;
    the class is each image's predicted one unless `class_indices` says otherwise."""
    images = _check_images(images).astype(np.float32)
    logits = keras.ops.convert_to_numpy(model(images, training=False))
    chosen = _class_indices(logits, class_indices)
    _, gradient = value_and_gradient(_selected_score(model, chosen, logits.shape[1]), images)
    return np.abs(gradient).max(axis=-1)


def split_at(model: keras.Model, layer_name: str) -> tuple[keras.Model, keras.Model]:
    """(images -> the layer's output, that output -> the model's output): the two halves of a
    functional model around one layer, sharing its weights. Grad-CAM differentiates the
    second half with respect to its input; everything after the layer must depend on the
    layer's output alone."""
    layer = model.get_layer(layer_name)
    features = keras.Model(model.input, layer.output, name=f"{model.name}_to_{layer_name}")
    head = keras.Model(layer.output, model.output, name=f"{model.name}_after_{layer_name}")
    return features, head


def grad_cam(features: keras.Model, head: keras.Model, images: np.ndarray,
             class_indices: Sequence[int] | np.ndarray | None = None, *,
             size: tuple[int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Selvaraju et al.'s (2017) Grad-CAM: weight each channel of a feature map by the mean
    gradient of the class score over the map, add the channels up, keep the positive part.
    Returns (maps (N, h, w) or resized to `size` (bilinear), the logits). `features` maps
    images to the feature map, `head` the feature map to logits (see `split_at`)."""
    images = _check_images(images)
    feature_map = keras.ops.convert_to_numpy(features(images, training=False)).astype(np.float32)
    if feature_map.ndim != 4:
        raise ValueError(f"the feature map must be (N, h, w, channels), got {feature_map.shape}")
    logits = keras.ops.convert_to_numpy(head(feature_map, training=False))
    chosen = _class_indices(logits, class_indices)
    _, gradient = value_and_gradient(_selected_score(head, chosen, logits.shape[1]),
                                     feature_map)
    weights = gradient.mean(axis=(1, 2), keepdims=True)  # one weight per channel and image
    cam = np.maximum((weights * feature_map).sum(axis=-1), 0.0)
    if size is not None:
        cam = keras.ops.convert_to_numpy(
            keras.ops.image.resize(cam[..., None], size, interpolation="bilinear"))[..., 0]
        cam = np.maximum(cam, 0.0)
    return cam, logits


def normalise_maps(maps: np.ndarray) -> np.ndarray:
    """Each map scaled to [0, 1] by its own maximum (a map of zeros stays zeros), for display."""
    maps = np.asarray(maps, dtype=np.float32)
    peak = maps.reshape(len(maps), -1).max(axis=1).reshape(-1, *([1] * (maps.ndim - 1)))
    return np.divide(maps, peak, out=np.zeros_like(maps), where=peak > 0)


def layer_outputs(model: keras.Model, images: np.ndarray, layer_names: Sequence[str]
                  ) -> dict[str, np.ndarray]:
    """The outputs of the named layers for `images`, as NumPy arrays (inference mode)."""
    if not layer_names:
        raise ValueError("name at least one layer")
    probe = keras.Model(model.input, [model.get_layer(name).output for name in layer_names])
    outputs = probe(_check_images(images), training=False)
    outputs = outputs if isinstance(outputs, list | tuple) else [outputs]
    return {name: keras.ops.convert_to_numpy(output)
            for name, output in zip(layer_names, outputs, strict=True)}
