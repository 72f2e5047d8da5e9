"""helpers.deploy.onnx_export: a Keras model exported to ONNX runs in ONNX Runtime with the
same predictions, on the backend the tests run on; files that are not the course's are never
replaced; where the extra is missing, one message says what to install.

The export tests skip, with the reason, where the backend's ONNX extra is not installed."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from helpers import environment
from helpers.deploy import onnx_export
from helpers.modern import resnet
from helpers.modern.augment import RandomPadCrop

# Keras and ONNX Runtime both compute in float32, so their probabilities differ by rounding:
# under 1e-7 on these models when this test was written, on TensorFlow and on JAX. The margin
# is for other CPUs' kernels.
TOLERANCE = 1e-4


@pytest.fixture
def needs_onnx() -> None:
    reason = onnx_export.unavailable_reason()
    if reason:
        pytest.skip(reason)


def images(count: int = 16, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, 32, 32, 3), dtype=np.uint8)


def tiny_cnn(input_dtype: str = "float32") -> keras.Sequential:
    """Convolution, batch norm, both poolings, dropout and a softmax: the layers the course's
    CNNs are made of."""
    keras.utils.set_random_seed(0)
    return keras.Sequential([
        keras.Input((32, 32, 3), dtype=input_dtype),
        keras.layers.Conv2D(8, 3, padding="same", activation="relu"),
        keras.layers.BatchNormalization(),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(8, 3, activation="relu"),
        keras.layers.AveragePooling2D(2),
        keras.layers.Dropout(0.3),
        keras.layers.Flatten(),
        keras.layers.Dense(10, activation="softmax", dtype="float32"),
    ], name="tiny_cnn")


def course_like_model() -> keras.Model:
    """What notebook 09 saves: uint8 pixels in, rescaled and augmented inside the model (the
    augmentation does nothing outside training), a softmax at the end."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 3), dtype="uint8")
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.RandomFlip("horizontal")(x)
    x = RandomPadCrop(4, seed=0)(x)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    logits = keras.layers.Dense(10)(x)
    return keras.Model(inputs, keras.layers.Softmax()(logits), name="course_like")


def resnet9_classifier() -> keras.Model:
    """The course's ResNet-9 (08 to 11), narrow, with a softmax as 09 saves it: its pixels are
    normalised by a Normalization layer, whose mean and variance Keras keeps as constants."""
    x = images(64, seed=2)
    mean, variance = resnet.channel_statistics(x)
    model = resnet.resnet9(mean, variance, width=4, seed=0)
    return keras.Model(model.input, keras.layers.Softmax()(model.output), name="classifier")


def trained(model: keras.Model) -> keras.Model:
    """Batch norm's statistics moved off their initial 0 and 1, as training leaves them (set
    directly: training would cost seconds of compiling per model)."""
    rng = np.random.default_rng(0)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            shape = layer.moving_mean.shape
            layer.moving_mean.assign(rng.normal(0, 0.5, shape))
            layer.moving_variance.assign(rng.uniform(0.5, 2, shape))
    return model


@pytest.mark.parametrize("build, scale", [(lambda: tiny_cnn("float32"), True),
                                          (course_like_model, False),
                                          (resnet9_classifier, False)],
                         ids=["float pixels", "uint8 pixels, rescaled inside",
                              "ResNet-9, normalised inside"])
def test_onnx_runtime_predicts_what_keras_predicts(needs_onnx, tmp_path, build, scale):
    import onnx

    model = trained(build())
    path = onnx_export.export(model, tmp_path / "model.onnx")
    kernels = [len(onnx.helper.get_attribute_value(attribute)) for node in
               onnx.load(str(path)).graph.node if node.op_type == "MaxPool"
               for attribute in node.attribute if attribute.name == "kernel_shape"]
    assert kernels and set(kernels) == {2}, "ONNX Runtime pools over at most three axes"
    batch = images(16) / 255 if scale else images(16)
    agreement = onnx_export.compare(model, path, batch.astype(model.inputs[0].dtype))
    assert agreement.images == 16
    assert agreement.max_abs_difference < TOLERANCE
    assert agreement.top_class_agreement == 1.0 and agreement.within(TOLERANCE)
    one = onnx_export.onnx_probabilities(path, batch[:1].astype(model.inputs[0].dtype))
    assert one.shape == (1, 10), "any batch size, one image included"
    np.testing.assert_allclose(one.sum(axis=1), 1, atol=1e-5)


