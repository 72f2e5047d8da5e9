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
# The most pixels decoded in full: 16 megapixels, a 5K screenshot (5120 x 2880) or a 4000 x 4000
# PNG, 64 MB as RGBA. A photo is a JPEG, which libjpeg shrinks while decoding it (see
# `open_image`): the limit then counts the pixels decoded, so a 48-megapixel photo decoded at
# 1/8 of its size takes 0.75 megapixels. (Pillow's own limit, 89 million, would let a few KB of
# PNG take 360 MB, and a server decode dozens of those at once.)
DEFAULT_MAX_PIXELS = 16_000_000
# A large image is shrunk by whole factors (averaging blocks of pixels: fast, little memory)
# while it stays this many times the model's side, then resampled with a Lanczos filter; at 3
# the result is indistinguishable from resampling the full image (Pillow's `reducing_gap`).
REDUCING_GAP = 3
# The modes whose pixels may be averaged (16-bit too, as 32-bit): not palette indices, not
# 1-bit images, which are cropped at full size, then converted.
AVERAGEABLE = ("L", "LA", "La", "RGB", "RGBA", "RGBa", "RGBX", "I", "F", "CMYK")
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
               max_pixels: int = DEFAULT_MAX_PIXELS, needed_side: int | None = None
               ) -> tuple[Image.Image, list[str]]:
    """Decode `data` into a Pillow image (its first frame), refusing what should not be
    decoded. The size in pixels is read from the header and checked BEFORE any pixel is
    decoded; then `.load()` decodes everything, so a truncated file fails here, not later.
    With `needed_side`, a JPEG is decoded at 1/2, 1/4 or 1/8 of its size while both sides stay
    at least that long (libjpeg scales as it decodes): the pixels a model never sees are never
    held in memory."""
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
    declared = image.size
    notes = _scaled_while_decoding(image, needed_side)
    _check_pixels(image, declared, max_pixels)
    if getattr(image, "is_animated", False):  # never `n_frames`: a TIFF's walk is quadratic
        notes.append(f"{image.format} with more than one frame (animated or multi-page): the "
                     f"first frame is used")
    try:
        image.load()  # decodes; with ImageFile.LOAD_TRUNCATED_IMAGES False, a cut file raises
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        raise CorruptImageError(f"the {image.format} image is damaged or cut short and cannot "
                                f"be decoded ({err}): save or export it again") from None
    return image, notes


def _scaled_while_decoding(image: Image.Image, needed_side: int | None) -> list[str]:
    """Let libjpeg decode a JPEG at 1/2, 1/4 or 1/8 scale (`Image.draft`; other formats have
    no such option, and it does nothing), keeping both sides at least `needed_side`."""
    if not needed_side:
        return []
    width, height = image.size
    scaled = image.draft(None, (needed_side, needed_side))
    if not scaled or image.size == (width, height):
        return []
    return [f"{width}x{height} {image.format} decoded at 1/{round(width / image.size[0])} "
            f"scale, {image.size[0]}x{image.size[1]} (the model needs few pixels)"]


def _check_pixels(image: Image.Image, declared: tuple[int, int], max_pixels: int) -> None:
    """Refuse an image that would take more than `max_pixels` pixels in memory: its size as it
    will be decoded, which is its `declared` size for most formats and for a progressive JPEG,
    whose decoder holds every pixel's coefficients whatever the scale."""
    width, height = declared
    if width < 1 or height < 1:
        raise CorruptImageError(f"the image's header says it is {width} x {height} pixels: "
                                f"it has no pixels to classify; save or export it again")
    progressive = bool(image.info.get("progressive"))
    kept_width, kept_height = declared if progressive else image.size
    if kept_width * kept_height <= max_pixels:
        return
    why = ""
    if progressive:
        why = " (a progressive JPEG is decoded in full; a baseline JPEG is decoded at 1/8 scale)"
    elif image.size != declared:
        why = f" ({kept_width:,} x {kept_height:,} even decoded at reduced scale)"
    raise ImageDimensionsError(f"the image is {width:,} x {height:,} pixels{why}, over the "
                               f"limit of {max_pixels:,} pixels: resize it (a 32x32 model "
                               f"needs few pixels)")


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


