"""load_dataset: splits, options, cache, and the errors a student can meet."""

from __future__ import annotations

import errno
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from helpers import data
from helpers.data import paths, sources
from tests.conftest import image_ids, skip_outside_ci


def test_validation_is_stratified_and_disjoint_from_training(synthetic_raw):
    splits = data.load_dataset("cifar10", validation_fraction=0.2, scale=False)
    train_ids, val_ids = image_ids(splits.x_train), image_ids(splits.x_val)
    assert len(train_ids) == 800 and len(val_ids) == 200
    assert not set(train_ids) & set(val_ids)
    assert set(train_ids) | set(val_ids) == set(range(1000))
    assert np.bincount(splits.y_val).tolist() == [20] * 10
    np.testing.assert_array_equal(synthetic_raw[1][train_ids], splits.y_train)


def test_test_set_is_untouched_whatever_the_seed(synthetic_raw):
    first = data.load_dataset("cifar10", seed=1, scale=False)
    second = data.load_dataset("cifar10", seed=2, scale=False)
    np.testing.assert_array_equal(first.x_test, synthetic_raw[2])
    np.testing.assert_array_equal(second.y_test, synthetic_raw[3])
    assert not np.array_equal(image_ids(first.x_val), image_ids(second.x_val))


def test_same_seed_gives_same_split(synthetic_raw):
    first = data.load_dataset("cifar10", seed=7, train_size=300, scale=False)
    second = data.load_dataset("cifar10", seed=7, train_size=300, scale=False)
    np.testing.assert_array_equal(image_ids(first.x_train), image_ids(second.x_train))


def test_train_size_keeps_a_stratified_subset_and_the_full_validation(synthetic_raw):
    splits = data.load_dataset("cifar10", train_size=300, scale=False)
    assert np.bincount(splits.y_train).tolist() == [30] * 10
    assert len(splits.x_val) == 200
    assert not set(image_ids(splits.x_train)) & set(image_ids(splits.x_val))


def test_eval_size_keeps_stratified_subsets_of_validation_and_test(synthetic_raw):
    full = data.load_dataset("cifar10", scale=False)
    small = data.load_dataset("cifar10", eval_size=50, scale=False)
    assert np.bincount(small.y_val).tolist() == [5] * 10
    assert np.bincount(small.y_test).tolist() == [5] * 10
    assert set(image_ids(small.x_val)) <= set(image_ids(full.x_val))
    assert set(image_ids(small.x_test)) <= set(image_ids(full.x_test))
    np.testing.assert_array_equal(small.x_train, full.x_train)
    assert len(data.load_dataset("cifar10", eval_size=10**6).x_val) == len(full.x_val)
    with pytest.raises(ValueError, match="eval_size=5 is smaller than the number of classes"):
        data.load_dataset("cifar10", eval_size=5)


def test_train_size_larger_than_available_is_refused(synthetic_raw):
    with pytest.raises(ValueError, match="exceeds the 800 training images"):
        data.load_dataset("cifar10", train_size=801)


def test_scaling_and_grayscale(synthetic_raw):
    splits = data.load_dataset("cifar10", grayscale=True)
    assert splits.x_train.shape[1:] == (8, 8, 1) and splits.x_train.dtype == np.float32
    assert 0.0 <= splits.x_train.min() and splits.x_train.max() <= 1.0
    assert splits.source == "Synthetic grayscale"


def test_grayscale_uses_luminance_weights():
    pixel = np.array([[[[255, 0, 0], [0, 255, 0], [0, 0, 255]]]], np.uint8)
    assert data.to_grayscale(pixel)[0, 0, :, 0].tolist() == [76, 150, 29]
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\)"):
        data.to_grayscale(np.zeros((2, 8, 8), np.uint8))


