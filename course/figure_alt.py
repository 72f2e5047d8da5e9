"""Alt text for the figures of executed notebooks: `course run` has each kernel attach a figure's
title to its picture, so the course's website can tell a reader who cannot see the picture what
it shows, and can find a figure that has no title at all."""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure

# Figures go into the executed copy as PNGs, whatever MPLBACKEND the runner itself was given
# (a headless machine sets Agg, which would leave the copies without figures).
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
MAX_AXES_TITLES = 6  # a grid of 25 labelled images is described by its first few titles


def figure_title(figure: Figure) -> str:
    """What `figure` shows, in its own words: its suptitle, else its axes' titles, else ""."""
    suptitle = figure.get_suptitle().strip()
    if suptitle:
        return " ".join(suptitle.split())
    titles = [" ".join(ax.get_title().split()) for ax in figure.axes]
    titles = list(dict.fromkeys(title for title in titles if title))  # unique, in order
    if len(titles) > MAX_AXES_TITLES:
        titles = titles[:MAX_AXES_TITLES] + ["…"]
    return "; ".join(titles)


def attach_titles(shell: Any) -> None:
    """Make IPython `shell` record each displayed figure's title as the `alt` metadata of its
    PNG (nothing is added for a figure without a title)."""
    original_format = shell.display_formatter.format

    def format_with_alt(obj: object, include: Any = None, exclude: Any = None) -> tuple:
        data, metadata = original_format(obj, include=include, exclude=exclude)
        title = figure_title(obj) if isinstance(obj, Figure) else ""
        if title and "image/png" in data:
            metadata = {**metadata, "image/png": {**metadata.get("image/png", {}), "alt": title}}
        return data, metadata

    shell.display_formatter.format = format_with_alt


def prepare_kernel() -> None:
    """Run at the start of a kernel that `course run` executes a notebook in."""
    import matplotlib
    from IPython import get_ipython

    matplotlib.use(INLINE_BACKEND)
    attach_titles(get_ipython())
