"""course.reference_rows: a full-profile run becomes reference rows with its provenance; a
shortened run never does."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from course import reference_rows, runner, site
from helpers import ladder

pytestmark = pytest.mark.one_backend


def _run(folder: Path, label: str) -> Path:
    """A run folder as `course run` leaves it, with one notebook and one model."""
    (folder / "08_modern_cnns").mkdir(parents=True)
    (folder / "results.csv").write_text(
        f'notebook,status,seconds,error,run\n08_modern_cnns,ok,600,,"{label}"\n')
    (folder / "08_modern_cnns" / "results.json").write_text(json.dumps({
        "notebook": "08_modern_cnns", "dataset": "CIFAR-10 (JPEG copy)",
        "environment": {"device": "NVIDIA H100 80GB HBM3", "backend": "jax"},
        "training": {"training_pflop": 12.5},
        "models": [{"model": "ResNet-9", "dataset": "CIFAR-10 (JPEG copy)",
                    "parameters": 6_573_130, "epochs": 24, "train_accuracy": 0.95,
                    "val_accuracy": 0.92, "test_accuracy": 0.915, "training_seconds": 14.0,
                    "training_pflop": 2.0}]}))
    return folder


def test_a_full_profile_run_gives_rows_with_their_provenance(tmp_path):
    rows = reference_rows.reference_rows(_run(tmp_path, "2026-12-07 09:00:00, full"),
                                         commit="abc1234", command="tools/device_run.sh "
                                         "reference 08")
    row = rows.iloc[0]
    assert (row["notebook"], row["model"], row["test_accuracy"]) == (
        "08_modern_cnns", "ResNet-9", 0.915)
    assert (row["device"], row["backend"], row["date"], row["commit"]) == (
        "NVIDIA H100 80GB HBM3", "jax", "2026-12-07", "abc1234")
    assert "12.5 PFLOP" in row["note"]


@pytest.mark.parametrize("label", ["2026-12-07 09:00:00, smoke",
                                   "2026-12-07 09:00:00, full, EPOCHS=2", "an earlier run"])
def test_a_shortened_or_altered_run_is_refused(tmp_path, label):
    with pytest.raises(reference_rows.NotAReferenceRun, match="full"):
        reference_rows.reference_rows(_run(tmp_path, label), commit="c", command="c")


def test_recording_replaces_the_same_models_row_on_that_device_and_keeps_the_others(tmp_path):
    table = tmp_path / "reference_results.csv"
    shutil.copy(ladder.REFERENCE_FILE, table)
    before = ladder.reference_results(table)
    rows = reference_rows.reference_rows(_run(tmp_path / "run", "2026-12-07 09:00:00, full"),
                                         commit="c1", command="first")
    reference_rows.record(rows, table)
    again = rows.assign(commit="c2", command="second", test_accuracy=0.917)
    after = reference_rows.record(again, table)
    assert len(after) == len(before) + 1
    mine = after[after["device"] == "NVIDIA H100 80GB HBM3"]
    assert list(mine["commit"]) == ["c2"] and list(mine["test_accuracy"]) == [0.917]
    pd.testing.assert_frame_equal(  # the CPU rows stay as they were
        after[after["device"] != "NVIDIA H100 80GB HBM3"].reset_index(drop=True),
        before.reset_index(drop=True), check_dtype=False)


@pytest.mark.parametrize(("label", "profile"), [
    ("2026-12-07 09:00:00, full", "full"), ("2026-12-07 09:00:00, smoke, EPOCHS=2", "smoke"),
    ("an earlier run", None), ("2026-12-07 09:00:00, nonsense", None)])
def test_run_profile_reads_the_profile_from_a_run_label(label, profile):
    assert runner.run_profile(label) == profile


def test_the_same_run_gives_the_sites_timing_rows_and_they_are_not_repeated(tmp_path):
    run = _run(tmp_path / "run", "2026-12-07 09:00:00, full")
    rows = reference_rows.timing_rows(run, commit="abc1234", command="tools/device_run.sh "
                                      "reference 08")
    assert rows.to_dict("records") == [{
        "notebook": "08_modern_cnns", "kind": "gpu", "device": "NVIDIA H100 80GB HBM3",
        "profile": "full", "backend": "jax", "seconds": 600.0, "date": "2026-12-07",
        "source": "tools/device_run.sh reference 08 (commit abc1234, CIFAR-10 (JPEG copy))"}]
    timings = tmp_path / "timings.csv"
    shutil.copy(Path(__file__).resolve().parents[2] / "site" / "timings.csv", timings)
    before = len(pd.read_csv(timings))
    reference_rows.record_timings(rows, timings)
    after = reference_rows.record_timings(rows, timings)  # recorded twice: one row
    assert len(after) == before + 1
    assert site.read_timings(timings).query("kind == 'gpu'")["minutes"].tolist() == [10.0]