@pytest.mark.parametrize(("option", "value", "error"), [
    ("validation_fraction", "0.2", TypeError),
    ("validation_fraction", 1.5, ValueError),
    ("train_size", 10.5, TypeError),
    ("train_size", 0, ValueError),
    ("eval_size", 1.5, TypeError),
    ("eval_size", 0, ValueError),
    ("seed", "42", TypeError),
    ("seed", -1, ValueError),
    ("seed", 2**32, ValueError),
])
def test_wrong_option_types_and_values_are_refused(synthetic_raw, option, value, error):
    with pytest.raises(error, match=option):
        data.load_dataset("cifar10", **{option: value})


def test_check_seed_accepts_the_whole_range_numpy_accepts():
    for seed in (0, 2**32 - 1):
        data.check_seed(seed)
        np.random.default_rng(seed)  # the range is exactly NumPy's
    with pytest.raises(ValueError, match=r"0 <= seed < 2\*\*32.*got -1"):
        data.check_seed(-1)
    with pytest.raises(TypeError, match="seed must be an int"):
        data.check_seed(True)


def test_unknown_dataset_name_lists_the_known_ones():
    with pytest.raises(sources.UnknownDatasetError, match="cifar10, fashion_mnist, mnist"):
        data.load_dataset("cifar100")
    with pytest.raises(TypeError, match="must be a string"):
        data.load_dataset(10)


def test_real_cifar10_splits(cifar_small):
    assert cifar_small.x_train.shape == (2000, 32, 32, 3)
    assert cifar_small.x_val.shape == (10000, 32, 32, 3)
    assert cifar_small.x_test.shape == (10000, 32, 32, 3)
    assert cifar_small.class_names[0] == "airplane" and cifar_small.num_classes == 10
    assert np.bincount(cifar_small.y_test).tolist() == [1000] * 10
    assert 0.3 < cifar_small.x_train.mean() < 0.6  # real photographs, not blank arrays
    assert "CIFAR-10" in cifar_small.source


def test_second_load_reads_the_cache_not_the_archive(cifar_small, monkeypatch):
    def fail(*args):
        raise AssertionError("the archive was decoded again")

    monkeypatch.setattr(sources, "read_local", fail)
    monkeypatch.setattr(sources, "download_with_keras", fail)
    (x_train, *_), _ = data.load_raw("cifar10")
    assert x_train.shape == (50000, 32, 32, 3)


def _jpeg_archive() -> Path:
    found = sources.find_local_source(sources.DATASETS["cifar10"], paths.data_search_dirs())
    if found is None:
        skip_outside_ci("no CIFAR-10 archive is available")
    if found[0].label != "JPEG copy":  # e.g. GitHub's CI, which downloads the official one
        pytest.skip("the local CIFAR-10 is the official archive; this test reads the JPEG copy")
    return found[1][0]


def test_truncated_archive_gets_a_clear_error_and_is_kept(tmp_path, monkeypatch):
    archive = _jpeg_archive()
    monkeypatch.setenv(paths.CACHE_DIR_ENV, str(tmp_path / "cache"))
    broken = tmp_path / archive.name
    broken.write_bytes(archive.read_bytes()[: 1 << 20])
    with pytest.raises(sources.CorruptArchiveError) as caught:
        data.load_dataset("cifar10", data_dir=tmp_path)
    message = str(caught.value)
    assert str(broken) in message and "left in place" in message and "fresh copy" in message
    assert broken.stat().st_size == 1 << 20


def test_archive_that_passes_checksum_but_cannot_be_decoded(tmp_path):
    broken = tmp_path / "cifar10-jpeg.tar.gz"
    broken.write_bytes(b"not a tar file at all")
    with pytest.raises(sources.CorruptArchiveError, match="could not be decoded"):
        sources.read_cifar10_jpeg([broken])
    assert broken.read_bytes() == b"not a tar file at all"


