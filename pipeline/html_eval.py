"""Scoring HTML extraction on snippet-labelled pages (trafilatura's evaluation set, in
`<data>/html-dev`): each page lists snippets its main text must contain and boilerplate it must not.

Whitespace is collapsed in snippets and extracted text alike; a `with` snippet found is a true
positive, one missing a false negative, a `without` snippet found a false positive. Precision, recall
and F1 are over the whole set. Every candidate runs in this process, one page at a time, so the
pages/s figures compare like with like.
"""

from __future__ import annotations

import gzip
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipeline.io.charset import decode_html

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Page:
    url: str
    html: str
    with_snippets: tuple[str, ...]
    without_snippets: tuple[str, ...]


@dataclass
class Score:
    name: str
    true_positives: int = 0
    false_negatives: int = 0
    false_positives: int = 0
    seconds: float = 0.0
    pages: int = 0
    failures: int = 0  # pages the candidate raised on (scored as extracting nothing)

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 0.0

    @property
    def recall(self) -> float:
        expected = self.true_positives + self.false_negatives
        return self.true_positives / expected if expected else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0


def load_pages(folder: Path, limit: int | None = None) -> list[Page]:
    """The labelled pages, decoded by their declared charset (else detected), in the file's order."""
    index_path = folder / "evaldata.json"
    if not index_path.exists():
        raise FileNotFoundError(
            f"{index_path} not found: point --data (or CORPUS_PREP_DATA) at the folder holding html-dev/"
        )
    entries = json.loads(index_path.read_text())
    pages = []
    for url, entry in list(entries.items())[:limit]:
        raw = gzip.decompress((folder / "html" / f"{entry['file']}.gz").read_bytes())
        decoded = decode_html(raw)
        pages.append(Page(url, decoded[0] if decoded else "", tuple(entry["with"]), tuple(entry["without"])))
    return pages


def _normalised(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def score(name: str, extract: Callable[[str], str | None], pages: list[Page]) -> Score:
    result = Score(name, pages=len(pages))
    outputs = []
    started = time.perf_counter()
    for page in pages:
        try:
            outputs.append(extract(page.html) or "")
        except Exception:  # noqa: BLE001 - a page the candidate fails on counts as an empty extraction
            outputs.append("")
            result.failures += 1
    result.seconds = time.perf_counter() - started
    for page, text in zip(pages, outputs, strict=True):
        found = _normalised(text)
        for snippet in page.with_snippets:
            if _normalised(snippet) in found:
                result.true_positives += 1
            else:
                result.false_negatives += 1
        result.false_positives += sum(_normalised(s) in found for s in page.without_snippets)
    return result


def stage_extractor(extractor: str) -> Callable[[str], str | None]:
    """The `html` stage with its default settings (extraction, then the boilerplate line rules)."""
    from datatrove.data import Document

    from stages.base import Drop, StageContext
    from stages.html import HtmlOptions

    steps = HtmlOptions(extractor=extractor).build(StageContext(work_folder="", output_folder="", tasks=1))

    def run(html: str) -> str | None:
        doc = Document(text=html, id="page")
        try:
            for step in steps:
                doc = step.process(doc)
        except Drop:
            return None
        return doc.text

    return run


def bare_candidates() -> dict[str, Callable[[str], str | None]]:
    """The libraries as a user would call them out of the box (trafilatura with its cross-document
    dedup cache off, which would otherwise make the score depend on page order)."""

    def trafilatura_bare(html: str) -> str | None:
        import trafilatura

        return trafilatura.extract(html, deduplicate=False)

    def resiliparse_bare(html: str) -> str | None:
        from resiliparse.extract.html2text import extract_plain_text
        from resiliparse.parse.html import HTMLTree

        return extract_plain_text(HTMLTree.parse(html), main_content=True)

    return {"bare trafilatura": trafilatura_bare, "bare resiliparse": resiliparse_bare}


def evaluate(folder: Path, limit: int | None = None) -> list[Score]:
    pages = load_pages(folder, limit)
    candidates = {
        **bare_candidates(),
        "html stage, trafilatura (quality)": stage_extractor("trafilatura"),
        "html stage, resiliparse (fast)": stage_extractor("resiliparse"),
    }
    return [score(name, extract, pages) for name, extract in candidates.items()]


def render(scores: list[Score]) -> str:
    reference = next(s for s in scores if s.name == "bare trafilatura")
    header = ("candidate", "precision", "recall", "F1", "ΔF1", "pages/s", "speed", "failed")
    lines = ["{:<36} {:>9} {:>7} {:>7} {:>7} {:>8} {:>6} {:>6}".format(*header)]
    for s in scores:
        lines.append(
            f"{s.name:<36} {s.precision:>9.4f} {s.recall:>7.4f} {s.f1:>7.4f} {s.f1 - reference.f1:>+7.4f} "
            f"{s.pages_per_second:>8.1f} {s.pages_per_second / reference.pages_per_second:>5.1f}x {s.failures:>6}"
        )
    lines.append(f"{reference.pages} pages; speed and ΔF1 relative to bare trafilatura, measured in this run.")
    return "\n".join(lines)
