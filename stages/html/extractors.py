"""Main-content extractors: HTML string in, plain text out (None when the page has no main content).

`trafilatura` is the quality choice (FineWeb's extractor); `resiliparse` the fast one (C++ DOM). Both
leave out user comments: they are a different author's text, and mostly short reactions.
"""

from __future__ import annotations

import html as html_entities
import re
from collections.abc import Callable

_LINK = re.compile(r"<a\b[^>]*>(.*?)</a>", re.S | re.I)
_TAG = re.compile(r"<[^>]+>")
_BLOCK_GAP = re.compile(r"\n\s*\n")
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.S | re.I)
_LANG = re.compile(r"<html[^>]*\slang\s*=\s*[\"']?([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)?)", re.I)


def trafilatura_text(html: str) -> str | None:
    import trafilatura

    # deduplicate=False: trafilatura's dedup cache spans documents, so output would depend on their order.
    return trafilatura.extract(html, deduplicate=False, include_comments=False)


def resiliparse_text(html: str, max_link_density: float = 0.5) -> str | None:
    """resiliparse's main-content extraction, then blocks whose text is mostly link text dropped.

    Link density per block is boilerpipe's signal for menus, teaser lists and "related" boxes, which
    resiliparse's heuristics keep; it needs the links, so extraction runs in minimal-HTML mode.
    """
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    marked_up = extract_plain_text(
        HTMLTree.parse(html),
        main_content=True,
        preserve_formatting="minimal_html",
        links=True,
        comments=False,
        post_meta=False,
        alt_texts=False,
        list_bullets=False,
    )
    blocks = []
    for block in _BLOCK_GAP.split(marked_up):
        text = html_entities.unescape(_TAG.sub("", block)).strip()
        if not text:
            continue
        link_chars = sum(len(_TAG.sub("", inner)) for inner in _LINK.findall(block))
        if link_chars / len(text) <= max_link_density:
            blocks.append("\n".join(line.strip() for line in text.split("\n") if line.strip()))
    return "\n".join(blocks) or None


EXTRACTORS: dict[str, Callable[[str], str | None]] = {
    "trafilatura": trafilatura_text,
    "resiliparse": resiliparse_text,
}


def page_hints(html: str) -> dict[str, str]:
    """The page's <title> and <html lang> from its head, cheaply; absent keys when the page has none."""
    head = html[:20000]
    hints = {}
    title = _TITLE.search(head)
    if title:
        hints["title"] = " ".join(html_entities.unescape(title.group(1)).split())[:500]
    lang = _LANG.search(head)
    if lang:
        hints["html_lang"] = lang.group(1).lower().replace("_", "-")
    return hints
