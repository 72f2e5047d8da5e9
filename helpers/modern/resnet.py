"""ResNet-9, the network of David Page's DAWNBench entry (94% on CIFAR-10 in 24 epochs),
written in Keras so that the notebook and the time-to-accuracy benchmark train the same model.

The model takes uint8 images as they are stored: scaling, normalisation and (in training)
augmentation happen inside it, on the accelerator, so the input pipeline has nothing to do."""

from __future__ import annotations

import keras
import numpy as np

from helpers.modern.augment import RandomCutout, RandomPadCrop


def conv_bn(x, filters: int):
    """3x3 convolution -> BatchNorm -> ReLU. The convolution has no bias: BatchNorm's shift is
    one. Momentum 0.9 (Keras's default is 0.99) lets the running statistics keep up with
    weights that change fast in a short training."""
    x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
    x = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5)(x)
    return keras.layers.ReLU()(x)


def residual(x, filters: int):
    """Two conv_bn layers whose output is added to their input (an identity shortcut)."""
    return keras.layers.Add()([x, conv_bn(conv_bn(x, filters), filters)])


def inputs_block(image_shape: tuple[int, int, int], mean: np.ndarray, variance: np.ndarray, *,
                 augment: bool, seed: int | None, cutout: int = 0):
    """uint8 images in; normalised (and in training, flipped and shifted, and with `cutout`
    a square of that many pixels set to 0) float images out."""
    images = keras.Input(image_shape, dtype="uint8", name="images")
    x = keras.layers.Normalization(mean=mean, variance=variance, name="normalise")(images)
    if augment:
        x = keras.layers.RandomFlip("horizontal", seed=seed, name="flip")(x)
        x = RandomPadCrop(4, seed=seed, name="pad_crop")(x)
    if augment and cutout:
        x = RandomCutout(cutout, seed=seed, name="cutout")(x)
    return images, x


def _check_width(width: int) -> None:
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise ValueError(f"width must be a positive int, got {width!r}")


def body(x, width: int):
    """ResNet-9's convolutions, from normalised images to its last feature map (8x smaller)."""
    x = conv_bn(x, width)
    x = conv_bn(x, 2 * width)
    x = keras.layers.MaxPooling2D()(x)
    x = residual(x, 2 * width)
    x = conv_bn(x, 4 * width)
    x = keras.layers.MaxPooling2D()(x)
    x = conv_bn(x, 8 * width)
    x = keras.layers.MaxPooling2D()(x)
    return residual(x, 8 * width)


def resnet9_features(width: int = 64) -> keras.Model:
    """ResNet-9's convolutions alone, as a backbone: normalised float images of any size in,
    feature maps out (no pooling, no classifier), like a Keras Applications model with
    `include_top=False`."""
    _check_width(width)
    images = keras.Input((None, None, 3), name="normalised_images")
    return keras.Model(images, body(images, width), name=f"resnet9_features_w{width}")


def resnet9(
    mean: np.ndarray,
    variance: np.ndarray,
    *,
    num_classes: int = 10,
    width: int = 64,
    augment: bool = True,
    cutout: int = 0,
    image_shape: tuple[int, int, int] = (32, 32, 3),
    seed: int | None = None,
) -> keras.Model:
    """Page's ResNet-9: prep (64) -> [128, pool, residual] -> [256, pool] -> [512, pool,
    residual] -> global max pool -> linear layer scaled by 1/8. Outputs logits (float32 also
    under mixed precision). `mean` and `variance` are the training set's per-channel pixel
    statistics (0-255 scale); `width` scales every layer (64 is the original); `cutout`, with
    `augment`, masks a square of that many pixels (Page's 24-epoch recipe: 8; 0: none)."""
    _check_width(width)
    images, x = inputs_block(image_shape, mean, variance, augment=augment, seed=seed,
                             cutout=cutout)
    x = keras.layers.GlobalMaxPooling2D()(body(x, width))
    x = keras.layers.Dense(num_classes, use_bias=False, dtype="float32")(x)
    logits = keras.layers.Rescaling(0.125, dtype="float32", name="logits")(x)
    return keras.Model(images, logits, name=f"resnet9_w{width}")


def channel_statistics(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and variance of (N, H, W, C) images, for the Normalization layer."""
    if images.ndim != 4 or len(images) == 0:
        raise ValueError(f"expected a non-empty batch of images (N, H, W, C), got shape "
                         f"{images.shape}")
    pixels = images.reshape(-1, images.shape[-1]).astype(np.float64)
    return pixels.mean(axis=0), pixels.var(axis=0)
