"""The train/validation split that `keras.utils.image_dataset_from_directory` will make, known
before it reads a single image, and the duplicates it would put on both sides: leakage, which
makes validation accuracy a memory test.

The file lists come from the functions `image_dataset_from_directory` itself calls, so they match
the installed version exactly, also under JAX, where `image_dataset_from_directory` needs
TensorFlow or Grain to build a dataset. They live in Keras's internal `keras.src` package, which
a release may rearrange: the tests compare the lists with the datasets' own `file_paths`."""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import pandas as pd
from keras.src.utils import dataset_utils

from helpers.own_images import audit, layout


def keras_split(root: str | os.PathLike, validation_split: float, seed: int) -> pd.DataFrame:
    """Where each file goes, as `image_dataset_from_directory(root, validation_split=...,
    seed=..., subset="both")` decides it: one row per file Keras reads (path relative to `root`,
    class, subset "training" or "validation"), in the order Keras lists them.

    Keras shuffles the sorted file list with `seed` and then cuts the last `validation_split` of
    it off as validation, so the split depends on every file present: re-run this after moving
    any file."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int (Keras draws a random one for None, and then no "
                        f"one can know its split), got {seed!r}")
    dataset_utils.check_validation_split_arg(validation_split, "both", True, seed)
    root = Path(root)
    paths, labels, class_names = dataset_utils.index_directory(
        os.fspath(root), "inferred", formats=layout.KERAS_EXTENSIONS, shuffle=True, seed=seed,
        verbose=False)
    rows = []
    with contextlib.redirect_stdout(io.StringIO()):  # it prints "Using N files for ..."
        for subset in ("training", "validation"):
            chosen, chosen_labels = dataset_utils.get_training_or_validation_split(
                paths, labels, validation_split, subset)
            rows += [{"path": layout.relative(Path(path), root), "class": class_names[label],
                      "subset": subset} for path, label in zip(chosen, chosen_labels, strict=True)]
    return pd.DataFrame(rows, columns=["path", "class", "subset"])


def leakage(table: pd.DataFrame, split: pd.DataFrame, *,
            near_threshold: int = audit.NEAR_THRESHOLD) -> pd.DataFrame:
    """Pairs of the same picture (exact or near, as `audit.similar_pairs` finds them in a
    `scan`) with one copy in training and the other in validation: training path, validation
    path, kind, hash distance."""
    subset = split.set_index("path")["subset"]
    pairs = audit.similar_pairs(table, near_threshold=near_threshold)
    side_a, side_b = pairs["path_a"].map(subset), pairs["path_b"].map(subset)
    straddle = side_a.notna() & side_b.notna() & (side_a != side_b)
    pairs, a_trains = pairs[straddle], side_a[straddle] == "training"
    return pd.DataFrame({
        "training": pairs["path_a"].where(a_trains, pairs["path_b"]),
        "validation": pairs["path_b"].where(a_trains, pairs["path_a"]),
        "kind": pairs["kind"], "distance": pairs["distance"],
    }).reset_index(drop=True)
