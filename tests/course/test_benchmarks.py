"""The benchmarks run end to end (on tiny synthetic data) and refuse bad options clearly.
Their figures are printed for people to read, never asserted: machines here are shared."""

from __future__ import annotations

import json
import os

import keras
import numpy as np
import pytest

from course.bench import (
    airbench_anchor,
    data_loading,
    input_pipeline,
    load_test,
    time_to_accuracy,
)
from helpers import data

pytestmark = pytest.mark.backend


@pytest.fixture(autouse=True)
def float32_afterwards():
    yield
    keras.mixed_precision.set_global_policy("float32")


def must_not_run(*args, **kwargs):
    raise AssertionError("a refused benchmark must not start its work")


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
    assert figures["runs"][0]["tflop_per_second"] > 0  # counted on any backend with a count
    assert figures["settings"]["peak TFLOP/s"] == "unknown for this device"  # a CPU


def test_time_to_accuracy_trains_pages_recipe_on_request(synthetic_raw, tmp_path):
    out = tmp_path / "page.json"
    assert time_to_accuracy.main(["--recipe", "page24", "--epochs", "1", "--batch-size", "100",
                                  "--width", "4", "--train-size", "500", "--target", "5",
                                  "--json", str(out)]) == 0
    settings = json.loads(out.read_text())["settings"]
    assert (settings["recipe"], settings["schedule"], settings["weight decay kind"]) == (
        "page24", "one_cycle", "l2")
    assert (settings["cutout"], settings["weight decay"], settings["label smoothing"]) == (
        8, 5e-4, 0.0)
    assert time_to_accuracy.parse_args(["--recipe", "page24"]).batch_size == 512
    assert time_to_accuracy.parse_args([]).plan.label_smoothing == 0.2  # the notebook's


