"""The layer blocks, checked against parameter counts worked out by hand."""

from __future__ import annotations

import keras
import pytest

from helpers import models
from helpers.models import conv_block, dense_block


def _count(input_shape: tuple[int, ...], layers: list) -> int:
    return keras.Sequential([keras.Input(input_shape), *layers]).count_params()


def test_conv_block_parameter_count_and_output_shape():
    layers = conv_block(16, convs=2, pool="max", dropout=0.25)
    model = keras.Sequential([keras.Input((32, 32, 3)), *layers])
    # 3x3x3x16 + 16, then 3x3x16x16 + 16
    assert model.count_params() == (27 * 16 + 16) + (144 * 16 + 16)
    assert model.output_shape == (None, 16, 16, 16)
    assert isinstance(layers[-1], keras.layers.Dropout)


def test_batch_norm_replaces_the_bias():
    # conv without bias (27*8) + BatchNorm's 4 parameters per channel
    assert _count((32, 32, 3), conv_block(8, batch_norm=True, pool=None)) == 27 * 8 + 4 * 8
    assert _count((10,), dense_block(5, batch_norm=True)) == 10 * 5 + 4 * 5


def test_valid_padding_and_average_pooling():
    model = keras.Sequential([keras.Input((32, 32, 3)),
                              *conv_block(4, padding="valid", pool="average")])
    assert model.output_shape == (None, 15, 15, 4)


def test_l2_and_dropout_are_applied():
    dense, activation, dropout = dense_block(32, l2=1e-4, dropout=0.5, activation="elu")
    assert isinstance(dense.kernel_regularizer, keras.regularizers.L2)
    assert activation.get_config()["activation"] == "elu" and dropout.rate == 0.5
    assert dense_block(32)[0].kernel_regularizer is None


def test_unknown_pooling_is_refused():
    with pytest.raises(ValueError, match="pool must be"):
        conv_block(8, pool="global")


def test_print_layers_lists_each_layer_then_the_total(capsys):
    model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Conv2D(2, 3, name="conv"),
                              keras.layers.Flatten(), keras.layers.Dense(3)])
    models.print_layers(model, label="tiny", names=True)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["conv", "output", "(2,", "2,", "2)", "parameters", "20"]
    assert lines[2].split()[-1] == "27" and lines[-1] == "tiny parameters: 47"


def test_section_d_model_3_has_the_reported_parameter_count():
    model = models.section_d_model_3()
    assert model.count_params() == 309_290  # section D's figure, also checked by hand in 05
    assert model.output_shape == (None, 10)
    convolutions = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [layer.filters for layer in convolutions] == [32, 32, 64, 64, 128, 128]
    assert all(isinstance(layer.kernel_regularizer, keras.regularizers.L2)
               for layer in convolutions)
    rates = [layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    assert rates == [0.2, 0.3, 0.4]
    assert models.section_d_model_3(input_shape=(28, 28, 1), num_classes=5).output_shape == (
        None, 5)
