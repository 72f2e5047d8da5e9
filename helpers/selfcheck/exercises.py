"""The exercises a student can check, each registered with how to work out its right answer
and the slips worth a hint. Right answers are computed from Keras layers built as the exercise
describes, so they cannot drift from the notebooks."""

from __future__ import annotations

from typing import Any

import keras

from helpers.selfcheck.engine import ACCURACY, COUNT, SHAPE, register

# --- building blocks: Keras models built with explicit names, counted or measured ---------


def _count(model: keras.Model) -> int:
    return int(model.count_params())


def _shape(model: keras.Model) -> tuple[int, ...]:
    return tuple(int(dim) for dim in model.output.shape[1:])


def _sequential(name: str, input_shape: tuple[int, ...], layers: list) -> keras.Model:
    """The layers one after the other, as a functional model (its output shape is known)."""
    inputs = x = keras.Input(input_shape, name=f"selfcheck_{name}_input")
    for layer in layers:
        x = layer(x)
    return keras.Model(inputs, x, name=f"selfcheck_{name}")


def _conv(filters: int, kernel: int, *, strides: int = 1, padding: str = "valid",
          use_bias: bool = True, name: str) -> keras.layers.Conv2D:
    return keras.layers.Conv2D(filters, kernel, strides=strides, padding=padding,
                               use_bias=use_bias, name=f"selfcheck_{name}")


def _keep_slips(right: Any, slips: dict[Any, str]) -> dict[Any, str]:
    """Drops a "slip" that happens to equal the right answer (it would hide it)."""
    return {value: hint for value, hint in slips.items() if value != right}


# --- notebook 02 -------------------------------------------------------------------------


def _small_cnn(filters: int, *, use_bias: bool = True, input_shape=(32, 32, 3),
               pool: bool = True, padding: str = "valid") -> keras.Model:
    """Notebook 02's small CNN: Conv2D(filters, 3x3) -> 2x2 max-pooling -> Flatten ->
    Dense(100) -> Dense(10)."""
    name = f"small_cnn_{filters}_{use_bias}_{pool}_{padding}_{'x'.join(map(str, input_shape))}"
    return _sequential(name, input_shape, [
        _conv(filters, 3, padding=padding, use_bias=use_bias, name=f"{name}_conv"),
        *([keras.layers.MaxPooling2D(2, name=f"selfcheck_{name}_pool")] if pool else []),
        keras.layers.Flatten(name=f"selfcheck_{name}_flatten"),
        keras.layers.Dense(100, use_bias=use_bias, name=f"selfcheck_{name}_dense"),
        keras.layers.Dense(10, use_bias=use_bias, name=f"selfcheck_{name}_output"),
    ])


@register("02.1", COUNT, given=(16, 8, 3, 2, 100, 10, 32),
           hint="Count each layer: a convolution has f × (k × k × c) + f, a Dense layer "
                "inputs × units + units, and the first Dense layer reads the pooled maps.",
           why="Now compare the layers: which one grew most, and why?")
def _parameters_with_16_filters():
    """Parameters of notebook 02's small CNN with 16 filters instead of 8."""
    right = _count(_small_cnn(16))
    conv = 16 * (3 * 3 * 3) + 16  # the formula, to build the slips that change one layer
    return right, _keep_slips(right, {
        _count(_small_cnn(16, use_bias=False)):
            "every layer has a bias per filter or unit: add them.",
        right - conv + (16 * 3 * 3 + 16):
            "each 3×3 filter spans all the input's colour channels: k × k × c weights.",
        _count(_small_cnn(16, pool=False)):
            "the max-pooling halves the feature maps before Flatten.",
        _count(_small_cnn(16, padding="same")):
            "with the default padding ('valid') a 3×3 convolution trims a pixel off every "
            "border before the pooling.",
        _count(_small_cnn(8)): "that is the count with 8 filters; the exercise asks for 16.",
        right - (100 * 10 + 10): "the output layer, Dense(10), has parameters too.",
    })


# --- notebook 03 -------------------------------------------------------------------------


def _conv_16_5x5(padding: str, *, strides: int = 2, filters: int = 16, use_bias: bool = True,
                 input_shape=(32, 32, 3)) -> keras.Model:
    """Exercise 03.2's layer, Conv2D(16, (5, 5), strides=2), on a 32x32x3 image."""
    name = f"conv_5x5_{padding}_{strides}_{filters}_{use_bias}_{'x'.join(map(str, input_shape))}"
    return _sequential(name, input_shape, [
        _conv(filters, 5, strides=strides, padding=padding, use_bias=use_bias,
              name=f"{name}_conv")])


