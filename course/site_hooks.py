"""MkDocs hooks for the course's website (course/site.py names this file in the config)."""

from __future__ import annotations

import logging
import re

log = logging.getLogger("mkdocs.plugins.course")
HEADING = re.compile(r"<h([1-6])[^>]*?\sid=\"([^\"]+)\"[^>]*>(.*?)</h\1>", re.DOTALL)
ANCHOR_LINK = re.compile(r"<a class=\"anchor-link\".*?</a>", re.DOTALL)


def _flat(toc) -> list:
    return [entry for item in toc for entry in (item, *_flat(item.children))]


def on_page_content(html: str, page, config, files) -> str:
    """A notebook page's table of contents links to its headings' own ids, with their own
    words: mkdocs-jupyter makes its entries itself, and for a heading that holds code
    ("Training with `fit`") its id leads nowhere and its title loses the code."""
    if page.file.src_uri.endswith(".ipynb"):
        entries, headings = _flat(page.toc), HEADING.findall(html)
        if len(entries) == len(headings):
            for entry, (_, heading_id, inner) in zip(entries, headings, strict=True):
                entry.id = heading_id
                entry.title = ANCHOR_LINK.sub("", inner).strip()
        else:
            log.warning("%s: %d contents entries for %d headings, so its contents cannot be "
                        "matched to its headings (a strict build stops here): mkdocs-jupyter "
                        "makes its contents another way now; update course/site_hooks.py",
                        page.file.src_uri, len(entries), len(headings))
    return html
