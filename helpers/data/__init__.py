"""Loading a dataset as train / validation / test splits, with a decoded-array cache."""

from __future__ import annotations

import contextlib
import os
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from helpers.data import paths, sources
from helpers.data.sources import RawSplits

# ITU-R BT.601 luma weights, the usual RGB-to-grayscale conversion.
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


@dataclass(frozen=True)
class Splits:
    """A dataset split three ways. The test set is never shuffled into training or validation."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    source: str

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def describe(self) -> str:
        """One line per split with shape and dtype, for printing in a notebook."""
        return "\n".join(
            f"{split:<10} x {getattr(self, 'x_' + split).shape} {getattr(self, 'x_' + split).dtype}"
            f"   y {getattr(self, 'y_' + split).shape} {getattr(self, 'y_' + split).dtype}"
            for split in ("train", "val", "test"))


def _cache_path(name: str, source_label: str) -> Path:
    return paths.cache_dir() / f"{name}-{source_label.replace(' ', '-')}.npz"


def _read_cache(path: Path) -> RawSplits | None:
    """The cached arrays, or None when there is no usable cache (a damaged one is rebuilt)."""
    try:
        with np.load(path, allow_pickle=False) as arrays:
            return arrays["x_train"], arrays["y_train"], arrays["x_test"], arrays["y_test"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None


def _write_cache(path: Path, raw: RawSplits) -> None:
    """Write atomically, so an interrupted write never leaves a half cache behind. A failed
    write (a full disk, a read-only folder) only costs speed: the partial file is removed, a
    warning says why, and the arrays are still returned."""
    # A name of this process's own: two runs decoding at once (both CI legs) must not write
    # into one partial file.
    partial = path.with_name(f"{path.stem}.{os.getpid()}.partial.npz")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        x_train, y_train, x_test, y_test = raw
        np.savez(partial, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
        os.replace(partial, path)
    except OSError as err:
        with contextlib.suppress(OSError):  # a folder that refused the write may refuse this too
            partial.unlink(missing_ok=True)
        reason = err.strerror or str(err)
        warnings.warn(f"could not write the decoded-array cache {path} ({reason}); the data is "
                      "loaded, but the next load decodes the archive again. Free some space, "
                      f"or point ${paths.CACHE_DIR_ENV} at a writable folder.", stacklevel=3)


def load_raw(name: str, data_dir: str | os.PathLike | None = None) -> tuple[RawSplits, str]:
    """The full train and test arrays of `name` and a label of where they came from.

    Local archives win over the Keras download; decoded arrays are cached per source."""
    spec = sources.dataset_spec(name)
    search_dirs = paths.data_search_dirs(data_dir)
    local = sources.find_local_source(spec, search_dirs)
    source_label = local[0].label if local else "Keras download"
    cache = _cache_path(name, source_label)
    raw = _read_cache(cache) if cache.is_file() else None
    if raw is None:
        if local:
            raw = sources.read_local(*local)
        else:
            raw = sources.download_with_keras(spec, search_dirs)
        _write_cache(cache, raw)
    title = spec.title if source_label != "JPEG copy" else f"{spec.title} (JPEG copy)"
    return raw, title


def _check_options(validation_fraction: float, train_size: int | None, seed: int) -> None:
    if isinstance(validation_fraction, bool) or not isinstance(validation_fraction, float | int):
        raise TypeError(f"validation_fraction must be a number, got {validation_fraction!r}")
    if not 0 < validation_fraction < 1:
        raise ValueError(f"validation_fraction must lie between 0 and 1, got {validation_fraction}")
    _check_size("train_size", train_size)
    check_seed(seed)


def _check_size(name: str, size: int | None) -> None:
    if size is not None and (isinstance(size, bool) or not isinstance(size, int)):
        raise TypeError(f"{name} must be an int or None, got {size!r}")
    if size is not None and size <= 0:
        raise ValueError(f"{name} must be positive, got {size}")


def _stratified_subset(indices: np.ndarray, labels: np.ndarray, size: int, seed: int,
                       split: str) -> np.ndarray:
    """`size` of `indices`, keeping the class proportions; all of them if size is larger."""
    if size >= len(indices):
        return indices
    if size < len(np.unique(labels)):
        raise ValueError(f"eval_size={size} is smaller than the number of classes: the "
                         f"{split} set needs at least one image of each")
    kept, _ = train_test_split(indices, train_size=size, stratify=labels, random_state=seed)
    return np.sort(kept)


def check_seed(seed: int) -> None:
    """Refuse a seed that NumPy and scikit-learn would refuse later, deep in their own code:
    a seed is an int with 0 <= seed < 2**32."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {seed!r}")
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must lie in 0 <= seed < 2**32 (NumPy's and scikit-learn's "
                         f"range), got {seed}")