def test_a_model_that_resizes_can_be_exported_for_a_fixed_batch_size(needs_onnx, tmp_path):
    """jax2onnx 0.17 cannot export Resizing for any batch size; a fixed one works everywhere,
    and the file then takes the images that many at a time."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((32, 32, 3), dtype="uint8"),
        keras.layers.Rescaling(1 / 255),
        keras.layers.Resizing(40, 40),
        keras.layers.Conv2D(8, 3, activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(10, activation="softmax"),
    ])
    try:
        onnx_export.export(model, tmp_path / "any_batch.onnx")
    except ValueError as error:
        assert "Pass batch_size=1" in str(error) and "Resizing" in str(error)
    path = onnx_export.export(model, tmp_path / "model.onnx", batch_size=4)
    assert onnx_export.session(path).get_inputs()[0].shape == [4, 32, 32, 3]
    agreement = onnx_export.compare(model, path, images(10))
    assert agreement.images == 10 and agreement.within(TOLERANCE)
    with pytest.raises(ValueError, match="positive int"):
        onnx_export.export(model, tmp_path / "model.onnx", batch_size=0)


def test_the_file_takes_the_models_uint8_pixels_and_refuses_floats(needs_onnx, tmp_path):
    path = onnx_export.export(course_like_model(), tmp_path / "model.onnx")
    runner = onnx_export.session(path)
    assert [(spec.name, spec.type) for spec in runner.get_inputs()] == [("images",
                                                                         "tensor(uint8)")]
    with pytest.raises(ValueError, match="uint8 pixels"):
        onnx_export.onnx_probabilities(runner, images(2).astype("float32") / 255)


def test_a_mixed_precision_model_is_exported_through_its_float32_copy(needs_onnx, tmp_path):
    import onnx

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = tiny_cnn("float32")
    finally:
        keras.config.set_dtype_policy(previous)
    assert model.layers[0].dtype_policy.name == "mixed_float16"
    path = onnx_export.export(model, tmp_path / "mixed.onnx")
    proto = onnx.load(str(path))
    float16 = onnx.TensorProto.FLOAT16
    assert all(tensor.data_type != float16 for tensor in proto.graph.initializer)
    assert not [node.name for node in proto.graph.node if node.op_type == "Cast"
                and any(a.name == "to" and a.i == float16 for a in node.attribute)]
    batch = images(16).astype("float32") / 255
    assert onnx_export.compare(environment.float32_copy(model), path, batch).within(TOLERANCE)
    # The mixed model itself computes in float16: close, not equal.
    assert onnx_export.compare(model, path, batch).max_abs_difference < 1e-2


def test_export_refuses_to_replace_a_file_it_did_not_write(needs_onnx, tmp_path):
    model = tiny_cnn()
    foreign = tmp_path / "model.onnx"
    foreign.write_bytes(b"someone else's file")
    with pytest.raises(FileExistsError, match="not written by the course"):
        onnx_export.export(model, foreign)
    assert foreign.read_bytes() == b"someone else's file"
    onnx_export.export(model, foreign, overwrite=True)
    onnx_export.export(model, foreign)  # the course's own file: replaced without asking
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"], "no temporary files"
    with pytest.raises(ValueError, match="ends in .onnx"):
        onnx_export.export(model, tmp_path / "model.keras")


def test_an_interrupted_export_leaves_no_file(needs_onnx, tmp_path, monkeypatch):
    def interrupted(self, path, **options):
        with open(path, "wb") as partial:
            partial.write(b"half a model")
        raise KeyboardInterrupt

    monkeypatch.setattr(keras.Model, "export", interrupted)
    with pytest.raises(KeyboardInterrupt):
        onnx_export.export(tiny_cnn(), tmp_path / "model.onnx")
    assert list(tmp_path.iterdir()) == []


def test_side_by_side_gives_sizes_and_latencies(needs_onnx, tmp_path):
    model = course_like_model()
    onnx_path = onnx_export.export(model, tmp_path / "model.onnx")
    keras_path = tmp_path / "model.keras"
    model.save(keras_path)
    table = onnx_export.side_by_side(model, keras_path, onnx_path, images(8), batch_sizes=(1, 8),
                                     repeats=2)
    assert list(table.index) == [f"Keras ({environment.backend()})", "ONNX Runtime"]
    assert list(table.columns) == ["file", "size (MB)", "ms per image, batch 1",
                                   "ms per image, batch 8"]
    assert (table.drop(columns="file") > 0).all().all()
    with pytest.raises(ValueError, match="needs that many images"):
        onnx_export.side_by_side(model, keras_path, onnx_path, images(4), batch_sizes=(8,))


@pytest.mark.parametrize("backend, converter", [("tensorflow", "tf2onnx"), ("jax", "jax2onnx"),
                                                ("torch", "torch")])
def test_a_missing_package_is_named_with_the_command_that_installs_it(monkeypatch, backend,
                                                                      converter):
    monkeypatch.setattr(onnx_export, "_installed", lambda module: module == "onnx")
    assert onnx_export.missing_packages(backend) == ["onnxruntime", converter]
    reason = onnx_export.unavailable_reason(backend)
    assert f"`pip install onnxruntime {converter}`" in reason
    assert f"keras-cnn-course[{onnx_export.EXTRAS[backend]}]" in reason
    assert reason.endswith("restart the kernel.")


def test_export_without_the_extra_raises_that_message(monkeypatch, tmp_path):
    monkeypatch.setattr(onnx_export, "_installed", lambda module: module != "onnxruntime")
    assert onnx_export.unavailable_reason() is not None
    with pytest.raises(ModuleNotFoundError, match="pip install onnxruntime"):
        onnx_export.export(tiny_cnn(), tmp_path / "model.onnx")
    assert list(tmp_path.iterdir()) == []


def test_with_everything_installed_there_is_nothing_to_say(monkeypatch):
    monkeypatch.setattr(onnx_export, "_installed", lambda module: True)
    assert onnx_export.unavailable_reason() is None
    with pytest.raises(ValueError, match="not 'theano'"):
        onnx_export.missing_packages("theano")
