"""Layer blocks that later notebooks stack into models.

Each block returns a list of layers, so it fits in `keras.Sequential([...])` with `*block(...)`
and in the functional API with a loop. The model a lesson teaches stays written out in its
notebook; these blocks are for the repetition around it."""

from __future__ import annotations

import keras


def _regularizer(l2: float) -> keras.regularizers.Regularizer | None:
    return keras.regularizers.L2(l2) if l2 else None


def dense_block(
    units: int,
    *,
    activation: str = "relu",
    batch_norm: bool = False,
    dropout: float = 0.0,
    l2: float = 0.0,
) -> list[keras.layers.Layer]:
    """Dense -> [BatchNorm] -> activation -> [Dropout].

    With BatchNorm the Dense layer drops its bias: BatchNorm's shift does that job."""
    layers: list[keras.layers.Layer] = [keras.layers.Dense(
        units, use_bias=not batch_norm, kernel_regularizer=_regularizer(l2))]
    if batch_norm:
        layers.append(keras.layers.BatchNormalization())
    layers.append(keras.layers.Activation(activation))
    if dropout:
        layers.append(keras.layers.Dropout(dropout))
    return layers


def conv_block(
    filters: int,
    *,
    convs: int = 1,
    kernel_size: int = 3,
    padding: str = "same",
    activation: str = "relu",
    batch_norm: bool = False,
    pool: str | None = "max",
    dropout: float = 0.0,
    l2: float = 0.0,
) -> list[keras.layers.Layer]:
    """`convs` x (Conv2D -> [BatchNorm] -> activation), then [2x2 pooling] and [Dropout].

    `pool` is "max", "average" or None."""
    if pool not in ("max", "average", None):
        raise ValueError(f"pool must be 'max', 'average' or None, got {pool!r}")
    layers: list[keras.layers.Layer] = []
    for _ in range(convs):
        layers.append(keras.layers.Conv2D(
            filters, kernel_size, padding=padding, use_bias=not batch_norm,
            kernel_regularizer=_regularizer(l2)))
        if batch_norm:
            layers.append(keras.layers.BatchNormalization())
        layers.append(keras.layers.Activation(activation))
    if pool == "max":
        layers.append(keras.layers.MaxPooling2D(2))
    elif pool == "average":
        layers.append(keras.layers.AveragePooling2D(2))
    if dropout:
        layers.append(keras.layers.Dropout(dropout))
    return layers


def print_layers(model: keras.Model, *, label: str = "total", names: bool = False) -> None:
    """One line per layer (type, or name with `names`, output shape, parameters), then the
    model's total, so a hand count can be checked against Keras line by line."""
    rows = [(layer.name if names else type(layer).__name__, str(tuple(layer.output.shape[1:])),
             f"{layer.count_params():,}") for layer in model.layers]
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    for kind, shape, count in rows:
        print(f"{kind:<{widths[0]}}  output {shape:<{widths[1]}}  parameters {count:>{widths[2]}}")
    print(f"{label} parameters: {model.count_params():,}")


def section_d_model_3(*, input_shape: tuple[int, ...] = (32, 32, 3),
                      num_classes: int = 10) -> keras.Sequential:
    """Section D's Model 3, exactly as notebook 05 teaches it and writes it out, for the
    notebooks that train it again (07 tunes it). Not compiled.

    Three blocks of two Conv2D (32, 64, 128 filters, 3x3, `same`, ELU, L2 1e-4, with bias),
    each followed by BatchNormalization, then 2x2 max-pooling and Dropout 0.2 / 0.3 / 0.4;
    Flatten; Dense(num_classes) with softmax. 309,290 parameters on 32x32x3 images, 10 classes.
    The softmax computes in float32 even under a mixed-precision policy, as TensorFlow's
    mixed-precision guide advises for a model's outputs; under float32 nothing changes."""
    layers: list[keras.layers.Layer] = [keras.Input(input_shape)]
    for filters, dropout in [(32, 0.2), (64, 0.3), (128, 0.4)]:
        for _ in range(2):
            layers += [keras.layers.Conv2D(filters, (3, 3), padding="same", activation="elu",
                                           kernel_regularizer=keras.regularizers.L2(1e-4)),
                       keras.layers.BatchNormalization()]
        layers += [keras.layers.MaxPooling2D((2, 2)), keras.layers.Dropout(dropout)]
    layers += [keras.layers.Flatten(),
               keras.layers.Dense(num_classes, activation="softmax", dtype="float32")]
    return keras.Sequential(layers, name="model_3")
