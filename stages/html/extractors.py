"""Main-content extractors: HTML string in, plain text out (None when the page has no main content).

`trafilatura` is the quality choice (FineWeb's extractor); `resiliparse` the fast one (C++ DOM). Both
leave out user comments: they are a different author's text, and mostly short reactions.
"""

from __future__ import annotations

import html as html_entities
import re
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

_LINK = re.compile(r"<a\b[^>]*>(.*?)</a>", re.S | re.I)
_TAG = re.compile(r"<[^>]+>")
_BLOCK_GAP = re.compile(r"\n\s*\n")
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.S | re.I)
# A block that is one heading element and nothing else (resiliparse can join a heading and the text after it).
_HEADING = re.compile(r"<(h[1-6])\b[^>]*>(.*)</\1>", re.I | re.S)
# jusText's Paragraph reads its DOM path only in its own context-free pass, which is not used here.
_JUSTEXT_PATH = SimpleNamespace(dom="", xpath="")
_LANG = re.compile(r"<html[^>]*\slang\s*=\s*[\"']?([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)?)", re.I)


def trafilatura_text(html: str) -> str | None:
    import trafilatura

    # deduplicate=False: trafilatura's dedup cache spans documents, so output would depend on their order.
    return trafilatura.extract(html, deduplicate=False, include_comments=False)


@dataclass
class _Block:
    text: str
    link_density: float
    is_heading: bool


def _resiliparse_blocks(html: str) -> list[_Block]:
    """resiliparse's main content as blocks (its blank-line-separated paragraphs, headings, lists).

    Extraction runs in minimal-HTML mode because the block rules below need the links and headings.
    resiliparse's main-content rules work on class names and page layout, and now and then discard the
    whole page (html-dev has such pages built on common WordPress themes, whose wrappers carry names
    like `content-sidebar-wrap`); then the whole body is read instead, and the block rules below, which
    judge by link density and context rather than by markup, separate the article from the rest. Its
    `post_meta=False` is not used for the same reason: on those themes it removed whole articles along
    with their bylines (short bylines go by the context rule anyway).
    """
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    tree = HTMLTree.parse(html)
    options = dict(preserve_formatting="minimal_html", links=True, comments=False, alt_texts=False, list_bullets=False)
    marked_up = extract_plain_text(tree, main_content=True, **options)
    if not marked_up.strip():
        marked_up = extract_plain_text(tree, main_content=False, **options)
    blocks = []
    for block in _BLOCK_GAP.split(marked_up):
        text = html_entities.unescape(_TAG.sub("", block)).strip()
        if text:
            link_chars = sum(len(_TAG.sub("", inner)) for inner in _LINK.findall(block))
            lines = "\n".join(line.strip() for line in text.split("\n") if line.strip())
            heading = _HEADING.fullmatch(block.strip())
            is_heading = heading is not None and "<h" not in heading.group(2).lower()
            blocks.append(_Block(lines, link_chars / len(text), is_heading))
    return blocks


def _keep_in_context(blocks: list[_Block], max_link_density: float, short_chars: int) -> list[bool]:
    """jusText's context-sensitive classification, over resiliparse's blocks.

    Blocks mostly made of link text are bad (boilerpipe's signal for menus, teaser lists and "related"
    boxes, which resiliparse keeps). Short blocks ("Share this", "Related articles", a date, a
    byline) cannot be judged alone: jusText gives them the class of their nearest long neighbours, so
    a short block between boilerplate goes with it and one inside the article stays. The revision is
    jusText's own (`revise_paragraph_classification`); its context-free pass is not reused because it
    judges long blocks by a per-language stopword list, which would undo resiliparse's choice of the
    content region (on html-dev it cut recall from 0.93 to 0.82).
    """
    from justext.core import revise_paragraph_classification
    from justext.paragraph import Paragraph

    paragraphs = []
    for block in blocks:
        paragraph = Paragraph(_JUSTEXT_PATH)
        paragraph.append_text(block.text)
        paragraph.heading = block.is_heading
        if block.link_density > max_link_density:
            paragraph.cf_class = "bad"
        elif len(block.text) < short_chars:
            paragraph.cf_class = "short"
        else:
            paragraph.cf_class = "good"
        paragraphs.append(paragraph)
    revise_paragraph_classification(paragraphs)
    return [paragraph.class_type == "good" for paragraph in paragraphs]


def _drop_orphan_headings(blocks: list[_Block], keep: list[bool], short_chars: int) -> list[bool]:
    """A short heading whose section kept no text introduces only boilerplate ("Related articles",
    "Comments", "Share"), so it goes too. A long one is text in its own right (sites put leads and
    whole paragraphs in heading tags) and keeps its class."""
    keep = list(keep)
    for index, block in enumerate(blocks):
        if block.is_heading and keep[index] and len(block.text) < short_chars:
            section_end = next((j for j in range(index + 1, len(blocks)) if blocks[j].is_heading), len(blocks))
            keep[index] = any(keep[index + 1 : section_end])
    return keep


def resiliparse_text(html: str, max_link_density: float = 0.5, short_chars: int = 70) -> str | None:
    """resiliparse's main content, then its boilerplate blocks dropped by link density in jusText's
    context-sensitive way, then headings left without a section.

    `short_chars` is jusText's default `length_low`.
    """
    blocks = _resiliparse_blocks(html)
    keep = _keep_in_context(blocks, max_link_density, short_chars)
    keep = _drop_orphan_headings(blocks, keep, short_chars)
    return "\n".join(block.text for block, kept in zip(blocks, keep, strict=True) if kept) or None


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
