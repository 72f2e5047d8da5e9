"""Which sub-folders `keras.utils.image_dataset_from_directory` takes as classes and which files
it reads, so that every check here sees the folder as Keras will."""

from __future__ import annotations

import os
from pathlib import Path

# The extensions Keras 3 indexes (`ALLOWLIST_FORMATS` in keras/src/utils/image_dataset_utils.py),
# compared in lower case; every other file (.webp, .heic, .tif, .txt) is skipped without a word.
KERAS_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")


def is_read_by_keras(path: str | os.PathLike) -> bool:
    """True when Keras indexes a file of this name: its extension, not its content, decides."""
    return os.fspath(path).lower().endswith(KERAS_EXTENSIONS)


def class_names(root: str | os.PathLike) -> list[str]:
    """The class folders, as Keras finds them: the sub-folders of `root` in sorted order, except
    hidden ones (such as Jupyter's `.ipynb_checkpoints`)."""
    root = Path(root)
    return [name for name in sorted(os.listdir(root))
            if (root / name).is_dir() and not name.startswith(".")]


def class_files(root: str | os.PathLike) -> dict[str, list[Path]]:
    """Every file in each class folder, sub-folders included (Keras walks them too, without
    following links to folders), sorted by path."""
    root = Path(root)
    found = {}
    for name in class_names(root):
        files = [Path(folder) / file for folder, _, names in os.walk(root / name)
                 for file in names]
        found[name] = sorted(files)
    return found


def loose_files(root: str | os.PathLike) -> list[Path]:
    """Files directly in `root`, outside every class folder: Keras ignores them."""
    root = Path(root)
    return sorted(path for path in root.iterdir() if path.is_file())


def relative(path: Path, root: str | os.PathLike) -> str:
    """`path` relative to `root` with forward slashes, the form every table here uses."""
    return path.relative_to(root).as_posix()
