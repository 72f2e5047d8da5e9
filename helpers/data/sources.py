"""Reading raw dataset files: verify the checksum first, then decode, and turn every failure into
an error that names the file and says what to do."""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import struct
import tarfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from helpers.data.paths import DATA_DIR_ENV, folder_problem

RawSplits = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""x_train, y_train, x_test, y_test as uint8 arrays, labels one-dimensional."""

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
MNIST_CLASSES = tuple(str(digit) for digit in range(10))

# Decoding errors a damaged archive can raise; all become a CorruptArchiveError.
_DECODE_ERRORS = (tarfile.TarError, EOFError, zlib.error, pickle.UnpicklingError, OSError,
                  KeyError, ValueError, UnidentifiedImageError, struct.error)


class DatasetError(Exception):
    """Base class of the course's data errors."""


class UnknownDatasetError(DatasetError, ValueError):
    """A dataset name the course does not know."""


class CorruptArchiveError(DatasetError):
    """A local archive failed its checksum or could not be decoded."""


class DatasetUnavailableError(DatasetError):
    """No local copy and the download failed (typically: no network)."""


@dataclass(frozen=True)
class ArchiveFile:
    """One file of a dataset source, with its published checksum."""

    name: str
    algorithm: str
    digest: str


@dataclass(frozen=True)
class Source:
    """One way of getting a dataset from local files."""

    label: str
    files: tuple[ArchiveFile, ...]
    read: Callable[[Sequence[Path]], RawSplits]


@dataclass(frozen=True)
class DatasetSpec:
    """What the course knows about a dataset: its title, classes and sources in order."""

    title: str
    class_names: tuple[str, ...]
    sources: tuple[Source, ...]
    keras_name: str


def file_digest(path: Path, algorithm: str) -> str:
    """Hex digest of a file, read in chunks so large archives need little memory."""
    digest = hashlib.new(algorithm, usedforsecurity=False)
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_checksum(path: Path, expected: ArchiveFile) -> None:
    """Raise CorruptArchiveError unless `path` has the published checksum. Never deletes it."""
    actual = file_digest(path, expected.algorithm)
    if actual != expected.digest:
        raise CorruptArchiveError(
            f"{path} failed its {expected.algorithm} check (expected {expected.digest}, got "
            f"{actual}): the file is truncated or corrupt. It was left in place; replace it with "
            f"a fresh copy of {expected.name}, or move it away to use the next source.")


def _decode(path: Path, reader: Callable[[], RawSplits]) -> RawSplits:
    try:
        return reader()
    except _DECODE_ERRORS as err:
        raise CorruptArchiveError(
            f"{path} passed its checksum but could not be decoded ({type(err).__name__}: {err}). "
            "It was left in place; replace it with a fresh copy.") from err


def read_cifar10_python(paths: Sequence[Path]) -> RawSplits:
    """Decode the official `cifar-10-python.tar.gz` (pickled batches of 10,000 images)."""
    (path,) = paths

    def batch(archive: tarfile.TarFile, member: str) -> tuple[np.ndarray, np.ndarray]:
        handle = archive.extractfile(f"cifar-10-batches-py/{member}")
        if handle is None:
            raise KeyError(member)
        entry = pickle.load(handle, encoding="bytes")  # safe: checksum verified before this
        images = np.asarray(entry[b"data"], np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        return images, np.asarray(entry[b"labels"], np.uint8)

    def read() -> RawSplits:
        with tarfile.open(path, "r:gz") as archive:
            train = [batch(archive, f"data_batch_{i}") for i in range(1, 6)]
            x_test, y_test = batch(archive, "test_batch")
        x_train = np.concatenate([images for images, _ in train])
        y_train = np.concatenate([labels for _, labels in train])
        return x_train, y_train, x_test, y_test

    return _decode(path, read)


def read_cifar10_jpeg(paths: Sequence[Path]) -> RawSplits:
    """Decode the JPEG copy (`cifar10/{train,test}/<class>/NNNN.jpg`).

    Its files are grouped by class, so each split is shuffled with a fixed seed: every reader
    of this archive sees the same order, and no split starts with 5,000 airplanes."""
    (path,) = paths
    class_index = {name: index for index, name in enumerate(CIFAR10_CLASSES)}

    def read() -> RawSplits:
        found: dict[str, list[tuple[str, int, np.ndarray]]] = {"train": [], "test": []}
        with tarfile.open(path, "r:gz") as archive:
            for member in archive:
                parts = member.name.split("/")
                if not member.isfile() or len(parts) != 4 or not parts[3].endswith(".jpg"):
                    continue
                _, split, class_name, filename = parts
                handle = archive.extractfile(member)
                assert handle is not None  # a regular file always has a handle
                with Image.open(io.BytesIO(handle.read())) as image:
                    pixels = np.asarray(image.convert("RGB"), np.uint8)
                if pixels.shape != (32, 32, 3):
                    raise ValueError(f"{member.name} is {pixels.shape}, expected (32, 32, 3)")
                found[split].append((filename, class_index[class_name], pixels))
        arrays = []
        for split, expected in (("train", 50_000), ("test", 10_000)):
            entries = sorted(found[split], key=lambda entry: (entry[1], entry[0]))
            if len(entries) != expected:
                raise ValueError(f"{split} has {len(entries)} images, expected {expected}")
            order = np.random.default_rng(2009).permutation(len(entries))
            arrays.append(np.stack([entries[i][2] for i in order]))
            arrays.append(np.array([entries[i][1] for i in order], np.uint8))
        return arrays[0], arrays[1], arrays[2], arrays[3]

    return _decode(path, read)


def _read_idx(path: Path) -> np.ndarray:
    """One gzipped IDX file (the MNIST family's format) as a uint8 array."""
    with gzip.open(path, "rb") as handle:
        data = handle.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path.name} is not an unsigned-byte IDX file")
    shape = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def read_idx_files(paths: Sequence[Path]) -> RawSplits:
    """Decode the four gzipped IDX files: train images, train labels, test images, test labels."""
    return _decode(paths[0], lambda: tuple(_read_idx(path) for path in paths))  # type: ignore[return-value]