_OUTPUT_SIZE = "Per side: ⌊(n + 2p − k) / s⌋ + 1 with p = 0 for 'valid'."
_SAME_SIZE = "Per side, 'same' gives ⌈n / s⌉ pixels, whatever the kernel."


@register("03.2a", SHAPE, given=(16, 5, 2, 32, 3), hint=_OUTPUT_SIZE,
           why="A stride of 2 about halves the map; 'valid' loses a little more at the border.")
def _valid_shape():
    """Output shape of Conv2D(16, (5, 5), strides=2, padding="valid") on 32x32x3."""
    right = _shape(_conv_16_5x5("valid"))
    side = right[0]
    return right, _keep_slips(right, {
        _shape(_conv_16_5x5("same")):
            "that is the 'same' output; 'valid' adds no padding, so the kernel must fit inside "
            "the image.",
        _shape(_conv_16_5x5("valid", strides=1)):
            "the stride of 2 moves the kernel 2 pixels at a time: divide by s.",
        (side, side, 3): "the output has one channel per filter, not the input's channels.",
        (side - 1, side - 1, 16): "count the first position too: ⌊(n − k) / s⌋ + 1.",
        (side + 1, side + 1, 16): "round (n − k) / s down before adding 1.",
    })


@register("03.2b", COUNT, given=(16, 5, 2, 32, 3),
           hint="f × (k × k × c) + f: every filter spans all the input channels and has one "
                "bias.",
           why="Padding adds no weights, so 'same' has the same count.")
def _conv_parameters():
    """Parameters of Conv2D(16, (5, 5)) on a 3-channel image (stride and padding change
    nothing)."""
    right = _count(_conv_16_5x5("valid"))
    return right, _keep_slips(right, {
        _count(_conv_16_5x5("valid", use_bias=False)): "each filter has a bias too.",
        _count(_conv_16_5x5("valid", input_shape=(32, 32, 1))):
            "each 5×5 filter spans all 3 input channels: k × k × c weights per filter.",
        _count(_conv_16_5x5("valid", input_shape=(32, 32, 1), use_bias=False)):
            "each filter spans all 3 input channels and has a bias.",
        _count(_conv_16_5x5("valid", filters=1)):
            "that is one filter; the layer has 16, each with its own weights and bias.",
    })


@register("03.2c", SHAPE, given=(16, 5, 2, 32, 3), hint=_SAME_SIZE,
           why="'same' makes the size depend only on the stride.")
def _same_shape():
    """Output shape of the same layer with padding="same"."""
    right = _shape(_conv_16_5x5("same"))
    return right, _keep_slips(right, {
        _shape(_conv_16_5x5("valid")):
            "that is the 'valid' output; 'same' pads the border with zeros.",
        _shape(_conv_16_5x5("same", strides=1)):
            "'same' keeps the input's size only at stride 1; here the stride is 2.",
        (right[0], right[1], 3): "the output has one channel per filter, not the input's.",
    })


# --- notebook 04 -------------------------------------------------------------------------


def _alexnet_start(input_side: int, *, pool: bool = True, pool_strides: int = 2):
    """AlexNet's C1 (96 filters of 11x11, stride 4) and its 3x3 max-pooling, on a colour
    image of input_side x input_side."""
    name = f"alexnet_start_{input_side}_{pool}_{pool_strides}"
    layers = [_conv(96, 11, strides=4, name=f"{name}_c1")]
    if pool:
        layers.append(keras.layers.MaxPooling2D(3, strides=pool_strides,
                                                name=f"selfcheck_{name}_pool"))
    return _sequential(name, (input_side, input_side, 3), layers)


@register("04.2", SHAPE, given=(11, 4, 3, 2, 96, 32),
           hint="Apply ⌊(n − k) / s⌋ + 1 twice: C1 (k = 11, s = 4), then the pooling (k = 3, "
                "s = 2).",
           why="Too small for AlexNet's next stages: the 32×32 version needs other sizes.")
