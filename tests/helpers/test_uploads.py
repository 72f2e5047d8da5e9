"""helpers.deploy.uploads: any upload -> the model's 32x32 RGB uint8 input, or a clear refusal.

Every test image is made here with Pillow (no binary fixtures), or by the hostile-upload
benchmark's builders; the web app's tests reuse the builders below."""

from __future__ import annotations

import functools
import io
import time
import tracemalloc

import numpy as np
import pytest
from PIL import Image, ImageFile

from course.bench.hostile_uploads import large_pixel_jpeg, many_page_tiff
from helpers.deploy import uploads

RED, BLUE, WHITE = (255, 0, 0), (0, 0, 255), (255, 255, 255)


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def photo(width: int = 64, height: int = 48, seed: int = 0) -> Image.Image:
    """A smooth RGB picture (JPEG-friendly), with some noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 / max(width - 1, 1), y * 255 / max(height - 1, 1),
                     np.full_like(x, 128)], axis=-1)
    noisy = np.clip(base + rng.normal(0, 10, base.shape), 0, 255)
    return Image.fromarray(noisy.astype(np.uint8))


def jpeg(width: int = 64, height: int = 48) -> bytes:
    return encode(photo(width, height), "JPEG", quality=90)


def png(width: int = 64, height: int = 48) -> bytes:
    return encode(photo(width, height), "PNG")


def truncated_jpeg() -> bytes:
    data = jpeg(200, 150)
    return data[:len(data) // 2]


def truncated_png() -> bytes:
    data = png(200, 150)
    return data[:len(data) // 2]


def not_an_image() -> bytes:
    return b"This is a text file, not a picture.\n" * 20


@functools.cache
def bomb(side: int = 20_000) -> bytes:
    """A one-colour PNG of side x side pixels: a few KB that would decode to side**2 bytes."""
    return encode(Image.new("1", (side, side)), "PNG", optimize=True)


def grayscale() -> bytes:
    return encode(photo().convert("L"), "PNG")


def rgba_half_transparent() -> bytes:
    """Left half opaque red, right half fully transparent (its colour black underneath)."""
    pixels = np.zeros((40, 40, 4), np.uint8)
    pixels[:, :20] = (*RED, 255)
    return encode(Image.fromarray(pixels, "RGBA"), "PNG")


def palette_with_transparency() -> bytes:
    """A palette PNG: index 0 red, index 1 blue marked transparent (left red, right blue)."""
    indices = np.zeros((40, 40), np.uint8)
    indices[:, 20:] = 1
    image = Image.fromarray(indices, "P")
    image.putpalette([*RED, *BLUE] + [0] * 762)
    return encode(image, "PNG", transparency=1)


def png_16bit() -> bytes:
    """A 16-bit grayscale ramp whose top row is 0 and bottom row 65535."""
    ramp = np.repeat(np.linspace(0, 65535, 40).round().astype(np.uint16)[:, None], 40, axis=1)
    return encode(Image.fromarray(ramp), "PNG")


def animated_gif(frames: int = 3) -> bytes:
    colours = [RED, (0, 255, 0), BLUE, WHITE][:frames]
    pictures = [Image.new("RGB", (40, 40), colour) for colour in colours]
    return encode(pictures[0], "GIF", save_all=True, append_images=pictures[1:], duration=100,
                  loop=0)


def exif_rotated_jpeg(orientation: int = 6) -> bytes:
    """Left half red, right half blue, as the sensor saw it; EXIF orientation 6 says: turn 90
    degrees clockwise to view. Upright, red is on top and blue at the bottom."""
    pixels = np.zeros((60, 80, 3), np.uint8)
    pixels[:, :40], pixels[:, 40:] = RED, BLUE
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(Image.fromarray(pixels), "JPEG", quality=95, exif=exif.tobytes())


def close_to(pixel, colour, tolerance: int = 12) -> bool:
    return bool(np.all(np.abs(np.asarray(pixel, int) - np.asarray(colour)) <= tolerance))


@pytest.mark.parametrize(("data", "shape"), [
    (jpeg(64, 48), (32, 32, 3)), (png(32, 32), (32, 32, 3)), (png(640, 480), (32, 32, 3)),
    (jpeg(20, 90), (32, 32, 3)), (png(100, 100), (64, 48, 3))])
def test_good_images_of_any_size_become_the_models_input(data, shape):
    array, notes = uploads.to_model_input(data, shape)
    assert array.shape == shape and array.dtype == np.uint8
    assert all(isinstance(note, str) for note in notes)


def test_a_non_square_image_is_centre_cropped_not_squashed():
    """Blue bands at the left and right, red in the middle square: only red survives."""
    pixels = np.zeros((100, 300, 3), np.uint8)
    pixels[:, :100], pixels[:, 100:200], pixels[:, 200:] = BLUE, RED, BLUE
    array, notes = uploads.to_model_input(encode(Image.fromarray(pixels), "PNG"))
    assert close_to(array[:, 0], RED) and close_to(array[:, -1], RED)
    assert any("centre 100x100 square" in note for note in notes)
    assert any("resized to 32x32" in note for note in notes)


def test_an_image_already_32x32_rgb_is_left_alone():
    image = photo(32, 32)
    array, notes = uploads.to_model_input(encode(image, "PNG"))
    np.testing.assert_array_equal(array, np.asarray(image))
    assert notes == []


@pytest.mark.parametrize(("make", "error", "status", "words"), [
    (lambda: b"", uploads.EmptyUploadError, 400, "empty"),
    (not_an_image, uploads.NotAnImageError, 415, "not an image"),
    (truncated_jpeg, uploads.CorruptImageError, 400, "cut short"),
    (truncated_png, uploads.CorruptImageError, 400, "cut short"),
    (lambda: png()[:30], uploads.CorruptImageError, 400, "starts like a PNG"),
    (lambda: b"\xff\xd8\xff" + b"\x00" * 50, uploads.CorruptImageError, 400, "JPEG"),
])
def test_refusals_carry_status_code_and_advice(make, error, status, words):
    with pytest.raises(error, match=words) as refused:
        uploads.to_model_input(make())
    assert refused.value.status == status and refused.value.code
    assert refused.value.detail == str(refused.value)


def test_a_file_over_the_byte_limit_is_refused_before_decoding():
    with pytest.raises(uploads.UploadTooLargeError, match="over the limit") as refused:
        uploads.to_model_input(png(200, 200), max_bytes=1000)
    assert refused.value.status == 413


def test_truncated_files_are_refused_and_the_global_setting_stays_strict():
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    with pytest.raises(uploads.CorruptImageError):
        uploads.to_model_input(truncated_jpeg())
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


@pytest.mark.parametrize("side", [20_000, 8_000, 4_500])
def test_a_decompression_bomb_is_refused_from_its_header_fast_and_small(side):
    """20,000 x 20,000 is over Pillow's own limit too; 8,000 x 8,000 (64 million pixels) and
    4,500 x 4,500 (20 million) are under Pillow's but over ours: all refused without decoding a
    pixel."""
    data = bomb(side)
    assert len(data) < 100_000  # a few KB that would decode to tens or hundreds of MB
    max_image_pixels = Image.MAX_IMAGE_PIXELS
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(uploads.ImageDimensionsError, match="pixels") as refused:
            uploads.to_model_input(data)
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert refused.value.status == 413
    assert seconds < 1 and peak < 5_000_000  # decoding would take seconds and 64+ MB
    assert Image.MAX_IMAGE_PIXELS == max_image_pixels  # Pillow's global limit left alone


def test_the_pixel_limit_is_a_parameter():
    with pytest.raises(uploads.ImageDimensionsError, match="64 x 48 pixels"):
        uploads.to_model_input(png(64, 48), max_pixels=1000)


def test_a_large_jpeg_is_decoded_at_reduced_scale():
    """A 4000 x 4000 JPEG is decoded at 1/8 scale (500 x 500), under a pixel limit its full size
    is far over; what the model gets is what a full decode would give, within JPEG's noise."""
    data = large_pixel_jpeg(4000)
    image, notes = uploads.open_image(data, max_pixels=300_000, needed_side=96)
    assert image.size == (500, 500)
    assert any("4000x4000 JPEG decoded at 1/8 scale, 500x500" in note for note in notes), notes
    array, _ = uploads.to_model_input(data, max_pixels=300_000)
    full, _ = uploads.to_array(Image.open(io.BytesIO(data)))
    assert np.abs(array.astype(int) - full.astype(int)).max() <= 3


