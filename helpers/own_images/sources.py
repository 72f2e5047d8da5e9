"""Where the images come from: a folder, a zip the student uploads, or the flower photos that
TensorFlow's image tutorials download; and a check of the folder that says what to change
before Keras reads it.

A zip is extracted by code of our own rather than `ZipFile.extractall`, which writes over files
that exist and follows the archive wherever its names point: here every member is checked first,
and nothing is written unless all of them pass."""

from __future__ import annotations

import json
import os
import shutil
import stat
import warnings
import zipfile
import zlib
from pathlib import Path, PurePosixPath

import pandas as pd
from PIL import Image, UnidentifiedImageError

from helpers.own_images import layout

# The archive of `keras.utils.get_file`'s own docstring example and of TensorFlow's "Load and
# preprocess images" tutorial (https://www.tensorflow.org/tutorials/load_data/images):
# 3,670 photos of five kinds of flower, about 220 MB.
FLOWERS_URL = ("https://storage.googleapis.com/download.tensorflow.org/example_images/"
               "flower_photos.tgz")
DEFAULT_MAX_BYTES = 2 * 1024**3  # 2 GiB uncompressed: many thousands of phone photos
DEFAULT_MIN_PER_CLASS = 20
EXTRACTED_MARKER = ".extracted-from.json"
# What a Mac adds to a zip: resource forks under __MACOSX/ and "._" files beside each photo
# (Keras would take __MACOSX for a class), and Finder's .DS_Store.
_MAC_CLUTTER = ("__MACOSX",)


class DatasetFolderError(ValueError):
    """A folder or archive that cannot become a dataset; the message says what to change."""


class UnsafeArchiveError(DatasetFolderError):
    """A zip whose members would land outside the folder, are links, or are too large."""


class DownloadError(DatasetFolderError):
    """The flower photos could not be downloaded (typically: no network)."""


def download_flowers(cache_dir: str | os.PathLike | None = None) -> Path:
    """The flower photos, downloaded once by `keras.utils.get_file` (into ~/.keras/datasets, or
    `cache_dir`) and extracted; returns the folder of class folders."""
    import keras

    try:
        extracted = keras.utils.get_file("flower_photos", origin=FLOWERS_URL, extract=True,
                                         cache_dir=None if cache_dir is None else
                                         os.fspath(cache_dir))
    except Exception as err:  # Keras raises a bare Exception for network failures
        raise DownloadError(
            f"could not download the flower photos from {FLOWERS_URL} ({type(err).__name__}: "
            f"{err}). Without a network, use the offline folder, or a folder or zip of your "
            "own images.") from err
    return dataset_root(extracted)


def dataset_root(folder: str | os.PathLike) -> Path:
    """The folder that holds the class folders: `folder` itself, or the folder it wraps (a zip
    of `photos/cats/...` extracts to a folder holding `photos/`), however deep. A wrapper holds
    nothing visible but one folder, which itself holds folders."""
    root = Path(folder)
    while True:
        entries = [entry for entry in root.iterdir()
                   if not entry.name.startswith(".") and entry.name not in _MAC_CLUTTER]
        if len(entries) != 1 or not entries[0].is_dir():
            return root
        if not any(child.is_dir() for child in entries[0].iterdir()):
            return root
        root = entries[0]


def _member_name(info: zipfile.ZipInfo) -> str:
    """The member's name as its author saw it. Without the UTF-8 flag, zipfile decodes names as
    code page 437, which garbles the UTF-8 that most tools write anyway: undo that when the
    bytes are valid UTF-8. Backslashes, which some Windows tools write, become separators."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            name = name.encode("cp437").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return name.replace("\\", "/")


def _safe_members(archive: zipfile.ZipFile, max_bytes: int,
                  ) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    """The files to extract with their relative paths, once every member has been checked.
    Folders and Mac clutter are left out; anything unsafe refuses the whole archive."""
    members, total = [], 0
    for info in archive.infolist():
        name = _member_name(info)
        path = PurePosixPath(name)
        if path.is_absolute() or (path.parts and path.parts[0].endswith(":")) or ".." in path.parts:
            raise UnsafeArchiveError(
                f"the zip member {name!r} would be written outside the folder it is extracted "
                "to (an absolute path or '..'): nothing was extracted. Make the zip again from "
                "the folder of class folders.")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise UnsafeArchiveError(
                f"the zip member {name!r} is a symbolic link, which could point anywhere: "
                "nothing was extracted. Make the zip again with the images themselves.")
        if info.is_dir() or path.parts[0] in _MAC_CLUTTER or path.name.startswith("._") \
                or path.name == ".DS_Store":
            continue
        total += info.file_size
        if total > max_bytes:
            raise UnsafeArchiveError(
                f"the zip holds more than {max_bytes / 1024**3:.1f} GiB once extracted: nothing "
                "was extracted. Zip fewer or smaller images, or raise max_bytes if you trust it.")
        members.append((info, path))
    return members


def _extract(archive: zipfile.ZipFile, members: list[tuple[zipfile.ZipInfo, PurePosixPath]],
             destination: Path, max_bytes: int) -> None:
    """Write the members into the new folder `destination`, each file created exclusively, and
    count the bytes as they come, in case a member's recorded size lies."""
    written = 0
    for info, relative in members:
        target = destination.joinpath(*relative.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with archive.open(info) as reader, target.open("xb") as writer:
                while chunk := reader.read(1 << 20):
                    written += len(chunk)
                    if written > max_bytes:
                        raise UnsafeArchiveError(
                            f"the zip's contents exceed {max_bytes} bytes although its "
                            "directory says otherwise: it was not extracted.")
                    writer.write(chunk)
        except FileExistsError:
            raise DatasetFolderError(
                f"the zip holds {relative} twice (perhaps in two spellings): make it again "
                "without the duplicate.") from None
        except (zipfile.BadZipFile, RuntimeError, EOFError, zlib.error) as err:
            # RuntimeError is zipfile's "File is encrypted, password required".
            raise DatasetFolderError(
                f"{relative} cannot be extracted from the zip ({err}): make the zip again, "
                "without a password") from err


def extract_zip(archive: str | os.PathLike, destination: str | os.PathLike, *,
                max_bytes: int = DEFAULT_MAX_BYTES) -> Path:
    """Extract a zip of class folders into `destination` and return the folder of class folders
    (see `dataset_root`). Names keep their accents and spaces.

    Refuses, before writing anything, members with absolute paths or '..' (a "zip slip"),
    symbolic links, and more than `max_bytes` in all. `destination` must not exist or be
    empty: files there are never overwritten. If it holds an earlier extraction of the same
    zip (same name, size and time), that is reused, so running a notebook twice is cheap."""
    archive, destination = Path(archive), Path(destination)
    if not archive.is_file():
        raise DatasetFolderError(f"{archive} is not a file: upload the zip, or check its name")
    status = archive.stat()
    origin = {"archive": archive.name, "bytes": status.st_size, "mtime_ns": status.st_mtime_ns}
    marker = destination / EXTRACTED_MARKER
    if marker.is_file() and json.loads(marker.read_text()) == origin:
        return dataset_root(destination)
    if destination.exists() and (not destination.is_dir() or any(destination.iterdir())):
        raise DatasetFolderError(
            f"{destination} already exists and is not empty; extraction never writes over "
            "files. Choose another destination, or move that folder away yourself.")
    try:
        opened = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as err:
        raise DatasetFolderError(f"{archive} is not a readable zip ({err}): upload it again, "
                                 "or make it again with your system's 'compress' command") from err
    partial = destination.with_name(f"{destination.name}.partial-{os.getpid()}")
    with opened:
        members = _safe_members(opened, max_bytes)
        partial.mkdir(parents=True)
        try:
            _extract(opened, members, partial, max_bytes)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)  # our own half-written copy only
            raise
    (partial / EXTRACTED_MARKER).write_text(json.dumps(origin))
    if destination.exists():
        destination.rmdir()  # empty, checked above
    partial.rename(destination)
    return dataset_root(destination)