def to_grayscale(images: np.ndarray) -> np.ndarray:
    """RGB images (N, H, W, 3) to luminance (N, H, W, 1), keeping uint8 as uint8."""
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"expected RGB images of shape (N, H, W, 3), got {images.shape}")
    gray = images.astype(np.float32) @ _LUMA
    if images.dtype == np.uint8:
        gray = np.clip(np.rint(gray), 0, 255).astype(np.uint8)
    return gray[..., np.newaxis]


def load_dataset(
    name: str,
    *,
    validation_fraction: float = 0.2,
    train_size: int | None = None,
    eval_size: int | None = None,
    grayscale: bool = False,
    scale: bool = True,
    seed: int = 42,
    data_dir: str | os.PathLike | None = None,
) -> Splits:
    """Load `cifar10`, `fashion_mnist` or `mnist` as train / validation / test splits.

    The validation set is a stratified `validation_fraction` of the official training set, drawn
    with `seed`; `train_size` then keeps a stratified subset of what is left, and `eval_size` a
    stratified subset of that size of the validation and of the test set (both for quick runs).
    Images come as (N, H, W, C); `scale` maps pixels to float32 in [0, 1]; `grayscale` converts
    RGB to one luminance channel. Labels are integer class indices."""
    _check_options(validation_fraction, train_size, seed)
    _check_size("eval_size", eval_size)
    (x_train, y_train, x_test, y_test), title = load_raw(name, data_dir)
    # Split indices, not images, so each image array is copied only once.
    train_idx, val_idx = train_test_split(np.arange(len(y_train)), test_size=validation_fraction,
                                          stratify=y_train, random_state=seed)
    if train_size is not None and train_size > len(train_idx):
        raise ValueError(f"train_size={train_size} exceeds the {len(train_idx)} training images "
                         f"left after the validation split")
    if train_size is not None and train_size < len(train_idx):
        train_idx, _ = train_test_split(train_idx, train_size=train_size,
                                        stratify=y_train[train_idx], random_state=seed)
    test_idx = np.arange(len(y_test))
    if eval_size is not None:
        val_idx, test_idx = (_stratified_subset(idx, labels[idx], eval_size, seed, name)
                             for idx, labels, name in ((val_idx, y_train, "validation"),
                                                       (test_idx, y_test, "test")))
    x_train, x_val, y_val, y_train = x_train[train_idx], x_train[val_idx], y_train[val_idx], \
        y_train[train_idx]
    x_test, y_test = x_test[test_idx], y_test[test_idx]
    images = [x_train, x_val, x_test]
    if images[0].ndim == 3:
        images = [x[..., np.newaxis] for x in images]
    elif grayscale:
        images = [to_grayscale(x) for x in images]
    if scale:
        # One float32 multiply: ten times faster than astype() followed by a division.
        images = [np.multiply(x, np.float32(1 / 255), dtype=np.float32) for x in images]
    return Splits(images[0], y_train.astype(np.int64), images[1], y_val.astype(np.int64),
                  images[2], y_test.astype(np.int64), sources.dataset_spec(name).class_names,
                  title + (" grayscale" if grayscale else ""))
