"""Transfer learning's plumbing: a task split into source and target classes, few-label
subsets, a backbone wrapped with a new head, and which of its layers fine-tuning unfreezes.

Notebook 09 writes each of these in plain Keras once before it calls them here in loops."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import keras
import numpy as np

from helpers.data import Splits
from helpers.modern.augment import RandomPadCrop


def split_by_class(splits: Splits, source_classes: Sequence[str]) -> tuple[Splits, Splits]:
    """Two tasks from one dataset: the images of `source_classes`, and those of every other
    class, each with labels renumbered from 0 in the dataset's class order."""
    unknown = sorted(set(source_classes) - set(splits.class_names))
    if unknown:
        raise ValueError(f"unknown classes {unknown}; the dataset has {list(splits.class_names)}")
    source = [name for name in splits.class_names if name in source_classes]
    target = [name for name in splits.class_names if name not in source_classes]
    if not source or not target:
        raise ValueError("source_classes must name some of the classes, not none or all")
    return _keep_classes(splits, source), _keep_classes(splits, target)


def _keep_classes(splits: Splits, names: list[str]) -> Splits:
    old_index = [splits.class_names.index(name) for name in names]
    new_label = np.full(len(splits.class_names), -1, np.int64)
    new_label[old_index] = np.arange(len(names))
    arrays = {}
    for split in ("train", "val", "test"):
        labels = getattr(splits, f"y_{split}")
        keep = np.isin(labels, old_index)
        arrays[f"x_{split}"] = getattr(splits, f"x_{split}")[keep]
        arrays[f"y_{split}"] = new_label[labels[keep]].astype(labels.dtype)
    return replace(splits, **arrays, class_names=tuple(names),
                   source=f"{splits.source}, classes {', '.join(names)}")


def per_class_subset(images: np.ndarray, labels: np.ndarray, per_class: int | None, *,
                     seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`per_class` images of every class drawn with `seed` (all of them for None), shuffled."""
    if per_class is None:
        return images, labels
    if isinstance(per_class, bool) or not isinstance(per_class, int) or per_class < 1:
        raise ValueError(f"per_class must be a positive int or None, got {per_class!r}")
    classes, counts = np.unique(labels, return_counts=True)
    if per_class > counts.min():
        raise ValueError(f"per_class={per_class} exceeds the {counts.min()} images of the "
                         f"smallest class; use a smaller number or None for all")
    rng = np.random.default_rng(seed)
    chosen = np.concatenate([rng.choice(np.flatnonzero(labels == c), per_class, replace=False)
                             for c in classes])
    rng.shuffle(chosen)
    return images[chosen], labels[chosen]


def transfer_model(
    base: keras.Model,
    preprocessing: keras.layers.Layer,
    *,
    num_classes: int,
    input_size: int | None = None,
    image_shape: tuple[int, int, int] = (32, 32, 3),
    base_training: bool | None = False,
    augment: bool = True,
    dropout: float = 0.2,
    seed: int | None = None,
    name: str | None = None,
) -> keras.Model:
    """uint8 images -> flip and shift (training only) -> resized to `input_size` ->
    `preprocessing` -> `base` -> global average pooling -> dropout -> logits.

    `base_training=False` calls the backbone in inference mode, the Keras guide's idiom for a
    pretrained base; None lets training decide (for a backbone trained here from scratch).
    Keras 3.15's `fit` overrides that recorded `training=False`, though: what keeps BatchNorm's
    statistics fixed on every Keras 3 version is its layers being frozen (`trainable=False`),
    which `unfreeze_top` ensures."""
    images = keras.Input(image_shape, dtype="uint8", name="images")
    x = keras.layers.Identity()(images)
    if augment:
        x = keras.layers.RandomFlip("horizontal", seed=seed)(x)
        x = RandomPadCrop(4, seed=seed)(x)
    if input_size is not None and input_size != image_shape[0]:
        x = keras.layers.Resizing(input_size, input_size, name=f"resize_to_{input_size}")(x)
    x = preprocessing(x)
    x = base(x, training=base_training)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    x = keras.layers.Dropout(dropout, seed=seed, name="head_dropout")(x)
    logits = keras.layers.Dense(num_classes, dtype="float32", name="logits")(x)
    return keras.Model(images, logits, name=name or f"{base.name}_transfer")


def split_at_head(model: keras.Model) -> tuple[keras.Model, keras.Model]:
    """(features, head) of a `transfer_model`: images to pooled features, and pooled features
    to logits. They share the model's layers, so a head trained on features computed once
    (the Keras guide's "feature extraction" workflow) is the model's own head: the model then
    classifies images as the head did their features."""
    pooled = model.get_layer("pool").output
    features = keras.Model(model.input, pooled, name=f"{model.name}_features")
    head_input = keras.Input(pooled.shape[1:], name="features")
    logits = model.get_layer("logits")(model.get_layer("head_dropout")(head_input))
    return features, keras.Model(head_input, logits, name=f"{model.name}_head")


def unfreeze_top(base: keras.Model, count: int) -> int:
    """Make the last `count` layers of `base` trainable and the rest frozen, BatchNorm always
    frozen; return how many weights will train. Recompile the model afterwards: `compile`
    fixes which weights the optimizer updates."""
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= len(base.layers):
        raise ValueError(f"count must be an int from 0 to {len(base.layers)}, got {count!r}")
    base.trainable = True
    for position, layer in enumerate(base.layers):
        unfrozen = position >= len(base.layers) - count
        layer.trainable = unfrozen and not isinstance(layer, keras.layers.BatchNormalization)
    return int(sum(np.prod(weight.shape) for weight in base.trainable_weights))
