"""The airbench anchor's data export (course.bench.airbench_anchor): the course's arrays in
airbench's format, and a clear refusal where PyTorch or a CUDA GPU is missing. Training airbench
itself needs a CUDA GPU, which CI never has: that part runs only on the GPU machine."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from course.bench import airbench_anchor
from helpers import data
from helpers.data import sources

CLASSES = sources.dataset_spec("cifar10").class_names


def cifar_like(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, (count, 32, 32, 3), dtype=np.uint8),
            rng.integers(0, 10, count).astype(np.uint8))


def test_arrays_are_airbench_s_format():
    images, labels = cifar_like(6, 0)
    split = airbench_anchor.airbench_arrays(images, labels.reshape(-1, 1), CLASSES)
    assert np.array_equal(split["images"], images) and split["images"].dtype == np.uint8
    assert split["labels"].dtype == np.int64 and split["labels"].tolist() == labels.tolist()
    assert split["classes"] == list(CLASSES)


@pytest.mark.parametrize(("images", "labels", "message"), [
    (np.zeros((2, 32, 32, 3), "float32"), np.zeros(2), "uint8 images of shape"),
    (np.zeros((2, 28, 28, 1), "uint8"), np.zeros(2), "uint8 images of shape"),
    (np.zeros((2, 32, 32, 3), "uint8"), np.zeros(3), "2 images but 3 labels"),
    (np.zeros((2, 32, 32, 3), "uint8"), np.array([0, 10]), "labels must lie in 0..9"),
])
def test_arrays_airbench_cannot_read_are_refused(images, labels, message):
    with pytest.raises(ValueError, match=message):
        airbench_anchor.airbench_arrays(images, labels, CLASSES)


def test_without_pytorch_it_says_so_and_writes_nothing(monkeypatch, tmp_path, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *rest: None if name == "torch" else real(name, *rest))
    monkeypatch.setattr(airbench_anchor, "write_airbench_folder", pytest.fail)
    with pytest.raises(SystemExit) as stopped:
        airbench_anchor.main(["--workdir", str(tmp_path / "work")])
    assert stopped.value.code == 2
    assert "PyTorch is not installed" in capsys.readouterr().err
    assert not (tmp_path / "work").exists()


def test_the_export_writes_what_airbench_loads(monkeypatch, tmp_path):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed here: the export "
                                "writes .pt files with torch.save, checked where it is")
    (x_train, y_train), (x_test, y_test) = cifar_like(20, 1), cifar_like(8, 2)
    monkeypatch.setattr(data, "load_raw", lambda name, data_dir=None: (
        (x_train, y_train, x_test, y_test), "CIFAR-10 (JPEG copy)"))
    title = airbench_anchor.write_airbench_folder(tmp_path)
    assert title == "CIFAR-10 (JPEG copy)"
    for name, images, labels in (("train", x_train, y_train), ("test", x_test, y_test)):
        saved = torch.load(tmp_path / "cifar10" / f"{name}.pt")
        assert saved["images"].dtype == torch.uint8
        assert np.array_equal(saved["images"].numpy(), images)
        assert saved["labels"].dtype == torch.int64
        assert saved["labels"].tolist() == labels.tolist()
        assert saved["classes"] == list(CLASSES)
