"""An uploaded file's bytes -> the uint8 RGB array a model trained on CIFAR-10 takes, safely.

Any size, any colour mode: the same centre crop and resize as the deployment notebook uses for
"your own" images, with one note per conversion. Every refusal is an `ImageError` that carries an
HTTP-like status and a message saying what was wrong and what to do, so the web app can pass it
on as it is. Pillow and NumPy only: no Keras here."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageOps

DEFAULT_MAX_BYTES = 10 * 1024 * 1024  # 10 MiB: any photo a phone takes, JPEG-compressed
# 40 megapixels: a 48-megapixel phone camera saves 12-megapixel photos by default. Decoded as
# RGBA, 40 million pixels take 160 MB; a 20,000 x 20,000 "decompression bomb" would take 1.6 GB.
DEFAULT_MAX_PIXELS = 40_000_000
# The formats a browser or a camera produces (JPEG includes a camera's MPO files). Pillow opens
# many more (EPS, PSD, ICNS, ...), some through external programs: no photo upload needs them.
FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF")
# First bytes of those formats, to tell "a damaged image" from "not an image at all".
SIGNATURES = {b"\xff\xd8\xff": "JPEG", b"\x89PNG\r\n\x1a\n": "PNG", b"GIF87a": "GIF",
              b"GIF89a": "GIF", b"BM": "BMP", b"II*\x00": "TIFF", b"MM\x00*": "TIFF"}
WHITE = (255, 255, 255)


class ImageError(ValueError):
    """An upload that cannot become the model's input. `status` is the HTTP status that fits,
    `code` a short name for programs, the message a sentence for people."""

    status = 400
    code = "bad_image"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class EmptyUploadError(ImageError):
    status, code = 400, "empty_file"


class UploadTooLargeError(ImageError):
    status, code = 413, "file_too_large"


class NotAnImageError(ImageError):
    status, code = 415, "not_an_image"


class CorruptImageError(ImageError):
    status, code = 400, "corrupt_image"


class ImageDimensionsError(ImageError):
    status, code = 413, "image_too_large"


def _megabytes(count: int) -> str:
    return f"{count / 1024 / 1024:.1f} MB"


def _sniffed_format(data: bytes) -> str | None:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return next((name for start, name in SIGNATURES.items() if data.startswith(start)), None)


def open_image(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES,
               max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[Image.Image, list[str]]:
    """Decode `data` into a Pillow image (its first frame), refusing what should not be
    decoded. The size in pixels is read from the header and checked BEFORE any pixel is
    decoded; then `.load()` decodes everything, so a truncated file fails here, not later."""
    if not data:
        raise EmptyUploadError("the file is empty (0 bytes): choose an image file, such as a "
                               "JPEG or PNG photo")
    if len(data) > max_bytes:
        raise UploadTooLargeError(f"the file is {_megabytes(len(data))}, over the limit of "
                                  f"{_megabytes(max_bytes)}: send a smaller image (a 32x32 "
                                  f"model needs few pixels)")
    sniffed = _sniffed_format(data)
    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)  # reads the header only
    except Image.DecompressionBombError:  # over Pillow's own limit, far above ours
        raise ImageDimensionsError(f"the image's dimensions are far over the limit of "
                                   f"{max_pixels:,} pixels (a small file that would decode to "
                                   f"a huge image: a decompression bomb): resize it") from None
    except (OSError, SyntaxError, ValueError) as err:
        if sniffed:
            raise CorruptImageError(f"the file starts like a {sniffed} image but cannot be "
                                    f"read ({err}): it may be damaged or cut short; save or "
                                    f"export it again") from None
        raise NotAnImageError("the file is not an image this app can read: send a JPEG, PNG, "
                              "GIF, WebP, BMP or TIFF image") from None
    width, height = image.size
    if width < 1 or height < 1 or width * height > max_pixels:
        raise ImageDimensionsError(f"the image is {width:,} x {height:,} pixels, over the "
                                   f"limit of {max_pixels:,} pixels: resize it (a 32x32 model "
                                   f"needs few pixels)")
    notes = []
    frames = getattr(image, "n_frames", 1)
    if frames > 1:
        notes.append(f"{image.format} with {frames} frames (animated or multi-page): the "
                     f"first frame is used")
    try:
        image.load()  # decodes; with ImageFile.LOAD_TRUNCATED_IMAGES False, a cut file raises
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        raise CorruptImageError(f"the {image.format} image is damaged or cut short and cannot "
                                f"be decoded ({err}): save or export it again") from None
    return image, notes


def _on_white(image: Image.Image) -> Image.Image:
    """Transparent pixels composited on white: CIFAR-10 has no transparency, and black (what
    dropping the alpha channel often shows) would change the image far more."""
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, WHITE + (255,))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _scaled_to_bytes(values: np.ndarray, *, full_scale: float | None) -> tuple[np.ndarray, str]:
    """Numbers of a 16-bit, 32-bit or float image mapped to 0-255 (never clipped)."""
    values = values.astype(np.float64)
    low, high = float(values.min()), float(values.max())
    if full_scale is not None and low >= 0 and high <= full_scale:
        return np.round(values * (255 / full_scale)), f"0-{full_scale:g} scaled to 0-255"
    if high == low:
        return np.zeros_like(values), "a single value, shown as black"
    stretched = (values - low) * (255 / (high - low))
    return np.round(stretched), f"its range {low:g} to {high:g} stretched to 0-255"


def to_rgb(image: Image.Image) -> tuple[Image.Image, list[str]]:
    """Any Pillow mode -> 8-bit RGB, upright, with a note for each change made."""
    notes = []
    orientation = image.getexif().get(0x0112, 1)  # the EXIF Orientation tag
    if orientation in range(2, 9):
        image = ImageOps.exif_transpose(image)
        notes.append(f"turned upright as its EXIF orientation ({orientation}) says: a camera "
                     f"stores the pixels as the sensor saw them and the rotation as a tag")
    mode = image.mode
    if mode == "RGB":
        return image, notes
    if mode in ("RGBA", "RGBa", "LA", "La", "PA") or (
            mode == "P" and "transparency" in image.info):
        kind = {"LA": "grayscale ", "La": "grayscale ", "PA": "palette ",
                "P": "palette "}.get(mode, "")
        rgb = _on_white(image)
        opaque = image.convert("RGBA").getchannel("A").getextrema()[0] == 255
        notes.append(f"{kind}image with an alpha channel, " + (
            "fully opaque: the channel dropped" if opaque else
            "transparent in places: composited on white"))
        return rgb, notes
    if mode == "P":
        notes.append("palette image (indexed colours): each index replaced by its colour")
        return image.convert("RGB"), notes
    if mode in ("L", "1"):
        notes.append("1-bit black and white" if mode == "1" else
                     "grayscale: its one channel copied to red, green and blue")
        return image.convert("RGB"), notes
    if mode.startswith("I") or mode == "F":
        full_scale = {"F": None, "I": None}.get(mode, 65535.0)  # I;16, I;16B, I;16L: 16-bit
        values = np.asarray(image)
        if mode == "F" and values.min() >= 0 and values.max() <= 1:
            full_scale = 1.0
        elif mode == "I" and values.min() >= 0 and values.max() <= 65535:
            full_scale = 65535.0  # a 16-bit image that Pillow holds as 32-bit integers
        scaled, how = _scaled_to_bytes(values, full_scale=full_scale)
        depth = "floating-point" if mode == "F" else (
            "16-bit" if full_scale == 65535.0 else "32-bit")
        notes.append(f"{depth} grayscale: {how}, then copied to red, green and blue")
        gray = Image.fromarray(scaled.astype(np.uint8))
        return gray.convert("RGB"), notes
    if mode == "CMYK":
        notes.append("CMYK (printing colours): converted to RGB")
        return image.convert("RGB"), notes
    try:
        converted = image.convert("RGB")
    except (ValueError, OSError) as err:
        raise NotAnImageError(f"the image's colour mode {mode} cannot be converted to RGB "
                              f"({err}): save it as an RGB JPEG or PNG") from None
    notes.append(f"colour mode {mode}: converted to RGB")
    return converted, notes


def centre_square(width: int, height: int) -> tuple[int, int, int, int]:
    """The box (left, top, right, bottom) of the largest centred square."""
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    return left, top, left + side, top + side


def to_array(image: Image.Image, image_shape: tuple[int, int, int] = (32, 32, 3)
             ) -> tuple[np.ndarray, list[str]]:
    """A decoded Pillow image -> (uint8 array of `image_shape`, notes): RGB, then the centre
    square, resized with a Lanczos filter. Cropping keeps the shapes of objects; squashing a
    4:3 photo into a square would make every object a quarter narrower than the network ever saw
    in training, where all images were square."""
    height, width, channels = _check_shape(image_shape)
    image, notes = to_rgb(image)
    box = centre_square(*image.size)
    if image.size[0] != image.size[1]:
        side = box[2] - box[0]
        notes.append(f"{image.size[0]}x{image.size[1]}: the centre {side}x{side} square kept "
                     f"(cropping, not squashing, keeps the objects' shapes)")
    if (box[2] - box[0], box[3] - box[1]) != (width, height):
        notes.append(f"resized to {width}x{height} (Lanczos filter)")
    # reducing_gap: a large image is first shrunk by whole factors (fast), then resampled;
    # at 3.0 the result is indistinguishable from resampling the full image.
    # (Cropping first: resizing with box= would let the filter reach past the square's edges.)
    image = image.crop(box).resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)
    array = np.asarray(image, dtype=np.uint8)
    assert array.shape == (height, width, channels), array.shape
    return array, notes


def to_model_input(data: bytes, image_shape: tuple[int, int, int] = (32, 32, 3), *,
                   max_bytes: int = DEFAULT_MAX_BYTES, max_pixels: int = DEFAULT_MAX_PIXELS
                   ) -> tuple[np.ndarray, list[str]]:
    """An uploaded file's bytes -> (uint8 RGB array of `image_shape`, notes on what was done).
    Raises an `ImageError` (status, code, a message saying what to do) for anything else."""
    _check_shape(image_shape)
    image, notes = open_image(data, max_bytes=max_bytes, max_pixels=max_pixels)
    with image:
        array, more = to_array(image, image_shape)
    return array, notes + more


def _check_shape(image_shape) -> tuple[int, int, int]:
    shape = tuple(image_shape)
    if len(shape) != 3 or shape[2] != 3 or min(shape) < 1:
        raise ValueError(f"image_shape must be (height, width, 3) for RGB images, got "
                         f"{list(image_shape)}")
    return shape