def test_damaged_cache_is_rebuilt(tmp_path, monkeypatch):
    archive = _jpeg_archive()
    shutil.copy(archive, tmp_path / archive.name)
    cache = tmp_path / "cache"
    monkeypatch.setenv(paths.CACHE_DIR_ENV, str(cache))
    cache.mkdir()
    (cache / "cifar10-JPEG-copy.npz").write_bytes(b"half a file")
    raw = (np.zeros((1, 32, 32, 3), np.uint8), np.zeros(1, np.uint8)) * 2
    monkeypatch.setattr(sources, "read_local", lambda source, files: raw)
    (x_train, *_), title = data.load_raw("cifar10", data_dir=tmp_path)
    assert x_train.shape == (1, 32, 32, 3) and title == "CIFAR-10 (JPEG copy)"
    assert data._read_cache(cache / "cifar10-JPEG-copy.npz") is not None


def test_no_network_says_how_to_work_offline(tmp_path, monkeypatch):
    import keras

    def no_network():
        raise Exception("URL fetch failure: [Errno -2] Name or service not known")

    monkeypatch.setenv(paths.CACHE_DIR_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", no_network)
    with pytest.raises(sources.DatasetUnavailableError) as caught:
        data.load_dataset("fashion_mnist", data_dir=tmp_path)
    message = str(caught.value)
    assert "Fashion-MNIST is not available" in message and "Name or service" in message
    assert "fashion-mnist/train-images-idx3-ubyte.gz" in message
    assert str(tmp_path) in message and "COURSE_DATA_DIR" in message


def test_a_failed_cache_write_leaves_no_partial_file_and_warns_once(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv(paths.CACHE_DIR_ENV, str(cache))
    raw = (np.zeros((1, 32, 32, 3), np.uint8), np.zeros(1, np.uint8)) * 2
    monkeypatch.setattr(sources, "find_local_source", lambda spec, dirs: None)
    monkeypatch.setattr(sources, "download_with_keras", lambda spec, dirs: raw)

    def disk_full(file, **arrays):
        Path(file).write_bytes(b"the first megabytes of an archive")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez", disk_full)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        for _ in range(2):
            (x_train, *_), _ = data.load_raw("mnist")
            assert x_train.shape == (1, 32, 32, 3)  # the arrays still come back
    assert list(cache.iterdir()) == []
    messages = [str(warning.message) for warning in caught]
    assert len(messages) == 1, messages
    assert str(cache / "mnist-Keras-download.npz") in messages[0]
    assert "No space left on device" in messages[0]


def _load_with_cache_at(cache: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """load_raw with $COURSE_CACHE_DIR at `cache`; the warnings it gave."""
    monkeypatch.setenv(paths.CACHE_DIR_ENV, str(cache))
    raw = (np.zeros((1, 32, 32, 3), np.uint8), np.zeros(1, np.uint8)) * 2
    monkeypatch.setattr(sources, "find_local_source", lambda spec, dirs: None)
    monkeypatch.setattr(sources, "download_with_keras", lambda spec, dirs: raw)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (x_train, *_), _ = data.load_raw("mnist")
    assert x_train.shape == (1, 32, 32, 3)  # the arrays still come back
    return [str(warning.message) for warning in caught]


def test_a_cache_path_that_is_a_file_costs_only_speed(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    cache.write_text("the user's notes")
    messages = _load_with_cache_at(cache, monkeypatch)
    assert len(messages) == 1 and "could not write the decoded-array cache" in messages[0]
    assert cache.read_text() == "the user's notes"


def test_a_read_only_cache_folder_costs_only_speed(tmp_path, monkeypatch):
    """A read-only mount refuses the write and the clean-up after it alike (as root, chmod
    does not make a folder read-only, so the file system's answer is stood in for)."""
    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(np, "savez", read_only)
    monkeypatch.setattr(Path, "unlink", read_only)
    messages = _load_with_cache_at(tmp_path / "cache", monkeypatch)
    assert len(messages) == 1 and "Read-only file system" in messages[0]
