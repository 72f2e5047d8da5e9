"""MkDocs hooks for the course's website (helpers/site.py names this file in the config)."""

from __future__ import annotations

import logging
import re

log = logging.getLogger("mkdocs.plugins.course")
HEADING_ID = re.compile(r"<h[1-6][^>]*?\sid=\"([^\"]+)\"")


def _flat(toc) -> list:
    return [entry for item in toc for entry in (item, *_flat(item.children))]


def on_page_content(html: str, page, config, files) -> str:
    """A notebook page's table of contents links to its headings' own ids: mkdocs-jupyter
    names the entries itself, and its names differ from nbconvert's ids for a heading that holds
    code ("Training with `fit`"), which left those entries leading nowhere."""
    if page.file.src_uri.endswith(".ipynb"):
        entries, ids = _flat(page.toc), HEADING_ID.findall(html)
        if len(entries) == len(ids):
            for entry, heading_id in zip(entries, ids, strict=True):
                entry.id = heading_id
        else:
            log.warning("%s: %d contents entries for %d headings; left as they are",
                        page.file.src_uri, len(entries), len(ids))
    return html
