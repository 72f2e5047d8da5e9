"""Checks of the benchmarks' options, as argparse `type=` functions: a bad value is refused while
the options are parsed, before a benchmark spends minutes on work whose results it would then
lose or get wrong (exit 2, with a message that names the option, the value and what to give).
NaN and infinity pass Python's `float` but mean nothing as a rate, a timeout or a percentage:
every number here must be finite."""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable
from pathlib import Path


def positive_int(text: str) -> int:
    """A count of at least 1: 0 would otherwise slip through as "use the default" or divide."""
    return int_at_most(None)(text)


def int_at_most(high: int | None) -> Callable[[str], int]:
    """A whole number from 1 to `high` (no upper bound for None)."""

    def check(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"got {text!r}: give a whole number") from None
        if value < 1 or (high is not None and value > high):
            wanted = "of at least 1" if high is None else f"from 1 to {high:,}"
            raise argparse.ArgumentTypeError(f"got {text!r}: give a whole number {wanted}")
        return value

    return check


def number(text: str, wanted: str, accept: Callable[[float], bool]) -> float:
    """A finite number that `accept`s, else an error asking for what is `wanted`."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and accept(value)):
        raise argparse.ArgumentTypeError(f"got {text!r}: give {wanted}")
    return value


def positive_float(text: str) -> float:
    """A number above 0 (a learning rate, a number of seconds)."""
    return number(text, "a finite number above 0", lambda value: value > 0)


def non_negative_float(text: str) -> float:
    """A number of at least 0 (a weight decay: 0 turns it off)."""
    return number(text, "a finite number of at least 0", lambda value: value >= 0)


def fraction(text: str) -> float:
    """A number from 0 up to, not including, 1 (label smoothing: 1 would leave no trace of the
    label in the targets)."""
    return number(text, "a number from 0 up to, not including, 1", lambda value: 0 <= value < 1)


def percent(text: str) -> float:
    """A percentage above 0 and at most 100 (an accuracy to reach)."""
    return number(text, "a percentage above 0 and at most 100 (94 means 94 percent)",
                  lambda value: 0 < value <= 100)


def json_file(text: str) -> Path:
    """A file the figures can be written to at the end: its folder exists and is writable, and
    it is not itself a folder. Checked first, so that a typo costs no benchmark run."""
    path = Path(text)
    folder = path.parent
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is a folder: name a file in it, such as "
                                         f"{path / 'figures.json'}")
    if folder.exists() and not folder.is_dir():
        raise argparse.ArgumentTypeError(f"{folder} is a file, not a folder: name a file in a "
                                         f"folder")
    if not folder.exists():
        raise argparse.ArgumentTypeError(f"there is no folder {folder}: create it first "
                                         f"(mkdir -p {folder}) or name a file in another one")
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists()
                                                     and not os.access(path, os.W_OK)):
        raise argparse.ArgumentTypeError(f"{path} cannot be written (no permission): name a "
                                         f"file in a folder you can write to")
    return path


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    """The `--data-dir` option every benchmark that reads a dataset shares."""
    parser.add_argument("--data-dir", help="folder with the dataset (default: the course's)")


def add_json(parser: argparse.ArgumentParser) -> None:
    """The `--json` option every benchmark that records its figures shares, checked at once."""
    parser.add_argument("--json", type=json_file,
                        help="also write the figures to this file (its folder must exist)")