def test_a_progressive_jpeg_counts_all_its_pixels():
    """libjpeg holds a progressive JPEG's coefficients for every pixel, whatever the scale."""
    with pytest.raises(uploads.ImageDimensionsError, match="progressive JPEG"):
        uploads.to_model_input(large_pixel_jpeg(1000, progressive=True), max_pixels=500_000)
    array, _ = uploads.to_model_input(large_pixel_jpeg(1000), max_pixels=500_000)
    assert array.shape == (32, 32, 3)


def test_a_16_bit_image_is_shrunk_before_its_values_are_scaled():
    """The values of a 16-bit image are scaled with NumPy in 64-bit floats: on the full image,
    3000 x 3000 pixels would take 72 MB per copy; shrunk first, a fraction of one."""
    ramp = np.linspace(0, 65535, 3000).astype(np.uint16)
    data = encode(Image.fromarray(np.repeat(ramp[:, None], 3000, axis=1)), "PNG",
                  compress_level=1)
    tracemalloc.start()
    try:
        array, notes = uploads.to_model_input(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10_000_000, f"{peak / 1e6:.0f} MB traced"
    assert any("16-bit" in note for note in notes)
    assert array[0, 16, 0] <= 8 and array[-1, 16, 0] >= 247


def test_a_tiff_of_100000_pages_is_read_without_walking_them():
    """Counting a TIFF's pages reads each page's header and grows with their square:
    49 s of CPU for 100,000 pages. Only the first page is read."""
    data = many_page_tiff(100_000)
    assert len(data) < uploads.DEFAULT_MAX_BYTES
    start = time.process_time()
    array, notes = uploads.to_model_input(data)
    assert time.process_time() - start < 5  # seconds, not a minute
    assert any("TIFF with more than one frame" in note for note in notes), notes
    assert (array == 128).all()


def test_grayscale_becomes_three_equal_channels():
    array, notes = uploads.to_model_input(grayscale())
    assert np.array_equal(array[..., 0], array[..., 1]) and np.array_equal(array[..., 1],
                                                                          array[..., 2])
    assert any("grayscale" in note for note in notes)


def test_transparent_pixels_are_composited_on_white():
    array, notes = uploads.to_model_input(rgba_half_transparent())
    assert close_to(array[16, 2], RED) and close_to(array[16, -3], WHITE)
    assert any("composited on white" in note for note in notes)


def test_an_opaque_alpha_channel_is_dropped_with_a_note():
    array, notes = uploads.to_model_input(encode(photo().convert("RGBA"), "PNG"))
    assert any("fully opaque" in note for note in notes)
    assert array.shape == (32, 32, 3)


def test_palette_transparency_is_composited_on_white():
    array, notes = uploads.to_model_input(palette_with_transparency())
    assert close_to(array[16, 2], RED) and close_to(array[16, -3], WHITE)
    assert any("palette image with an alpha channel" in note for note in notes)


def test_a_palette_gif_without_transparency_gets_its_colours():
    indices = np.zeros((40, 40), np.uint8)
    indices[:, 20:] = 1
    image = Image.fromarray(indices, "P")
    image.putpalette([*RED, *BLUE] + [0] * 762)
    array, notes = uploads.to_model_input(encode(image, "GIF"))
    assert close_to(array[16, 2], RED) and close_to(array[16, -3], BLUE)
    assert any("palette" in note for note in notes)


def test_16_bit_is_scaled_not_clipped():
    array, notes = uploads.to_model_input(png_16bit())
    column = array[:, 16, 0].astype(int)
    assert column[0] <= 8 and column[-1] >= 247  # the full range, black to white
    assert len(np.unique(column)) > 20  # a ramp, not a few clipped values
    assert np.all(np.diff(column) >= -1)
    assert any("16-bit" in note for note in notes)


def test_float_images_in_0_1_are_scaled_and_others_stretched():
    ramp = np.repeat(np.linspace(0, 1, 40, dtype=np.float32)[:, None], 40, axis=1)
    array, notes = uploads.to_model_input(encode(Image.fromarray(ramp), "TIFF"))
    assert array[0, 0, 0] <= 8 and array[-1, 0, 0] >= 247
    assert any("0-1 scaled" in note for note in notes)
    _, notes = uploads.to_model_input(encode(Image.fromarray(ramp * 1000 - 500), "TIFF"))
    assert any("stretched" in note for note in notes)


def test_one_bit_and_cmyk_are_converted():
    _, notes = uploads.to_model_input(encode(photo().convert("1"), "PNG"))
    assert any("1-bit" in note for note in notes)
    array, notes = uploads.to_model_input(encode(Image.new("CMYK", (40, 40), (0, 255, 255, 0)),
                                                "JPEG"))
    assert close_to(array[16, 16], RED, tolerance=20)
    assert any("CMYK" in note for note in notes)


@pytest.mark.parametrize("fmt", ["GIF", "PNG", "WEBP"])
def test_animated_images_use_their_first_frame(fmt):
    pictures = [Image.new("RGB", (40, 40), colour) for colour in (RED, (0, 255, 0), BLUE)]
    data = (animated_gif() if fmt == "GIF" else
            encode(pictures[0], fmt, save_all=True, append_images=pictures[1:], duration=100,
                   **({"lossless": True} if fmt == "WEBP" else {})))
    array, notes = uploads.to_model_input(data)
    assert close_to(array[16, 16], RED)
    assert any("more than one frame" in note and "first frame" in note for note in notes)


def test_exif_orientation_is_applied():
    """Stored: red left, blue right. Orientation 6 turns it clockwise: red on top."""
    array, notes = uploads.to_model_input(exif_rotated_jpeg(6))
    assert close_to(array[0, 16], RED) and close_to(array[-1, 16], BLUE)
    assert any("EXIF orientation (6)" in note for note in notes)
    plain, _ = uploads.to_model_input(exif_rotated_jpeg(1))
    assert close_to(plain[16, 0], RED) and close_to(plain[16, -1], BLUE)


def test_other_formats_pillow_knows_are_not_opened():
    """An icon file is an image to Pillow, but not one a photo upload needs."""
    with pytest.raises(uploads.NotAnImageError):
        uploads.to_model_input(encode(photo(32, 32), "ICO"))


def test_a_bad_image_shape_is_a_programming_error():
    with pytest.raises(ValueError, match="RGB"):
        uploads.to_model_input(png(), (32, 32, 1))
