"""What each notebook says its full lesson costs is what site/full_profile_flops.csv records,
and the T4 estimate beside it follows from that count by the course site's stated basis."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from course import site

ROOT = Path(__file__).resolve().parents[2]
WORK = site.read_work(ROOT / "site" / site.WORK_FILE)


def t4_estimate_words(pflop: float, number_format: str) -> str:
    """The site's T4 estimate as a notebook's introduction says it: "about 7 minutes"."""
    minutes = site.t4_estimate_minutes(pflop, number_format)
    if minutes < 1:
        return "under a minute"
    if minutes >= 120:
        return f"about {minutes / 60:.0f} hours"
    return f"about {minutes:.0f} minute{'s' if round(minutes) != 1 else ''}"


def test_every_notebook_has_a_count():
    notebooks = sorted(path.stem for path in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert sorted(WORK.index) == notebooks


@pytest.mark.parametrize("stem", [stem for stem in WORK.index if WORK.loc[stem, "pflop"] > 0])
def test_a_training_notebook_states_its_count_and_its_t4_estimate(stem):
    row = WORK.loc[stem]
    prose = " ".join(" ".join(cell.source.split())
                     for cell in nbformat.read(ROOT / "notebooks" / f"{stem}.ipynb", 4).cells
                     if cell.cell_type == "markdown")
    assert f"about {row['pflop']:g} PFLOP" in prose
    assert t4_estimate_words(row["pflop"], row["number_format"]) in prose
