"""The lessons' collapsed answers render on the course site: each `<details>` block comes out as
Markdown (code, emphasis, lists), not as literal backticks and asterisks. Rendered with the
Markdown extensions the site's mkdocs.yml lists, as mkdocs does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from course import site

pytestmark = pytest.mark.one_backend
# The site's extra brings Markdown; the JAX leg, which does not build the site, lacks it.
markdown = pytest.importorskip("markdown")

ROOT = Path(__file__).resolve().parents[2]
LESSONS = sorted((ROOT / "lessons").glob("[0-9][0-9]_*.md"))
DETAILS = re.compile(r"<details.*?</details>", re.DOTALL)


def site_extensions() -> tuple[list[str], dict]:
    """The markdown_extensions of site/mkdocs.yml, as Python-Markdown takes them."""
    config = yaml.safe_load((ROOT / "site" / "mkdocs.yml").read_text())
    names, settings = [], {}
    for entry in config["markdown_extensions"]:
        name, options = next(iter(entry.items())) if isinstance(entry, dict) else (entry, None)
        names.append(name)
        if options:
            settings[name] = options
    return names, settings


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda path: path.stem)
def test_collapsed_answers_render_as_markdown(lesson):
    _, body = site.split_front_matter(lesson.read_text())
    names, settings = site_extensions()
    html = markdown.markdown(body, extensions=names, extension_configs=settings)
    written = body.count("<details")
    rendered = DETAILS.findall(html)
    assert written, f"{lesson.name} has no collapsed answers"
    assert len(rendered) == written, (
        f"{lesson.name}: {written} <details> written, {len(rendered)} rendered")
    for block in rendered:
        text = re.sub(r"<code>.*?</code>", "", block, flags=re.DOTALL)
        assert "`" not in text and "**" not in text, (
            f"{lesson.name}: an answer shows its Markdown unrendered (put <details markdown=\"1\"> "
            f"at the start of a line, or indent it as the list item's text): {block[:200]}")
