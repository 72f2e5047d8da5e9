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
