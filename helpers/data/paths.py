"""Where the course looks for datasets and writes its caches."""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_ENV = "COURSE_DATA_DIR"
CACHE_DIR_ENV = "COURSE_CACHE_DIR"


def project_data_dir() -> Path:
    """The checkout's `data/` folder when the package is installed from a clone, else `./data`."""
    checkout_data = Path(__file__).resolve().parents[2] / "data"
    if (checkout_data / "README.md").is_file():
        return checkout_data
    return Path.cwd() / "data"


def data_search_dirs(data_dir: str | os.PathLike | None = None) -> list[Path]:
    """Folders searched for local dataset archives, in order: the argument or $COURSE_DATA_DIR,
    then the project's `data/` folder."""
    chosen = data_dir if data_dir is not None else os.environ.get(DATA_DIR_ENV) or None
    dirs = [Path(chosen).expanduser()] if chosen else []
    if project_data_dir() not in dirs:
        dirs.append(project_data_dir())
    return dirs


def folder_problem(folder: Path) -> str | None:
    """What keeps `folder` from holding dataset archives, in words for an error message, or
    None when it is a readable folder."""
    if folder.is_symlink() and not folder.exists():
        return f"a broken link to {os.readlink(folder)}, which does not exist"
    if not folder.exists():
        return "does not exist"
    if not folder.is_dir():
        return "is a file, not a folder: name the folder that holds the archive"
    if not os.access(folder, os.R_OK | os.X_OK):
        return "cannot be read (permission denied)"
    return None


def cache_dir() -> Path:
    """Folder for decoded-array caches: $COURSE_CACHE_DIR, else `data/cache` of the project.

    Kept apart from the data folder because that one may be read-only (a shared mount)."""
    chosen = os.environ.get(CACHE_DIR_ENV)
    return Path(chosen).expanduser() if chosen else project_data_dir() / "cache"


def make_env_paths_absolute() -> None:
    """Resolve $COURSE_DATA_DIR and $COURSE_CACHE_DIR against the current folder, so that
    kernels started in another folder (papermill, nbval) see the same ones."""
    for name in (DATA_DIR_ENV, CACHE_DIR_ENV):
        if os.environ.get(name):
            os.environ[name] = str(Path(os.environ[name]).expanduser().resolve())
