"""Environment report, Keras version check, accelerators and seeding, on any backend."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from helpers import environment


def test_keras_2_is_refused_with_advice():
    with pytest.raises(RuntimeError, match="needs Keras 3.*pip install"):
        environment.check_keras_version("2.15.0")
    environment.check_keras_version("3.0.1")


def test_report_names_versions_backend_and_hardware(capsys):
    report = environment.environment_report()
    assert set(report) == {"python", "keras", "keras backend", "gpu", "colab"}
    assert report["keras"] == keras.__version__
    assert report["keras backend"].split()[0] == keras.backend.backend()
    environment.print_environment()
    printed = capsys.readouterr().out
    assert keras.backend.backend() in printed and report["python"] in printed


def test_mixed_precision_policy_suits_the_hardware():
    policy = environment.mixed_precision_policy()
    assert policy in ("float32", "mixed_float16", "mixed_bfloat16")
    if not environment.accelerators():
        assert policy == "float32"  # half precision is no faster on a CPU
    keras.mixed_precision.set_global_policy(policy)  # Keras accepts it
    keras.mixed_precision.set_global_policy("float32")


def test_clear_session_resets_the_dtype_policy():
    """Notebook 07 and its lesson rely on this Keras behaviour: it sets its policy again after
    every clear_session(). Should Keras keep the policy one day, the sentence must change."""
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        keras.backend.clear_session()
        assert keras.mixed_precision.global_policy().name == "float32"
    finally:
        keras.mixed_precision.set_global_policy("float32")


def _layers_within(model):
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _layers_within(layer)


def test_float32_copy_computes_in_float32_with_the_same_weights():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        inner = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3),
                                  keras.layers.BatchNormalization()], name="inner")
        images = keras.Input((8, 8, 3), dtype="uint8")
        x = inner(keras.layers.Rescaling(1 / 255)(images))
        x = keras.layers.GlobalAveragePooling2D()(x)
        mixed = keras.Model(images, keras.layers.Dense(2, dtype="float32")(x))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    copy = environment.float32_copy(mixed)
    assert {layer.compute_dtype for layer in _layers_within(mixed)} >= {"float16"}
    assert {layer.compute_dtype for layer in _layers_within(copy)} == {"float32"}
    assert copy.input.dtype == "uint8"
    for ours, theirs in zip(copy.get_weights(), mixed.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    pixels = np.random.default_rng(0).integers(0, 256, (4, 8, 8, 3), dtype="uint8")
    np.testing.assert_allclose(copy.predict(pixels, verbose=0), mixed.predict(pixels, verbose=0),
                               atol=1e-2)


def test_accelerator_probe_prints_nothing(capfd):
    found = environment.accelerators()
    assert isinstance(found, list)
    captured = capfd.readouterr()
    assert "cuInit" not in captured.err and "cuda" not in captured.err.lower()


def test_import_tensorflow_says_why_it_skips(monkeypatch, capsys):
    monkeypatch.setattr(environment, "tensorflow_installed", lambda: False)
    assert environment.import_tensorflow() is None
    assert "TensorFlow is not installed" in capsys.readouterr().out


def test_seed_makes_numpy_and_keras_repeatable():
    def draw() -> tuple[np.ndarray, np.ndarray]:
        environment.set_seed(123)
        return np.random.rand(3), keras.ops.convert_to_numpy(keras.random.uniform((3,)))

    first, second = draw(), draw()
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])


def test_seed_must_be_a_valid_int():
    with pytest.raises(TypeError, match="seed must be an int"):
        environment.set_seed(1.5)
    with pytest.raises(ValueError, match="seed"):
        environment.set_seed(-1)


def test_compile_options_say_which_settings_pytorch_cannot_take(monkeypatch, capsys):
    monkeypatch.setattr(environment, "backend", lambda: "torch")
    assert environment.compile_options(10, True) == {"steps_per_execution": 1,
                                                     "jit_compile": False}
    printed = capsys.readouterr().out
    assert "steps_per_execution=10 does not apply on PyTorch" in printed
    assert "jit_compile=True does not apply on PyTorch" in printed
    assert environment.compile_options(1, "auto") == {"steps_per_execution": 1,
                                                      "jit_compile": "auto"}
    assert capsys.readouterr().out == ""
    monkeypatch.setattr(environment, "backend", lambda: "jax")
    assert environment.compile_options(10, True) == {"steps_per_execution": 10,
                                                     "jit_compile": True}


def test_a_model_compiled_with_those_options_trains_on_this_backend():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse", **environment.compile_options(4, True))
    history = model.fit(np.zeros((16, 4), "float32"), np.zeros((16, 2), "float32"),
                        batch_size=4, epochs=1, verbose=0)
    assert len(history.history["loss"]) == 1