def resolve(source: str | os.PathLike, work_dir: str | os.PathLike) -> Path:
    """The folder of class folders for `source`: "flowers" (downloaded), a zip (extracted into
    `work_dir`, in a folder named after it), or a folder."""
    if os.fspath(source) == "flowers":
        return download_flowers()
    path = Path(source).expanduser()
    if path.suffix.lower() == ".zip":
        return extract_zip(path, Path(work_dir) / path.stem)
    if not path.is_dir():
        problem = "is a file, not a folder or a .zip" if path.exists() else "does not exist"
        raise DatasetFolderError(f"{path} {problem}: give the folder that holds one sub-folder "
                                 "per class, a .zip of it, or 'flowers'")
    return dataset_root(path)


def _is_image(path: Path) -> bool:
    """Whether Keras reads the file by its name and Pillow recognises it by its first bytes
    (only the header is read: the full check is `audit`'s)."""
    if not layout.is_read_by_keras(path):
        return False
    try:
        with Image.open(path):
            return True
    except (UnidentifiedImageError, OSError):
        return False


def check_folder(root: str | os.PathLike, *,
                 min_per_class: int = DEFAULT_MIN_PER_CLASS) -> pd.Series:
    """Images per class (files Keras reads whose header Pillow recognises), or a
    DatasetFolderError saying what to change: a missing or empty folder, images without class
    folders, a single class, a class folder without images, a folder of non-images. Classes
    with fewer than `min_per_class` images get a warning."""
    root = Path(root)
    if not root.is_dir():
        problem = "is a file, not a folder" if root.exists() else "does not exist"
        raise DatasetFolderError(f"{root} {problem}: give the folder that holds one sub-folder "
                                 "per class")
    files = layout.class_files(root)
    if not files:
        loose = [path for path in layout.loose_files(root) if _is_image(path)]
        if loose:
            raise DatasetFolderError(
                f"{root} holds {len(loose)} images but no class folders: Keras takes each "
                "sub-folder for a class. Make one sub-folder per class and move the images in.")
        raise DatasetFolderError(f"{root} is empty (it has no sub-folders): put one sub-folder "
                                 "per class in it, each holding that class's images")
    counts = pd.Series({cls: sum(map(_is_image, paths)) for cls, paths in files.items()},
                       name="images", dtype=int).rename_axis("class")
    if counts.sum() == 0:
        total = sum(map(len, files.values()))
        raise DatasetFolderError(
            f"none of the {total} files in {root}'s class folders is an image Keras reads "
            f"({', '.join(layout.KERAS_EXTENSIONS)}): is this the right folder?")
    if len(counts) == 1:
        raise DatasetFolderError(
            f"{root} has one class folder only ({counts.index[0]}): a classifier needs at "
            "least two. Add a sub-folder for each other class.")
    empty = counts[counts == 0].index.tolist()
    if empty:
        raise DatasetFolderError(
            f"the class folder(s) {', '.join(empty)} in {root} hold no images Keras reads "
            f"({', '.join(layout.KERAS_EXTENSIONS)}): add images, or move the folder out.")
    small = counts[counts < min_per_class]
    for cls, count in small.items():
        warnings.warn(f"class {cls!r} has {count} images, fewer than {min_per_class}: its "
                      "validation figures will rest on a handful of images. Add more if you "
                      "can.", stacklevel=2)
    return counts