def upright(image: Image.Image) -> tuple[Image.Image, list[str]]:
    """The image turned as its EXIF orientation tag says, with a note when it was turned."""
    orientation = image.getexif().get(0x0112, 1)  # the EXIF Orientation tag
    if orientation not in range(2, 9):
        return image, []
    return ImageOps.exif_transpose(image), [
        f"turned upright as its EXIF orientation ({orientation}) says: a camera stores the "
        f"pixels as the sensor saw them and the rotation as a tag"]


def to_rgb(image: Image.Image) -> tuple[Image.Image, list[str]]:
    """Any Pillow mode -> 8-bit RGB, with a note for each change made."""
    notes = []
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


def shrunk_square(image: Image.Image, box: tuple[int, int, int, int], side: int
                  ) -> tuple[Image.Image, tuple[float, float, float, float]]:
    """The square `box` of `image`, shrunk by the largest whole factor that keeps it at least
    `side` pixels wide (each block of pixels averaged), and the box of the square within the
    result (a fraction of a pixel short of it where the factor does not divide the square).
    Done before the colour conversions, so that none of them copies the full image."""
    factor = (box[2] - box[0]) // side
    if factor < 2 or not (image.mode in AVERAGEABLE or image.mode.startswith("I;16")):
        square = image.crop(box)
        return square, (0, 0, *square.size)
    if image.mode.startswith("I;16"):  # 16-bit: averaged as 32-bit integers, values unchanged
        image = image.convert("I")
    exact = (box[2] - box[0]) / factor
    return image.reduce(factor, box=box), (0, 0, exact, exact)


def to_array(image: Image.Image, image_shape: tuple[int, int, int] = (32, 32, 3)
             ) -> tuple[np.ndarray, list[str]]:
    """A decoded Pillow image -> (uint8 array of `image_shape`, notes): upright, the centre
    square, shrunk, RGB, resized with a Lanczos filter. Cropping keeps the shapes of objects;
    squashing a 4:3 photo into a square would make every object a quarter narrower than the
    network ever saw in training, where all images were square."""
    height, width, channels = _check_shape(image_shape)
    image, notes = upright(image)
    box = centre_square(*image.size)
    square_side = box[2] - box[0]
    sizes = []
    if image.size[0] != image.size[1]:
        sizes.append(f"{image.size[0]}x{image.size[1]}: the centre {square_side}x{square_side} "
                     f"square kept (cropping, not squashing, keeps the objects' shapes)")
    if (square_side, square_side) != (width, height):
        sizes.append(f"resized to {width}x{height} (Lanczos filter)")
    # (Cropping first: a Lanczos filter given the square as a box would reach past its edges.)
    image, inside = shrunk_square(image, box, REDUCING_GAP * max(width, height))
    image, colours = to_rgb(image)
    image = image.resize((width, height), Image.Resampling.LANCZOS, box=inside,
                         reducing_gap=REDUCING_GAP)
    array = np.asarray(image, dtype=np.uint8)
    assert array.shape == (height, width, channels), array.shape
    return array, notes + colours + sizes


def to_model_input(data: bytes, image_shape: tuple[int, int, int] = (32, 32, 3), *,
                   max_bytes: int = DEFAULT_MAX_BYTES, max_pixels: int = DEFAULT_MAX_PIXELS
                   ) -> tuple[np.ndarray, list[str]]:
    """An uploaded file's bytes -> (uint8 RGB array of `image_shape`, notes on what was done).
    Raises an `ImageError` (status, code, a message saying what to do) for anything else."""
    height, width, _ = _check_shape(image_shape)
    image, notes = open_image(data, max_bytes=max_bytes, max_pixels=max_pixels,
                              needed_side=REDUCING_GAP * max(width, height))
    with image:
        array, more = to_array(image, image_shape)
    return array, notes + more


def _check_shape(image_shape) -> tuple[int, int, int]:
    shape = tuple(image_shape)
    if len(shape) != 3 or shape[2] != 3 or min(shape) < 1:
        raise ValueError(f"image_shape must be (height, width, 3) for RGB images, got "
                         f"{list(image_shape)}")
    return shape
