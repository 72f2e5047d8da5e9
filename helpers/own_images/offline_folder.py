"""A folder of real JPEG files to practise on where nothing can be downloaded: a few CIFAR-10
classes (the course's local copy) with unequal counts, upscaled, plus planted problems of the
kinds real folders have, so that the audit has something to find and a test can check it found
each one.

It never writes over anything of the student's: it writes only into a new or empty folder, or
into one that holds its marker file, and then replaces only the files it wrote there before."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd
from PIL import Image

from helpers.data import load_raw
from helpers.data.sources import CIFAR10_CLASSES
from helpers.own_images import audit, splits

MARKER = ".course-offline-folder.json"
# Unequal on purpose: the largest class has five times as many images as the smallest.
DEFAULT_COUNTS = MappingProxyType({"airplane": 300, "automobile": 200, "bird": 120, "ship": 60})
UNICODE_NAME = "Été à Zürich 01.jpg"  # spaces and accents: a valid image, not a problem
NOT_A_PROBLEM = "none"
# What a failed download saves under the photo's name.
_HTML_PAGE = (b"<!DOCTYPE html>\n<html><head><title>403 Forbidden</title></head>\n"
              b"<body><h1>Forbidden</h1><p>You don't have permission to access this resource."
              b"</p></body></html>\n")


def _claim(folder: Path) -> None:
    """Make `folder` ours to write: new, empty, or holding only files an earlier call wrote
    (listed in its marker), which are then removed. Anything else there makes it refuse, before
    it removes a thing."""
    if folder.exists() and not folder.is_dir():
        raise FileExistsError(f"{folder} is a file; choose a folder name for the images")
    marker = folder / MARKER
    ours = {marker}
    if marker.is_file():
        ours |= {folder / relative for relative in json.loads(marker.read_text())["files"]}
    present = {path for path in folder.rglob("*") if not path.is_dir()} if folder.exists() \
        else set()
    if present - ours:
        raise FileExistsError(
            f"{folder} holds files this function did not write ({len(present - ours)}, such as "
            f"{min(present - ours)}); it never writes over them. Choose a new or empty folder.")
    for path in present:
        path.unlink()
    for directory in sorted((p for p in folder.rglob("*") if p.is_dir()), reverse=True):
        directory.rmdir()  # empty now: deepest first
    folder.mkdir(parents=True, exist_ok=True)


def _encode(image: Image.Image, fmt: str = "JPEG", **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **({"quality": 90} if fmt == "JPEG" else {}) | options)
    return buffer.getvalue()


def _sideways(image: Image.Image) -> bytes:
    """The picture stored turned a quarter anticlockwise, as a phone held upright stores it, with
    EXIF orientation 6 ("turn clockwise to view")."""
    exif = Image.Exif()
    exif[audit.ORIENTATION_TAG] = 6
    return _encode(image.transpose(Image.Transpose.ROTATE_90), exif=exif)


def _halved(data: bytes) -> bytes:
    return data[:len(data) // 2]


def _with_transparency(image: Image.Image) -> Image.Image:
    """The picture with its right half fading to fully transparent, as a cut-out PNG is."""
    alpha = np.tile(np.clip(np.linspace(510, -255, image.width), 0, 255).astype(np.uint8),
                    (image.height, 1))
    rgba = image.convert("RGBA")
    rgba.putalpha(Image.fromarray(alpha))
    return rgba


def write_offline_folder(folder: str | os.PathLike, *,
                         counts: Mapping[str, int] = DEFAULT_COUNTS, size: int = 64,
                         validation_split: float = 0.2, seed: int = 42,
                         data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """Write `counts[class]` CIFAR-10 training images per class into `folder/<class>/` as JPEG
    files of `size` x `size` pixels (upscaled from 32), then plant the problems; return one row
    per planted file: path, class, problem (as `audit` names it, "none" for the valid file with
    an unusual name), what was planted, the file it copies (duplicates), and whether the copy
    and its original straddle the split.

    The exact and the near duplicate within a class are planted on opposite sides of the split
    that `image_dataset_from_directory(validation_split=validation_split, seed=seed)` makes of
    the folder as written (where the class has images on both sides), so the leakage check has
    something to find."""
    unknown = sorted(set(counts) - set(CIFAR10_CLASSES))
    if unknown or len(counts) < 2 or not 2 <= min(counts.values()) <= max(counts.values()) <= 4990:
        raise ValueError(f"counts needs two or more CIFAR-10 classes ({', '.join(CIFAR10_CLASSES)})"
                         f" with 2 to 4,990 images each; got {dict(counts)}")
    if size < audit.DEFAULT_MIN_SIDE:
        raise ValueError(f"size must be at least {audit.DEFAULT_MIN_SIDE} (smaller counts as tiny)"
                         f", got {size}")
    folder = Path(folder)
    (x_train, y_train, _, _), _ = load_raw("cifar10", data_dir)
    classes = list(counts)
    # The planted images are the next pictures of their class, after the regular ones.
    pool = {cls: iter(np.flatnonzero(y_train == CIFAR10_CLASSES.index(cls))) for cls in classes}

    def picture(cls: str) -> Image.Image:
        pixels = x_train[next(pool[cls])]
        return Image.fromarray(pixels).resize((size, size), Image.Resampling.BICUBIC)

    # Numbered as in the course's JPEG copy; the planted files' names (IMG_..., scan_...) sort
    # after these, so the audit keeps the regular file of a duplicate pair and flags the copy.
    files = {f"{cls}/{number:04d}.jpg": _encode(picture(cls))
             for cls in classes for number in range(counts[cls])}
    regular = sorted(files)
    first, second, third, last = (classes[i % len(classes)] for i in (0, 1, 2, -1))
    planted = [
        (f"{second}/IMG_3104.jpg", audit.NOT_AN_IMAGE, "an HTML error page saved as .jpg",
         _HTML_PAGE),
        (f"{first}/IMG_2277.jpg", audit.CORRUPT, "a JPEG cut off halfway (an interrupted "
         "download)", _halved(_encode(picture(first)))),
        (f"{second}/IMG_0412.jpg", audit.TINY, f"a {size // 4}x{size // 4} thumbnail",
         _encode(picture(second).resize((size // 4, size // 4), Image.Resampling.LANCZOS))),
        (f"{third}/IMG_1871.jpg", audit.COLOUR_MODE, "a grayscale JPEG (mode L)",
         _encode(picture(third).convert("L"))),
        (f"{last}/IMG_5530.png", audit.COLOUR_MODE, "a PNG with transparency (mode RGBA)",
         _encode(_with_transparency(picture(last)), "PNG")),
        (f"{second}/IMG_0930.jpg", audit.COLOUR_MODE, "a CMYK JPEG, as print workflows save",
         _encode(picture(second).convert("CMYK"))),
        (f"{third}/IMG_2950.jpg", audit.ROTATED, "a phone photo stored sideways with an EXIF "
         "tag that tells viewers to turn it", _sideways(picture(third))),
        (f"{first}/scan_0001.tif", audit.SKIPPED_BY_KERAS, "a TIFF scan: a valid image Keras "
         "does not read", _encode(picture(first), "TIFF")),
        (f"{last}/{UNICODE_NAME}", NOT_A_PROBLEM, "a valid JPEG whose name has spaces and "
         "accents", _encode(picture(last))),
    ]
    rows = [{"path": path, "class": path.split("/")[0], "problem": problem, "planted": what,
             "original": "", "straddles_split": False} for path, problem, what, _ in planted]
    files.update({path: data for path, _, _, data in planted})
    copies = [(f"{first}/IMG_0871.jpg", first, audit.EXACT_DUPLICATE,
               "an exact copy of another file of its class, on the other side of the split"),
              (f"{third}/IMG_0872.jpg", third, audit.NEAR_DUPLICATE,
               "the same picture as another file of its class, re-encoded at quality 60 and "
               "resized by 10%, on the other side of the split"),
              (f"{last}/IMG_1999.jpg", first, audit.EXACT_DUPLICATE,
               f"an exact copy of a {first} image in class {last}")]
    for path, *_ in copies:  # placeholders, so that the split below sees every file
        files[path] = b""
    _claim(folder)
    _write(folder, files)
    split = splits.keras_split(folder, validation_split, seed).set_index("path")["subset"]
    for path, source_class, problem, what in copies:
        used = {row["original"] for row in rows}
        candidates = [candidate for candidate in regular if candidate not in used
                      and candidate.startswith(f"{source_class}/")]
        opposite = [candidate for candidate in candidates if split[candidate] != split[path]]
        # Within a class, on the other side of the split where the class has an image there.
        straddles = path.startswith(f"{source_class}/") and bool(opposite)
        original = opposite[0] if straddles else candidates[0]
        data = files[original]
        if problem == audit.NEAR_DUPLICATE:
            smaller = size * 9 // 10
            with Image.open(io.BytesIO(data)) as image:
                data = _encode(image.resize((smaller, smaller), Image.Resampling.BICUBIC),
                               quality=60)
        (folder / path).write_bytes(data)
        rows.append({"path": path, "class": path.split("/")[0], "problem": problem,
                     "planted": what, "original": original, "straddles_split": straddles})
    return pd.DataFrame(rows)


def _write(folder: Path, files: dict[str, bytes]) -> None:
    """Write the marker first, so that a run cut short can still be cleaned by the next."""
    (folder / MARKER).write_text(json.dumps({"files": sorted(files)}, ensure_ascii=False))
    for relative, data in files.items():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
