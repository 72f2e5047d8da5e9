"""CIFAR-10-C-style corruptions: shape and dtype kept, severity that hurts more as it rises,
lossy JPEG, reproducible noise, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.diagnostics import corruptions


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    """Smooth, photograph-like images (gradients and a disc) rather than pure noise, so blur
    and JPEG behave as on real pictures."""
    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[0:32, 0:32] / 31.0
    batch = []
    for _ in range(6):
        a, b, c = rng.uniform(0.2, 0.8, 3)
        disc = ((rows - a) ** 2 + (cols - b) ** 2 < 0.05).astype(float)
        image = np.stack([rows * a + disc * 0.3, cols * b, (1 - rows) * c], axis=-1)
        batch.append(np.clip(image, 0, 1) * 255)
    return np.round(np.array(batch)).astype(np.uint8)


def mean_change(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(float) - b.astype(float)).mean())


@pytest.mark.parametrize("name", list(corruptions.CORRUPTIONS))
def test_every_corruption_keeps_shape_and_dtype_and_worsens_with_severity(
        images: np.ndarray, name: str) -> None:
    changes = []
    for severity in corruptions.SEVERITIES:
        corrupted = corruptions.corrupt(images, name, severity, seed=0)
        assert corrupted.shape == images.shape and corrupted.dtype == np.uint8
        changes.append(mean_change(corrupted, images))
    assert changes[0] > 0
    assert all(later > earlier for earlier, later in zip(changes, changes[1:], strict=False)), (
        name, changes)


def test_jpeg_is_lossy_and_deterministic(images: np.ndarray) -> None:
    once = corruptions.corrupt(images, "jpeg", 1)
    assert not np.array_equal(once, images)
    np.testing.assert_array_equal(once, corruptions.corrupt(images, "jpeg", 1))


def test_the_same_seed_gives_the_same_noise(images: np.ndarray) -> None:
    first = corruptions.corrupt(images, "gaussian_noise", 3, seed=7)
    np.testing.assert_array_equal(first, corruptions.corrupt(images, "gaussian_noise", 3, seed=7))
    assert not np.array_equal(first, corruptions.corrupt(images, "gaussian_noise", 3, seed=8))


def test_brightness_and_contrast_follow_their_definitions() -> None:
    grey = np.full((1, 2, 2, 3), 100, np.uint8)
    black = np.zeros((1, 2, 2, 3), np.uint8)
    # a grey pixel's HSV value is its level: +0.05 brightens it by 0.05 * 255
    assert corruptions.corrupt(grey, "brightness", 1)[0, 0, 0, 0] == round(100 + 0.05 * 255)
    assert corruptions.corrupt(black, "brightness", 5)[0, 0, 0, 0] == round(0.3 * 255)
    # contrast pulls each pixel towards its image's channel mean by the factor
    two_tone = np.array([[[[0, 0, 0], [200, 200, 200]]]], np.uint8)
    out = corruptions.corrupt(two_tone, "contrast", 2)  # factor 0.5, mean 100
    assert out[0, 0, :, 0].tolist() == [50, 150]
    # a uniform image is unchanged by blur and by contrast
    np.testing.assert_array_equal(corruptions.corrupt(grey, "gaussian_blur", 5), grey)
    np.testing.assert_array_equal(corruptions.corrupt(grey, "contrast", 5), grey)


def test_the_cifar_10_c_constants_are_those_of_the_paper() -> None:
    table = corruptions.parameters_table()
    assert table.loc["gaussian_noise", "severity 1"] == 0.04
    assert table.loc["jpeg"].iloc[1:].tolist() == [80, 65, 58, 50, 40]
    assert corruptions.parameter("contrast", 5) == 0.15


def test_bad_input_fails_clearly(images: np.ndarray) -> None:
    with pytest.raises(ValueError, match="choose from gaussian_noise, gaussian_blur"):
        corruptions.corrupt(images, "fog", 1)
    for severity in (0, 6, 2.0, True):
        with pytest.raises(ValueError, match="severity"):
            corruptions.corrupt(images, "contrast", severity)
    with pytest.raises(ValueError, match="uint8"):
        corruptions.corrupt(images.astype(np.float32), "contrast", 1)
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\)"):
        corruptions.corrupt(images[0], "contrast", 1)
