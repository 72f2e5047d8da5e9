"""The raw readers, on small archives built in the test in each official format."""

from __future__ import annotations

import gzip
import io
import pickle
import struct
import tarfile
from pathlib import Path

import numpy as np
import pytest

from helpers.data import paths, sources


def _add(archive: tarfile.TarFile, name: str, payload: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    archive.addfile(info, io.BytesIO(payload))


def test_reads_the_official_cifar10_python_format(tmp_path: Path):
    rng = np.random.default_rng(0)
    path = tmp_path / "cifar-10-python.tar.gz"
    batches = {}
    with tarfile.open(path, "w:gz") as archive:
        for member in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            images = rng.integers(0, 256, (4, 3, 32, 32), dtype=np.uint8)
            labels = rng.integers(0, 10, 4).tolist()
            batches[member] = (images, labels)
            payload = {b"data": images.reshape(4, -1), b"labels": labels}
            _add(archive, f"cifar-10-batches-py/{member}", pickle.dumps(payload))
    x_train, y_train, x_test, y_test = sources.read_cifar10_python([path])
    assert x_train.shape == (20, 32, 32, 3) and x_test.shape == (4, 32, 32, 3)
    # channels-first rows become channels-last images
    np.testing.assert_array_equal(x_train[0, :, :, 2], batches["data_batch_1"][0][0, 2])
    assert y_test.tolist() == batches["test_batch"][1]


def test_cifar10_python_archive_missing_a_batch_is_corrupt(tmp_path: Path):
    path = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        _add(archive, "cifar-10-batches-py/readme", b"")
    with pytest.raises(sources.CorruptArchiveError, match="data_batch_1"):
        sources.read_cifar10_python([path])


def _idx(path: Path, array: np.ndarray) -> Path:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))
    return path


def test_reads_gzipped_idx_files(tmp_path: Path):
    images = np.arange(2 * 28 * 28).reshape(2, 28, 28) % 256
    files = [_idx(tmp_path / "a", images), _idx(tmp_path / "b", np.array([3, 7])),
             _idx(tmp_path / "c", images[:1]), _idx(tmp_path / "d", np.array([9]))]
    x_train, y_train, x_test, y_test = sources.read_idx_files(files)
    np.testing.assert_array_equal(x_train, images)
    assert y_train.tolist() == [3, 7] and y_test.tolist() == [9] and x_test.shape == (1, 28, 28)


def test_idx_file_of_the_wrong_type_is_corrupt(tmp_path: Path):
    bad = tmp_path / "bad.gz"
    bad.write_bytes(gzip.compress(struct.pack(">HBB", 0, 0x0D, 1) + struct.pack(">I", 1) + b"1234"))
    with pytest.raises(sources.CorruptArchiveError, match="bad.gz"):
        sources.read_idx_files([bad] * 4)


def test_reads_mnist_npz(tmp_path: Path):
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=np.ones((2, 28, 28), np.uint8), y_train=np.array([1, 2], np.uint8),
             x_test=np.zeros((1, 28, 28), np.uint8), y_test=np.array([5], np.uint8))
    x_train, y_train, _, y_test = sources.read_mnist_npz([path])
    assert x_train.shape == (2, 28, 28) and y_train.tolist() == [1, 2] and y_test.tolist() == [5]


def test_checksum_mismatch_names_the_file_and_keeps_it(tmp_path: Path):
    path = tmp_path / "mnist.npz"
    path.write_bytes(b"something else")
    expected = sources.DATASETS["mnist"].sources[0].files[0]
    with pytest.raises(sources.CorruptArchiveError, match="failed its sha256 check") as caught:
        sources.verify_checksum(path, expected)
    assert str(path) in str(caught.value)
    assert path.read_bytes() == b"something else"


def test_file_digest_matches_hashlib(tmp_path: Path):
    import hashlib

    path = tmp_path / "blob"
    path.write_bytes(b"x" * (3 << 20))
    assert sources.file_digest(path, "md5") == hashlib.md5(b"x" * (3 << 20)).hexdigest()


def test_official_archive_wins_over_the_jpeg_copy(tmp_path: Path):
    spec = sources.DATASETS["cifar10"]
    (tmp_path / "cifar10-jpeg.tar.gz").write_bytes(b"")
    assert sources.find_local_source(spec, [tmp_path])[0].label == "JPEG copy"
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(b"")
    assert sources.find_local_source(spec, [tmp_path])[0].label == "official release"
    assert sources.find_local_source(sources.DATASETS["mnist"], [tmp_path]) is None


def test_folder_problem_says_what_is_wrong_with_a_data_folder(tmp_path: Path):
    archive = tmp_path / "cifar10-jpeg.tar.gz"
    archive.write_bytes(b"")
    broken = tmp_path / "drive"
    broken.symlink_to(tmp_path / "unmounted")
    assert paths.folder_problem(tmp_path) is None
    assert paths.folder_problem(tmp_path / "typo") == "does not exist"
    assert paths.folder_problem(archive).startswith("is a file, not a folder")
    assert paths.folder_problem(broken) == f"a broken link to {tmp_path / 'unmounted'}, " \
        "which does not exist"


def test_unavailable_dataset_error_names_what_is_wrong_with_each_folder(tmp_path, monkeypatch):
    import keras

    def no_network():
        raise Exception("URL fetch failure")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", no_network)
    missing, good = tmp_path / "typo", tmp_path / "data"
    good.mkdir()
    with pytest.raises(sources.DatasetUnavailableError) as caught:
        sources.download_with_keras(sources.DATASETS["mnist"], [missing, good])
    message = str(caught.value)
    assert f"{missing} (does not exist)" in message
    assert f"{good} (or point" in message  # a usable folder is named without a complaint
