"""Augmentation that runs inside the model, on the accelerator, inside the compiled step.

Keras's own `RandomTranslation`, `RandomCrop`, `RandomRotation` and `RandomZoom` set
`supports_jit = False`, which turns XLA compilation off for the whole model they sit in, and
`RandomCrop` draws one offset for the whole batch. `RandomPadCrop` does the classic CIFAR
translation (pad, then crop back at a random offset per image) with `keras.ops` only, so the
model stays compiled on every backend. `RandomCutout` masks a square of each image the same
way, with comparisons only."""

from __future__ import annotations

import keras
from keras import ops


def _check_pixels(name: str, value: object) -> None:
    """A layer's size in pixels must be a whole number of at least 1 (True is no size)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int (pixels), got {value!r}")


@keras.saving.register_keras_serializable(package="helpers")
class RandomPadCrop(keras.layers.Layer):
    """Pad each image by `padding` pixels (mirroring its border) and crop it back to its size
    at a random offset of its own: a random shift of up to `padding` pixels each way.

    The crop is two batched one-hot matrix products (rows, then columns), which an accelerator
    does as fast as any gather and which every backend compiles. Inactive outside training."""

    def __init__(self, padding: int = 4, seed: int | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        _check_pixels("padding", padding)
        self.padding, self.seed = padding, seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training: bool | None = None):
        if not training:
            return images
        pad = self.padding
        height, width = images.shape[1], images.shape[2]
        padded = ops.pad(images, [[0, 0], [pad, pad], [pad, pad], [0, 0]], mode="reflect")
        offsets = keras.random.randint((ops.shape(images)[0], 2), 0, 2 * pad + 1,
                                       seed=self.seed_generator)
        rows = ops.one_hot(offsets[:, :1] + ops.arange(height)[None, :], height + 2 * pad,
                           dtype=images.dtype)
        cols = ops.one_hot(offsets[:, 1:] + ops.arange(width)[None, :], width + 2 * pad,
                           dtype=images.dtype)
        shifted_rows = ops.einsum("bip,bpqc->biqc", rows, padded)
        return ops.einsum("bjq,biqc->bijc", cols, shifted_rows)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "padding": self.padding, "seed": self.seed}


@keras.saving.register_keras_serializable(package="helpers")
class RandomCutout(keras.layers.Layer):
    """Set a random `size`×`size` square of each image to 0, a square of its own per image,
    wholly inside the image: Cutout (DeVries and Taylor, 2017, arXiv:1708.04552) as Page's
    24-epoch ResNet-9 recipe placed it. Put it after the normalisation, so 0 is the average
    pixel. The mask is built from comparisons of row and column indices, which every backend
    compiles. Inactive outside training."""

    def __init__(self, size: int = 8, seed: int | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        _check_pixels("size", size)
        self.size, self.seed = size, seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape: tuple) -> None:
        height, width = input_shape[1], input_shape[2]
        if self.size > min(height, width):
            raise ValueError(f"a {self.size}×{self.size} cutout does not fit in {height}×{width} "
                             "images: choose a smaller size")

    def call(self, images, training: bool | None = None):
        if not training:
            return images
        height, width = images.shape[1], images.shape[2]
        # The square's top-left corner, uniform over the positions that keep it inside.
        corners = ops.floor(keras.random.uniform((ops.shape(images)[0], 2),
                                                 seed=self.seed_generator)
                            * ops.convert_to_tensor([height - self.size + 1,
                                                     width - self.size + 1], "float32"))
        corners = ops.cast(corners, "int32")
        rows = ops.arange(height)[None, :] - corners[:, :1]
        cols = ops.arange(width)[None, :] - corners[:, 1:]
        in_rows = ops.logical_and(rows >= 0, rows < self.size)
        in_cols = ops.logical_and(cols >= 0, cols < self.size)
        square = ops.logical_and(in_rows[:, :, None], in_cols[:, None, :])[..., None]
        return ops.where(square, ops.zeros_like(images), images)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "size": self.size, "seed": self.seed}
