"""Fixtures shared by the unit tests."""

from __future__ import annotations

import os

import numpy as np
import pytest

from helpers import data
from helpers.data import sources


@pytest.fixture(scope="session")
def cifar_small() -> data.Splits:
    """Real CIFAR-10 (whatever local copy $COURSE_DATA_DIR holds), 2,000 training images."""
    try:
        return data.load_dataset("cifar10", train_size=2000, seed=0)
    except sources.DatasetUnavailableError as err:
        skip_outside_ci(f"no CIFAR-10 copy available: {err}")


def skip_outside_ci(reason: str) -> None:
    """Skip on a newcomer's machine without the data; in CI a missing dataset is a failure."""
    if os.environ.get("CI"):
        pytest.fail(f"CI must have the real data: {reason}")
    pytest.skip(reason)


@pytest.fixture
def synthetic_raw(monkeypatch: pytest.MonkeyPatch) -> sources.RawSplits:
    """Replace the raw loader with 1,000 train / 200 test RGB images whose first pixel encodes
    their index, so tests can tell exactly which image went where."""
    rng = np.random.default_rng(0)
    x_train = rng.integers(0, 256, (1000, 8, 8, 3), dtype=np.uint8)
    x_test = rng.integers(0, 256, (200, 8, 8, 3), dtype=np.uint8)
    x_train[:, 0, 0, 0], x_train[:, 0, 0, 1] = np.divmod(np.arange(1000), 256)
    x_test[:, 0, 0, 0], x_test[:, 0, 0, 1] = np.divmod(np.arange(200), 256)
    y_train = np.repeat(np.arange(10, dtype=np.uint8), 100)
    y_test = np.repeat(np.arange(10, dtype=np.uint8), 20)
    raw = (x_train, y_train, x_test, y_test)
    monkeypatch.setattr(data, "load_raw", lambda name, data_dir=None: (raw, "Synthetic"))
    return raw


def image_ids(images: np.ndarray) -> np.ndarray:
    """Recover the indices that `synthetic_raw` encoded in the first pixel."""
    return images[:, 0, 0, 0].astype(int) * 256 + images[:, 0, 0, 1].astype(int)