def read_mnist_npz(paths: Sequence[Path]) -> RawSplits:
    """Decode Keras's `mnist.npz`."""
    (path,) = paths

    def read() -> RawSplits:
        with np.load(path, allow_pickle=False) as arrays:
            return arrays["x_train"], arrays["y_train"], arrays["x_test"], arrays["y_test"]

    return _decode(path, read)


def _fashion_file(name: str, md5: str) -> ArchiveFile:
    return ArchiveFile(f"fashion-mnist/{name}", "md5", md5)


DATASETS: dict[str, DatasetSpec] = {
    "cifar10": DatasetSpec(
        title="CIFAR-10",
        class_names=CIFAR10_CLASSES,
        sources=(
            Source("official release", (ArchiveFile(
                "cifar-10-python.tar.gz", "sha256",
                "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"),),
                read_cifar10_python),
            Source("JPEG copy", (ArchiveFile(
                "cifar10-jpeg.tar.gz", "sha256",
                "7854ea059adc7729ab5267c5269ccc01e6eaeea6549d5f3c834c106bae86e8ee"),),
                read_cifar10_jpeg),
        ),
        keras_name="cifar10",
    ),
    "fashion_mnist": DatasetSpec(
        title="Fashion-MNIST",
        class_names=FASHION_MNIST_CLASSES,
        sources=(Source("official release", (
            _fashion_file("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
            _fashion_file("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
            _fashion_file("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
            _fashion_file("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
        ), read_idx_files),),
        keras_name="fashion_mnist",
    ),
    "mnist": DatasetSpec(
        title="MNIST",
        class_names=MNIST_CLASSES,
        sources=(Source("official release", (ArchiveFile(
            "mnist.npz", "sha256",
            "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"),),
            read_mnist_npz),),
        keras_name="mnist",
    ),
}


def dataset_spec(name: str) -> DatasetSpec:
    """The spec of a known dataset; an unknown name gets an error listing the known ones."""
    if not isinstance(name, str):
        raise TypeError(f"dataset name must be a string, got {type(name).__name__}")
    if name not in DATASETS:
        raise UnknownDatasetError(
            f"unknown dataset {name!r}; known datasets: {', '.join(sorted(DATASETS))}")
    return DATASETS[name]


def find_local_source(
    spec: DatasetSpec, search_dirs: Sequence[Path]
) -> tuple[Source, list[Path]] | None:
    """The first source whose files all lie in one of `search_dirs`, trying sources in order."""
    for source in spec.sources:
        for folder in search_dirs:
            paths = [folder / file.name for file in source.files]
            if all(path.is_file() for path in paths):
                return source, paths
    return None


def read_local(source: Source, paths: Sequence[Path]) -> RawSplits:
    """Verify every file's checksum, then decode them."""
    for path, expected in zip(paths, source.files, strict=True):
        verify_checksum(path, expected)
    return source.read(paths)


def _describe_folder(folder: Path) -> str:
    """A searched folder for an error message, with what is wrong with it if anything: a typo
    in $COURSE_DATA_DIR then reads as "does not exist", not as a missing archive."""
    problem = folder_problem(folder)
    return f"{folder} ({problem})" if problem else str(folder)


def download_with_keras(spec: DatasetSpec, search_dirs: Sequence[Path]) -> RawSplits:
    """Fetch through `keras.datasets` (cached in ~/.keras/datasets); explain how to work offline
    when that fails."""
    import keras

    try:
        (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, spec.keras_name).load_data()
    except Exception as err:  # Keras raises a bare Exception for network failures
        wanted = " or ".join(
            " + ".join(file.name for file in source.files) for source in spec.sources)
        folders = ", ".join(map(_describe_folder, search_dirs))
        raise DatasetUnavailableError(
            f"{spec.title} is not available: no local copy was found and the download failed "
            f"({type(err).__name__}: {err}). To work offline, put {wanted} in one of: "
            f"{folders} (or point the {DATA_DIR_ENV} environment variable at the folder that "
            "holds it).",
        ) from err
    return x_train, y_train.reshape(-1), x_test, y_test.reshape(-1)