def test_time_to_accuracy_trains_the_fast_recipe_with_its_own_network(monkeypatch, tmp_path):
    rng = np.random.default_rng(0)
    raw = (rng.integers(0, 256, (600, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, 600),
           rng.integers(0, 256, (100, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, 100))
    monkeypatch.setattr(data, "load_raw", lambda name, data_dir=None: (raw, "Synthetic"))
    out = tmp_path / "fast.json"
    assert time_to_accuracy.main(["--recipe", "fast", "--epochs", "1", "--batch-size", "200",
                                  "--width", "8", "--target", "1", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert (figures["settings"]["recipe"], figures["settings"]["schedule"]) == ("fast", "triangle")
    assert figures["settings"]["weight decay"] == 1.33e-3  # the fast recipe's L2
    assert 0 <= figures["runs"][0]["test_accuracy_tta"] <= 100


@pytest.mark.parametrize(("options", "message"), [
    (["--epochs", "0"], "argument --epochs: got '0': give a whole number of at least 1"),
    (["--runs", "-1"], "argument --runs: got '-1'"),
    (["--train-size", "10", "--batch-size", "100"], "at least one batch"),
    (["--precision", "float8"], "invalid choice"),
    (["--recipe", "airbench"], "invalid choice"),
    (["--weight-decay", "nan"], "--weight-decay: got 'nan': give a finite number of at least 0"),
    (["--weight-decay", "inf"], "--weight-decay: got 'inf'"),
    (["--weight-decay", "-0.1"], "--weight-decay: got '-0.1'"),
    (["--target", "150"], "--target: got '150': give a percentage above 0 and at most 100"),
    (["--target", "0"], "--target: got '0'"),
    (["--target", "nan"], "--target: got 'nan'"),
    (["--peak-learning-rate", "nan"], "--peak-learning-rate: got 'nan': give a finite number "
                                      "above 0"),
    (["--peak-learning-rate", "0"], "--peak-learning-rate: got '0'"),
    (["--label-smoothing", "nan"], "--label-smoothing: got 'nan': give a number from 0 up to"),
    (["--label-smoothing", "1"], "--label-smoothing: got '1'"),
    (["--label-smoothing", "-0.1"], "--label-smoothing: got '-0.1'"),
])
def test_time_to_accuracy_refuses_bad_options(options, message, capsys):
    with pytest.raises(SystemExit) as stopped:
        time_to_accuracy.parse_args(options)
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(("options", "message"), [
    (["--train-size", "1001", "--batch-size", "100"],
     "--train-size 1,001 is more than the 1,000 training images of Synthetic: give at most 1,000"),
    (["--train-size", "500", "--batch-size", "100", "--test-size", "201"],
     "--test-size 201 is more than the 200 test images of Synthetic: give at most 200"),
])
def test_time_to_accuracy_refuses_more_images_than_the_data_has_before_training(
        synthetic_raw, monkeypatch, options, message, capsys):
    monkeypatch.setattr(time_to_accuracy, "one_run", must_not_run)
    with pytest.raises(SystemExit) as stopped:
        time_to_accuracy.main([*options, "--width", "4", "--epochs", "1"])
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err


# The benchmarks that write their figures with --json: each module, the function doing the
# work its figures come from, which a refused path must stop from starting, and the options
# that let it get there fast (the load test's server: a port where nothing listens).
WRITERS = {"time_to_accuracy": (time_to_accuracy, "training_data", []),
           "airbench_anchor": (airbench_anchor, "write_airbench_folder", []),
           "load_test": (load_test, "run_load", ["--url", "http://127.0.0.1:9"])}


@pytest.mark.parametrize("benchmark", WRITERS)
@pytest.mark.parametrize(("where", "message"), [
    ("missing/figures.json", "there is no folder {tmp}/missing: create it first (mkdir -p"),
    (".", "{tmp} is a folder: name a file in it, such as {tmp}/figures.json"),
    ("a_file/figures.json", "{tmp}/a_file is a file, not a folder"),
])
def test_a_json_file_that_cannot_be_written_is_refused_before_the_benchmark_runs(
        benchmark, where, message, tmp_path, monkeypatch, capsys):
    module, work, options = WRITERS[benchmark]
    monkeypatch.setattr(module, work, must_not_run)
    (tmp_path / "a_file").touch()
    with pytest.raises(SystemExit) as stopped:
        module.main([*options, "--json", str(tmp_path / where)])
    assert stopped.value.code == 2
    assert f"argument --json: {message.format(tmp=tmp_path)}" in capsys.readouterr().err


@pytest.mark.parametrize("benchmark", WRITERS)
def test_a_json_file_in_a_folder_without_write_permission_is_refused(benchmark, tmp_path,
                                                                     monkeypatch, capsys):
    monkeypatch.setattr(os, "access", lambda path, mode: False)  # tests may run as root
    with pytest.raises(SystemExit) as stopped:
        WRITERS[benchmark][0].parse_args(["--json", str(tmp_path / "figures.json")])
    assert stopped.value.code == 2
    assert "cannot be written (no permission)" in capsys.readouterr().err


@pytest.mark.parametrize("module", [airbench_anchor, data_loading, input_pipeline, load_test,
                                    time_to_accuracy])
def test_every_benchmark_prints_its_usage_for_help(module, capsys):
    with pytest.raises(SystemExit) as stopped:
        module.main(["--help"])
    assert stopped.value.code == 0
    assert capsys.readouterr().out.startswith("usage:")


def test_input_pipeline_compares_the_four_ways(synthetic_raw, capsys):
    assert input_pipeline.main(["--width", "4", "--batch-size", "50", "--steps", "2"]) == 0
    printed = capsys.readouterr().out
    assert "data: Synthetic" in printed
    assert printed.count("x\n") == 4  # one ratio per way of feeding the model
    assert "1.00x" in printed


@pytest.mark.parametrize("option", ["--width", "--steps", "--batch-size"])
@pytest.mark.parametrize("value", ["0", "-1"])
def test_input_pipeline_refuses_sizes_below_1(option, value, capsys):
    with pytest.raises(SystemExit) as stopped:
        input_pipeline.parse_args([option, value])
    assert stopped.value.code == 2
    assert f"argument {option}: got '{value}': give a whole number of at least 1" in (
        capsys.readouterr().err)


def test_input_pipeline_refuses_more_steps_than_the_data_has_before_building_a_model(
        synthetic_raw, monkeypatch, capsys):
    monkeypatch.setattr(input_pipeline.resnet, "resnet9", must_not_run)
    with pytest.raises(SystemExit) as stopped:
        input_pipeline.main(["--batch-size", "500", "--steps", "3"])
    assert stopped.value.code == 2
    assert ("3 steps of 500 images need 1,500 training images, and Synthetic has 1,000: lower "
            "--steps or --batch-size") in capsys.readouterr().err
