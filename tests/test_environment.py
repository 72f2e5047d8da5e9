"""Environment report, Keras version check, seeding."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from helpers import environment


def test_keras_2_is_refused_with_advice():
    with pytest.raises(RuntimeError, match="needs Keras 3.*pip install"):
        environment.check_keras_version("2.15.0")
    environment.check_keras_version("3.0.1")


def test_report_names_versions_and_hardware(capsys):
    report = environment.environment_report()
    assert report["keras"] == keras.__version__ and report["keras backend"] == "tensorflow"
    assert set(report) == {"python", "tensorflow", "keras", "keras backend", "gpu", "colab"}
    environment.print_environment()
    printed = capsys.readouterr().out
    assert "tensorflow" in printed and report["python"] in printed


def test_seed_makes_numpy_and_keras_repeatable():
    def draw() -> tuple[np.ndarray, np.ndarray]:
        environment.set_seed(123)
        return np.random.rand(3), keras.random.uniform((3,)).numpy()

    first, second = draw(), draw()
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])


def test_seed_must_be_an_int():
    with pytest.raises(TypeError, match="seed must be an int"):
        environment.set_seed(1.5)
