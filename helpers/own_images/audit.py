"""Finding a folder's problems by code, not by eye: files that are not images or are damaged (a
classic cause of a crash in the middle of an epoch), exact and near duplicates, tiny images,
colour modes other than RGB, photos that only look upright, and how unequal the classes are.

`scan` reads every file once; `find_problems` turns the scan into one row per file and problem."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageFile, UnidentifiedImageError
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from helpers.data.sources import file_digest
from helpers.own_images import layout

# Problems, as `find_problems` names them.
NOT_AN_IMAGE = "not an image"
CORRUPT = "corrupt"
SKIPPED_BY_KERAS = "skipped by Keras"
OUTSIDE_CLASSES = "outside class folders"
EXACT_DUPLICATE = "exact duplicate"
NEAR_DUPLICATE = "near duplicate"
TINY = "tiny"
COLOUR_MODE = "colour mode"
ROTATED = "EXIF rotation"

# The EXIF tag that tells a viewer to turn (or mirror) the stored pixels: phones set it rather
# than rotate the picture. Keras decodes the pixels as stored (TensorFlow's decoder ignores the
# tag: https://github.com/tensorflow/tensorflow/issues/8430).
ORIENTATION_TAG = 0x0112

HASH_BITS = 64
# Hamming distances between difference hashes up to this count as "the same picture". Measured
# on the offline folder (700 CIFAR-10 images at 64x64): its planted near duplicate (re-encoded,
# resized by 10%) is 4 bits from its original, a near duplicate that CIFAR-10 itself holds 3,
# and the closest different pictures 8. Near duplicates are candidates for review, not proof.
NEAR_THRESHOLD = 6
DEFAULT_MIN_SIDE = 32

# Why a mode other than RGB deserves a look. Keras decodes all of them to RGB without complaint,
# which is the point: the model then sees something the photo did not show.
MODE_NOTES = {
    "L": "grayscale: decoded as three equal channels, so the model sees no colour in it",
    "LA": "grayscale with transparency: the alpha channel is dropped",
    "RGBA": "transparency: the alpha channel is dropped, and what was transparent shows the "
            "colours stored under it",
    "P": "palette colours: converted to RGB when decoded",
    "CMYK": "print colours: converted to RGB when decoded; check that they look right",
    "I;16": "16 bits per channel: reduced to 8 bits when decoded",
}

_READ_ERRORS = (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError)
_POPCOUNT = np.array([bin(byte).count("1") for byte in range(256)], np.uint8)


def difference_hash(image: Image.Image) -> str:
    """A 64-bit perceptual hash (Krawetz's dHash) as 16 hex digits: the picture shrunk to 9x8
    grey pixels, one bit per pair of neighbours saying which is brighter. Re-encoding or
    resizing a picture barely changes it. Hex text, because a table column of 64-bit integers
    with gaps would turn into floats and lose bits."""
    if image.mode.startswith("I;16"):  # Pillow clips 16-bit values when converting to "L"
        image = Image.fromarray((np.asarray(image) >> 8).astype(np.uint8))
    small = image.convert("L").resize((9, 8), Image.Resampling.BOX)
    pixels = np.asarray(small, np.int16)
    return np.packbits(pixels[:, 1:] > pixels[:, :-1]).tobytes().hex()


def _read(path: Path) -> dict[str, object]:
    """What one file is: its format, mode and size and its hash, or why it cannot be read.

    `verify` checks the structure without decoding; a truncated JPEG passes it, so the image is
    then decoded too (a JPEG at reduced scale, which still reads every byte and leaves fewer
    pixels to hash)."""
    try:
        with Image.open(path) as image:
            image.verify()
        with Image.open(path) as image:
            facts: dict[str, object] = {
                "format": image.format, "mode": image.mode, "width": image.width,
                "height": image.height,
                "orientation": image.getexif().get(ORIENTATION_TAG, 1)}
            image.draft(image.mode, (64, 64))
            facts["dhash"] = difference_hash(image)  # decodes every byte: truncation fails here
    except UnidentifiedImageError:
        return {"error": NOT_AN_IMAGE, "error_detail": "Pillow cannot identify it as an image"}
    except _READ_ERRORS as err:
        return {"error": CORRUPT, "error_detail": f"{type(err).__name__}: {err}"}
    return facts


@contextlib.contextmanager
def _truncated_images_refused() -> Iterator[None]:
    """Pillow's `LOAD_TRUNCATED_IMAGES = True`, common advice against "image file is truncated"
    errors, would hide exactly the files a scan looks for: switch it off while scanning."""
    setting = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        yield
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = setting


def scan(root: str | os.PathLike) -> pd.DataFrame:
    """One row per file under the class folders (and per image lying outside them): path
    relative to `root`, class, whether Keras reads it, size in bytes, sha256, format, mode,
    width, height, EXIF orientation (1 is upright), difference hash, and `error` and
    `error_detail` where Pillow cannot read it."""
    root = Path(root)
    placed = [(cls, path) for cls, paths in layout.class_files(root).items() for path in paths]
    loose = [("", path) for path in layout.loose_files(root) if layout.is_read_by_keras(path)]
    with _truncated_images_refused():
        rows = [{"path": layout.relative(path, root), "class": cls,
                 "read_by_keras": layout.is_read_by_keras(path), "bytes": path.stat().st_size,
                 "sha256": file_digest(path, "sha256"), **_read(path)}
                for cls, path in placed + loose]
    columns = ["path", "class", "read_by_keras", "bytes", "sha256", "format", "mode", "width",
               "height", "orientation", "dhash", "error", "error_detail"]
    table = pd.DataFrame(rows).reindex(columns=columns)
    return table.astype({"width": "Int64", "height": "Int64", "orientation": "Int64"})


def _readable(table: pd.DataFrame) -> pd.DataFrame:
    return table[table["error"].isna() & table["read_by_keras"] & (table["class"] != "")]


def hash_values(hashes: pd.Series) -> np.ndarray:
    """Hex difference hashes as unsigned 64-bit integers, for `hamming`."""
    return np.array([int(value, 16) for value in hashes], np.uint64)


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bits that differ between two arrays of 64-bit hashes (broadcast): NumPy 2's
    `bitwise_count`, else (NumPy 1.26, which the course still allows) a table of bit counts
    per byte, 70 times slower."""
    differ = np.bitwise_xor(a, b)
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(differ).astype(np.int64)
    return _POPCOUNT[differ[..., np.newaxis].view(np.uint8)].sum(axis=-1, dtype=np.int64)


def similar_pairs(table: pd.DataFrame, *, near_threshold: int = NEAR_THRESHOLD,
                  chunk: int = 512) -> pd.DataFrame:
    """Every pair of readable images whose hashes differ in at most `near_threshold` bits: `kind`
    is "exact" for the same bytes, else "near". All pairs are compared, a block of rows at a
    time to bound memory (10,000 images make 50 million pairs: 2 s on a 2-core CPU)."""
    images = _readable(table).reset_index(drop=True)
    hashes = hash_values(images["dhash"])
    firsts, seconds, distances = [np.array([], int)], [np.array([], int)], [np.array([], int)]
    for start in range(0, len(images), chunk):
        block = hamming(hashes[start:start + chunk, np.newaxis], hashes[np.newaxis, :])
        rows, columns = np.nonzero(block <= near_threshold)
        later = columns > rows + start
        rows, columns = rows[later], columns[later]
        firsts.append(rows + start)
        seconds.append(columns)
        distances.append(block[rows, columns])
    first, second = np.concatenate(firsts), np.concatenate(seconds)
    pairs = pd.DataFrame({"path_a": images["path"].to_numpy()[first],
                          "path_b": images["path"].to_numpy()[second],
                          "distance": np.concatenate(distances)})
    same = images["sha256"].to_numpy()[first] == images["sha256"].to_numpy()[second]
    pairs["kind"] = np.where(same, "exact", "near")
    return pairs


def _groups(paths: list[str], pairs: pd.DataFrame) -> list[list[str]]:
    """Connected groups (two or more paths) of a graph whose edges are `pairs`, each sorted."""
    index = {path: i for i, path in enumerate(paths)}
    rows = pairs["path_a"].map(index).to_numpy()
    columns = pairs["path_b"].map(index).to_numpy()
    graph = coo_matrix((np.ones(len(rows)), (rows, columns)), shape=(len(paths), len(paths)))
    _, labels = connected_components(graph, directed=False)
    members: dict[int, list[str]] = {}
    for path, label in zip(paths, labels, strict=True):
        members.setdefault(label, []).append(path)
    return [sorted(group) for group in members.values() if len(group) > 1]


def _duplicate_findings(images: pd.DataFrame, groups: list[list[str]], problem: str,
                        ) -> list[dict[str, str]]:
    """Within one class, every copy but the first (by path) is flagged: keep one, review the
    rest. Across classes every member is flagged: which label is right is the student's call."""
    cls = images.set_index("path")["class"]
    rows = []
    for group in groups:
        classes = sorted(set(cls[group]))
        if len(classes) == 1:
            rows += [{"path": path, "problem": problem, "detail": f"same picture as {group[0]}"}
                     for path in group[1:]]
        else:
            for path in group:
                others = ", ".join(other for other in group if other != path)
                rows.append({"path": path, "problem": problem,
                             "detail": f"same picture in classes {', '.join(classes)} "
                                       f"({others}): which label is right?"})
    return rows


def find_problems(table: pd.DataFrame, *, min_side: int = DEFAULT_MIN_SIDE,
                  near_threshold: int = NEAR_THRESHOLD) -> pd.DataFrame:
    """One row per file and problem found in a `scan`: path, class, problem, detail.

    A file Pillow cannot read gets that one row. Exact duplicates share their bytes (sha256);
    near duplicates share their picture (difference hashes at most `near_threshold` bits apart)
    but not their bytes. Images whose shorter side is under `min_side` pixels are tiny. A photo
    with an EXIF orientation other than upright is shown turned by viewers but not by Keras."""
    rows = []
    for file in table.to_dict("records"):
        if not file["read_by_keras"]:
            kind = "not an image" if pd.notna(file["error"]) else f"a {file['format']} image"
            rows.append({"path": file["path"], "problem": SKIPPED_BY_KERAS,
                         "detail": f"{kind}; Keras reads only {', '.join(layout.KERAS_EXTENSIONS)}"
                                   " files and skips this one without a word"})
        elif file["class"] == "":
            rows.append({"path": file["path"], "problem": OUTSIDE_CLASSES,
                         "detail": "an image outside every class folder: Keras ignores it"})
        elif pd.notna(file["error"]):
            rows.append({"path": file["path"], "problem": file["error"],
                         "detail": file["error_detail"]})
    images = _readable(table)
    for row in images.itertuples(index=False):
        if min(row.width, row.height) < min_side:
            rows.append({"path": row.path, "problem": TINY,
                         "detail": f"{row.width}x{row.height} pixels, under min_side={min_side}"})
        if row.mode != "RGB":
            note = MODE_NOTES.get(row.mode, "converted to RGB when decoded")
            rows.append({"path": row.path, "problem": COLOUR_MODE,
                         "detail": f"{note} (mode {row.mode})"})
        if row.orientation != 1:
            rows.append({"path": row.path, "problem": ROTATED,
                         "detail": f"EXIF orientation {row.orientation}: photo viewers turn it "
                                   "upright, Keras does not, so the model sees it turned"})
    exact_groups = [sorted(group) for group in images.groupby("sha256")["path"].agg(list)
                    if len(group) > 1]
    rows += _duplicate_findings(images, exact_groups, EXACT_DUPLICATE)
    # Near duplicates among distinct files only: one file per set of identical bytes.
    distinct = images.drop_duplicates("sha256").sort_values("path")
    pairs = similar_pairs(distinct, near_threshold=near_threshold)
    near_groups = _groups(distinct["path"].tolist(), pairs[pairs["kind"] == "near"])
    rows += _duplicate_findings(images, near_groups, NEAR_DUPLICATE)
    findings = pd.DataFrame(rows, columns=["path", "problem", "detail"])
    findings.insert(1, "class", findings["path"].map(table.set_index("path")["class"]))
    return findings.sort_values(["path", "problem"], ignore_index=True)


def audit(root: str | os.PathLike, *, min_side: int = DEFAULT_MIN_SIDE,
          near_threshold: int = NEAR_THRESHOLD) -> pd.DataFrame:
    """`find_problems` of a fresh `scan` of `root`."""
    return find_problems(scan(root), min_side=min_side, near_threshold=near_threshold)


def class_counts(root: str | os.PathLike) -> pd.Series:
    """Files per class that Keras will read (by extension, as its "Found N files" counts them),
    in Keras's class order, empty classes included."""
    counts = {cls: sum(map(layout.is_read_by_keras, paths))
              for cls, paths in layout.class_files(root).items()}
    return pd.Series(counts, name="images", dtype=int).rename_axis("class")


def imbalance_ratio(counts: pd.Series) -> float:
    """Largest class over smallest: 1 is balanced; infinite when a class is empty."""
    smallest = counts.min()
    return float("inf") if smallest == 0 else float(counts.max() / smallest)
