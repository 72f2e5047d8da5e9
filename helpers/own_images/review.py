"""Cleaning a folder by moving suspicious files aside, never by deleting them: a flagged file may
be a good photo the check misjudged, and only its owner can tell. Every move is recorded in a CSV
manifest that says what moved, from where, and why."""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

MANIFEST = "manifest.csv"
COLUMNS = ["moved_at", "source", "destination", "problems"]


def default_review_folder(root: str | os.PathLike) -> Path:
    """A sibling of the dataset folder: inside it, Keras would read the review folder as a
    class."""
    root = Path(root).resolve()
    return root.with_name(f"{root.name}-review")


def _free_name(target: Path, taken: set[Path]) -> Path:
    """`target`, or `name-1.ext`, `name-2.ext`, ... : the first that neither exists nor was
    chosen earlier in this call."""
    candidate, number = target, 0
    while candidate.exists() or candidate in taken:
        number += 1
        candidate = target.with_name(f"{target.stem}-{number}{target.suffix}")
    return candidate


def _move_without_overwriting(source: Path, target: Path) -> None:
    """Move `source` to `target`, failing with FileExistsError if `target` appeared meanwhile.

    A hard link followed by an unlink never replaces a file (a plain rename would); where links
    are impossible (another disk, some cloud mounts) the bytes are copied into a file created
    exclusively, and the source is removed only once the copy has its full size."""
    try:
        os.link(source, target, follow_symlinks=False)
    except OSError as err:
        if isinstance(err, FileExistsError) or err.errno not in (
                errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        with source.open("rb") as reader, target.open("xb") as writer:
            shutil.copyfileobj(reader, writer)
        shutil.copystat(source, target)
        if target.stat().st_size != source.stat().st_size:
            raise OSError(f"copying {source} to {target} was incomplete; {source} is kept") \
                from None
    source.unlink()


def _problems_by_path(flagged: pd.DataFrame | Iterable[str]) -> dict[str, str]:
    """Path -> the problems found for it, joined; plain paths get "flagged by hand"."""
    if isinstance(flagged, pd.DataFrame):
        grouped = flagged.groupby("path", sort=True)["problem"]
        return {path: "; ".join(dict.fromkeys(problems)) for path, problems in grouped}
    return {str(path): "flagged by hand" for path in flagged}


def move_aside(root: str | os.PathLike, flagged: pd.DataFrame | Iterable[str],
               review_folder: str | os.PathLike | None = None, *,
               dry_run: bool = False) -> pd.DataFrame:
    """Move each flagged file (a findings table with `path` and `problem` columns, or paths
    relative to `root`) into `review_folder` under the same relative path, and append one row
    per file to the folder's manifest.csv: UTC time, source (relative to `root`), destination
    (relative to the review folder), problems. Returns those rows.

    Nothing is deleted and nothing overwritten: a name already taken in the review folder gets
    a numbered suffix. `dry_run` returns the rows without moving anything or writing the
    manifest. Files that no longer exist (moved by an earlier run) are skipped."""
    root = Path(root).resolve()
    review = Path(review_folder).resolve() if review_folder else default_review_folder(root)
    if review == root or review.is_relative_to(root):
        raise ValueError(f"the review folder {review} lies inside the dataset folder {root}, "
                         "where Keras would read it as a class: choose a folder outside it")
    rows, taken = [], {review / MANIFEST}
    for relative, problems in _problems_by_path(flagged).items():
        source = Path(os.path.normpath(root / relative))  # not resolve(): keep links as links
        if not source.is_relative_to(root):
            raise ValueError(f"{relative!r} lies outside the dataset folder {root}")
        if not source.is_file():
            continue
        destination = review / source.relative_to(root)
        if not dry_run:
            destination.parent.mkdir(parents=True, exist_ok=True)
        while True:
            target = _free_name(destination, taken)
            try:
                if not dry_run:
                    _move_without_overwriting(source, target)
                break
            except FileExistsError:  # appeared since `_free_name` looked: take the next name
                taken.add(target)
        taken.add(target)
        row = {"moved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
               "source": source.relative_to(root).as_posix(),
               "destination": target.relative_to(review).as_posix(), "problems": problems}
        if not dry_run:  # row by row, so that a run cut short still says what it moved
            manifest = review / MANIFEST
            pd.DataFrame([row], columns=COLUMNS).to_csv(
                manifest, mode="a", header=not manifest.exists(), index=False)
        rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)


def read_manifest(review_folder: str | os.PathLike) -> pd.DataFrame:
    """Everything ever moved into `review_folder`, oldest first (empty if nothing was)."""
    manifest = Path(review_folder) / MANIFEST
    return pd.read_csv(manifest) if manifest.is_file() else pd.DataFrame(columns=COLUMNS)
