"""One boxed notice at the top of a notebook's results when they cannot be read as the full
lesson's: a quick run on a subset, or the offline JPEG copy of CIFAR-10. Nothing otherwise."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

WIDTH = 88


def run_notice_lines(source: str, *, train_size: int | None = None, epochs: int | None = None,
                     lesson_epochs: int | None = None, eval_size: int | None = None,
                     notes: Sequence[str] = ()) -> list[str]:
    """The sentences of the notice: one per reason that applies, then any `notes` of the
    notebook's own (a substituted dataset, say). Empty for the full lesson on official data."""
    lines = []
    short_run = epochs is not None and lesson_epochs is not None and epochs < lesson_epochs
    if train_size is not None or short_run or eval_size is not None:
        parts = []
        if train_size is not None:
            parts.append(f"{train_size:,} training images")
        if eval_size is not None:
            parts.append(f"at most {eval_size:,} validation and test images each")
        if short_run:
            parts.append(f"{epochs} epoch{'s' if epochs != 1 else ''} instead of the "
                         f"lesson's {lesson_epochs}")
        lines.append(f"Quick run: {' and '.join(parts)}. What this notebook measures here is "
                     "not what the full lesson reaches (TRAIN_SIZE = None"
                     + (", EVAL_SIZE = None" if eval_size is not None else "")
                     + (f", EPOCHS = {lesson_epochs}" if short_run else "")
                     + " in the parameters cell).")
    if "JPEG copy" in source:
        lines.append(f"Data: {source}, an offline copy whose pixels were re-encoded as JPEG. "
                     "Figures measured on it are not directly comparable with those the "
                     "sources reported on the official release.")
    return lines + list(notes)


def boxed(lines: Sequence[str], *, width: int = WIDTH) -> str:
    """`lines` wrapped to `width` inside a box drawn with line characters."""
    inner = width - 4
    body = [wrapped for line in lines for wrapped in (textwrap.wrap(line, inner) or [""])]
    return "\n".join([f"┌{'─' * (width - 2)}┐", *(f"│ {text:<{inner}} │" for text in body),
                      f"└{'─' * (width - 2)}┘"])


def show_run_notice(source: str, *, train_size: int | None = None, epochs: int | None = None,
                    lesson_epochs: int | None = None, eval_size: int | None = None,
                    notes: Sequence[str] = ()) -> None:
    """Print the boxed notice when anything in it applies; print nothing otherwise."""
    lines = run_notice_lines(source, train_size=train_size, epochs=epochs,
                             lesson_epochs=lesson_epochs, eval_size=eval_size, notes=notes)
    if lines:
        print(boxed(lines))