def _alexnet_on_cifar():
    """Shape after AlexNet's C1 and its pooling on a 32x32x3 CIFAR-10 image."""
    right = _shape(_alexnet_start(32))
    after_c1 = _shape(_alexnet_start(32, pool=False))
    return right, _keep_slips(right, {
        after_c1: "that is the size after C1 alone; its pooling follows.",
        _shape(_alexnet_start(227)):
            "that is the size on AlexNet's 227×227 photos; feed it a CIFAR-10 image.",
        _shape(_alexnet_start(227, pool=False)):
            "that is C1's output on AlexNet's 227×227 photos; feed it a CIFAR-10 image, and "
            "apply the pooling too.",
        _shape(_alexnet_start(32, pool_strides=1)):
            "the pooling moves its window 2 pixels at a time.",
        (after_c1[0] // 2, after_c1[1] // 2, 96):
            "a 3×3 window moved by 2 does not simply halve the size: ⌊(n − 3) / 2⌋ + 1.",
        (right[0], right[1], 3): "the maps have one channel per C1 filter.",
    })


# GoogLeNet's block "3a", as notebook 04 builds it: its four branches output 64 (1x1), 128
# (3x3), 32 (5x5) and 32 (pooling projection) channels, concatenated; the 1x1 reductions of
# the 3x3 and 5x5 branches (96 and 16) stay inside their branches.
_INCEPTION_OUTPUTS = (64, 128, 32, 32)
_INCEPTION_REDUCTIONS = (96, 16)


def _flatten_head(side_before_pooling: int, channels: int, *, pool: bool = True,
                  use_bias: bool = True, global_pool: bool = False) -> keras.Model:
    """A 10-way Dense head on the tiny GoogLeNet's last maps (after the 2x2 max-pooling)."""
    name = f"head_{side_before_pooling}_{channels}_{pool}_{use_bias}_{global_pool}"
    layers = [keras.layers.MaxPooling2D(2, name=f"selfcheck_{name}_pool")] if pool else []
    layers.append(keras.layers.GlobalAveragePooling2D(name=f"selfcheck_{name}_gap")
                  if global_pool else keras.layers.Flatten(name=f"selfcheck_{name}_flatten"))
    layers.append(keras.layers.Dense(10, use_bias=use_bias, name=f"selfcheck_{name}_dense"))
    return _sequential(name, (side_before_pooling, side_before_pooling, channels), layers)


@register("04.3", COUNT, given=(2, 10),
           hint="Flatten hands Dense(10) height × width × channels values of the last block's "
                "maps: times 10 weights, plus 10 biases.",
           why="Global average pooling reads one value per channel, whatever the map's size.")
def _flatten_head_parameters():
    """Parameters of a Flatten + Dense(10) head on the tiny GoogLeNet's last block."""
    channels = sum(_INCEPTION_OUTPUTS)
    right = _count(_flatten_head(32, channels))
    return right, _keep_slips(right, {
        _count(_flatten_head(32, channels, use_bias=False)): "Dense(10) has 10 biases too.",
        _count(_flatten_head(32, channels, pool=False)):
            "the second block reads the maps after the 2×2 max-pooling, which halves them.",
        _count(_flatten_head(32, channels, global_pool=True)):
            "that is the global-average-pooling head; Flatten keeps every position of every "
            "map.",
        _count(_flatten_head(32, 192)):
            "the last block outputs its four branches concatenated, not the stem's channels.",
        _count(_flatten_head(32, channels + sum(_INCEPTION_REDUCTIONS))):
            "only the four branches' outputs are concatenated; the 1×1 reductions inside the "
            "3×3 and 5×5 branches are not.",
    })


# --- notebook 05 -------------------------------------------------------------------------


def _model_3(*, helpers_order: bool = True, batch_norm_weights: int = 4) -> int:
    """Parameters of section D's Model 3 built from `helpers.models.conv_block` (BatchNorm
    before the activation, convolutions without bias), or as its authors wrote it."""
    from helpers import models

    if helpers_order:
        blocks = [layer for filters, dropout in ((32, 0.2), (64, 0.3), (128, 0.4))
                  for layer in models.conv_block(filters, convs=2, activation="elu",
                                                 batch_norm=True, dropout=dropout, l2=1e-4)]
    else:
        blocks = []
        for filters in (32, 64, 128):
            for _ in range(2):
                blocks += [keras.layers.Conv2D(filters, 3, padding="same"),
                           keras.layers.BatchNormalization()]
            blocks.append(keras.layers.MaxPooling2D(2))
    model = _sequential(f"model_3_{helpers_order}", (32, 32, 3),
                        [*blocks, keras.layers.Flatten(), keras.layers.Dense(10)])
    batch_norm_channels = 2 * (32 + 64 + 128)
    return _count(model) - (4 - batch_norm_weights) * batch_norm_channels


@register("05.1", COUNT, given=(3, 32, 64, 128, 10),
           hint="Add up each block's two convolutions (f × 3 × 3 × c, with no bias), their "
                "BatchNorms and the Dense(10) layer on the flattened maps.",
           why="BatchNorm's shift β does the job of the convolutions' bias.")
def _model_3_from_conv_block():
    """Parameters of Model 3 built from three `conv_block`s (no bias in the convolutions)."""
    right = _model_3()
    dense = (4 * 4 * 128) * 10 + 10
    return right, _keep_slips(right, {
        _model_3(helpers_order=False):
            "that is Model 3 as its authors wrote it; conv_block's convolutions have no bias.",
        _model_3(batch_norm_weights=2):
            "BatchNormalization has 4 parameters per channel: γ and β are trained, the moving "
            "mean and variance are not, and count_params counts all four.",
        right - dense: "the Dense(10) layer on the flattened maps has parameters too.",
    })


@register("05.4", ACCURACY, threshold=0.80,
           hint="train the full length and keep Model 3's recipe.")
def _model_3_reaches_80(model: keras.Model, accuracy: float, images: int) -> str:
    """Advice for a model below 80% validation accuracy in notebook 05: Model 3's recipe,
    trained on all 40,000 training images for up to 50 epochs, reaches it."""
    steps = _optimizer_steps(model)
    if steps == 0:
        return "this model has not been trained yet: fit it first."
    if images < 10_000:
        return (f"this is a shortened run ({images:,} validation images): the mark is for the "
                "full-length run, with the parameters cell's defaults.")
    if accuracy < 0.2:
        return ("close to chance (10%): check that the images are scaled as in training and "
                "that the labels are the ones that go with them.")
    if steps is not None and steps * 64 < 15 * 40_000:
        return (f"its optimizer took {steps:,} step{'s' if steps != 1 else ''}, fewer than 15 "
                "epochs of 40,000 images in batches of 64: train longer (EPOCHS = 50, early "
                "stopping ends it).")
    return ("if its training accuracy is far above validation it overfits: keep Model 3's "
            "dropout, L2 and BatchNorm; if both are low, keep its learning rate and callbacks "
            "and train longer.")


def _optimizer_steps(model: keras.Model) -> int | None:
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return 0
    try:
        return int(keras.ops.convert_to_numpy(optimizer.iterations))
    except (AttributeError, TypeError, ValueError):
        return None


# --- notebook 08 -------------------------------------------------------------------------


def _projection_block(*, strides: int = 2, filters: int = 32, padding: str = "same",
                      strides_everywhere: bool = False) -> keras.Model:
    """The first block of He et al.'s second stage (notebook 08's cifar_resnet) on a 32x32x16
    map: conv 3x3 (stride 2) -> BN -> ReLU -> conv 3x3 -> BN, plus a projection shortcut
    (1x1 conv, stride 2, no bias -> BN), added, then ReLU."""
    name = f"projection_block_{strides}_{filters}_{padding}_{strides_everywhere}"
    inputs = keras.Input((32, 32, 16))
    y = _conv(filters, 3, strides=strides, padding=padding, use_bias=False, name=f"{name}_c1")(
        inputs)
    y = keras.layers.ReLU(name=f"selfcheck_{name}_relu1")(
        keras.layers.BatchNormalization(name=f"selfcheck_{name}_bn1")(y))
    y = _conv(filters, 3, strides=strides if strides_everywhere else 1, padding=padding,
              use_bias=False, name=f"{name}_c2")(y)
    y = keras.layers.BatchNormalization(name=f"selfcheck_{name}_bn2")(y)
    if padding == "same":
        shortcut = _conv(filters, 1, strides=strides * (2 if strides_everywhere else 1),
                         use_bias=False, name=f"{name}_projection")(inputs)
        shortcut = keras.layers.BatchNormalization(name=f"selfcheck_{name}_bn3")(shortcut)
        y = keras.layers.Add(name=f"selfcheck_{name}_add")([y, shortcut])
    # (with 'valid' the path trims the border and no shortcut fits: its shape is the slip's)
    outputs = keras.layers.ReLU(name=f"selfcheck_{name}_relu2")(y)
    return keras.Model(inputs, outputs, name=f"selfcheck_{name}")


def _projection(*, kernel: int = 1, use_bias: bool = False, batch_norm: bool = True,
                batch_norm_weights: int = 4) -> int:
    """Parameters of the projection shortcut: Conv2D(32, 1x1, stride 2, no bias) -> BN."""
    name = f"projection_{kernel}_{use_bias}_{batch_norm}"
    layers = [_conv(32, kernel, strides=2, padding="same", use_bias=use_bias, name=name)]
    if batch_norm:
        layers.append(keras.layers.BatchNormalization(name=f"selfcheck_{name}_bn"))
    model = _sequential(name, (32, 32, 16), layers)
    return _count(model) - (4 - batch_norm_weights) * 32 * batch_norm


@register("08.5a", SHAPE, given=(32, 16, 2, 1),
           hint="The stride-2 convolution halves each side, 'same' padding keeps the rest, and "
                "the block ends with as many channels as its convolutions have filters.",
           why="The projection shortcut brings its input to that shape, so the two can be "
               "added.")
def _projection_block_shape():
    """Output shape of the first block of the second stage on a 32x32x16 map."""
    right = _shape(_projection_block())
    return right, _keep_slips(right, {
        _shape(_projection_block(strides=1)):
            "the block's first convolution has stride 2: it halves the map.",
        _shape(_projection_block(filters=16)):
            "the block changes the channels: they become the number of filters of its "
            "convolutions.",
        _shape(_projection_block(strides_everywhere=True)):
            "only the first convolution (and the projection) has stride 2; the second keeps "
            "the size.",
        _shape(_projection_block(padding="valid")):
            "He et al.'s convolutions pad with 'same': no pixel is trimmed at the border.",
    })


@register("08.5b", COUNT, given=(32, 16, 2, 1),
           hint="A 1×1 convolution has input channels × filters weights; its BatchNorm has 4 "
                "per channel.",
           why="Small beside the block's two 3×3 convolutions, but not free, unlike the "
               "identity shortcut.")
def _projection_parameters():
    """Parameters of the projection shortcut: 1x1 conv, 16 -> 32 channels, no bias, and BN."""
    right = _projection()
    return right, _keep_slips(right, {
        _projection(batch_norm=False): "the projection's BatchNorm has parameters too.",
        _projection(use_bias=True):
            "the 1×1 convolution has no bias: the BatchNorm after it shifts instead.",
        _projection(batch_norm_weights=2):
            "BatchNorm has 4 parameters per channel: γ, β and the two moving statistics, all "
            "counted by count_params.",
        _projection(kernel=3): "a projection is a 1×1 convolution, not a 3×3 one.",
    })


# --- notebook 12 -------------------------------------------------------------------------


def _balanced_weights(counts: tuple[int, ...]) -> list[float]:
    """scikit-learn's "balanced" class weights for classes of these sizes: n / (k * n_c)."""
    import numpy as np
    from sklearn.utils.class_weight import compute_class_weight

    labels = np.repeat(np.arange(len(counts)), counts)
    return [float(weight) for weight in
            compute_class_weight("balanced", classes=np.arange(len(counts)), y=labels)]


@register("12.1", COUNT, given=(300, 200, 120, 60),
           hint="Each class's weight is n / (k × n_c): n and k are the same for every class, "
                "so compare the two classes' sizes.",
           why="The smallest class weighs as much in total as the largest.")
def _ship_weight_over_airplane_weight():
    """How many times an airplane image's weight a ship image gets (300 and 60 images)."""
    weights = _balanced_weights((300, 200, 120, 60))
    right = round(weights[3] / weights[0])
    return right, _keep_slips(right, {
        round(weights[3]): "that is the ship images' weight itself; the exercise asks for it "
                           "divided by an airplane image's weight.",
        round(60 / 300): "the smaller class gets the larger weight: the weight is inversely "
                         "proportional to the class's size.",
    })


def _head(features: int, classes: int, *, use_bias: bool = True) -> int:
    name = f"head_{features}_{classes}_{use_bias}"
    return _count(_sequential(name, (features,), [
        keras.layers.Dense(classes, use_bias=use_bias, name=f"selfcheck_{name}_dense")]))


@register("12.2", COUNT, given=(64, 8, 512, 4),
           hint="A Dense layer has inputs × units weights and one bias per unit.",
           why="A few thousand parameters: training them on cached features takes seconds.")
def _offline_head_parameters():
    """Parameters of a Dense head from 512 pooled features to 4 classes."""
    right = _head(512, 4)
    return right, _keep_slips(right, {
        _head(512, 4, use_bias=False): "each class's unit has a bias too.",
        _head(64, 4): "the backbone ends with 8 × 64 channels, not 64.",
        _head(512, 10): "the offline folder has 4 classes, not CIFAR-10's 10.",
    })
