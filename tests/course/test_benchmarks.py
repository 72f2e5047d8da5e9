"""The benchmarks run end to end (on tiny synthetic data) and refuse bad options clearly.
Their figures are printed for people to read, never asserted: machines here are shared."""

from __future__ import annotations

import json

import keras
import pytest

from course.bench import input_pipeline, time_to_accuracy

pytestmark = pytest.mark.backend


@pytest.fixture(autouse=True)
def float32_afterwards():
    yield
    keras.mixed_precision.set_global_policy("float32")


def test_time_to_accuracy_prints_and_writes_its_figures(synthetic_raw, tmp_path, capsys):
    out = tmp_path / "figures.json"
    assert time_to_accuracy.main(["--epochs", "2", "--batch-size", "100", "--width", "4",
                                  "--train-size", "500", "--target", "5",
                                  "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    for words in ("machine:", "backend:", "data: Synthetic", "training images: 500",
                  "target 5.0% reached"):
        assert words in printed
    figures = json.loads(out.read_text())
    assert figures["summary"]["target_met"] is True
    assert figures["runs"][0]["images_per_second"] > 0
    assert 0 <= figures["runs"][0]["test_accuracy_tta"] <= 100


@pytest.mark.parametrize(("options", "message"), [
    (["--epochs", "0"], "--epochs must be at least 1"),
    (["--train-size", "10", "--batch-size", "100"], "at least one batch"),
    (["--precision", "float8"], "invalid choice"),
])
def test_time_to_accuracy_refuses_bad_options(options, message, capsys):
    with pytest.raises(SystemExit) as stopped:
        time_to_accuracy.parse_args(options)
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err


def test_time_to_accuracy_will_not_write_its_json_over_a_folder(tmp_path, capsys):
    with pytest.raises(SystemExit):
        time_to_accuracy.parse_args(["--json", str(tmp_path)])
    assert "is a folder" in capsys.readouterr().err


def test_input_pipeline_compares_the_four_ways(synthetic_raw, capsys):
    assert input_pipeline.main(["--width", "4", "--batch-size", "50", "--steps", "2"]) == 0
    printed = capsys.readouterr().out
    assert "data: Synthetic" in printed
    assert printed.count("x\n") == 4  # one ratio per way of feeding the model
    assert "1.00x" in printed
