"""Extracting the main content of each page, with limits so one hostile page cannot stall a run."""

from __future__ import annotations

from datatrove.data import Document

from stages.base import CorpusStep, Drop
from stages.html.extractors import EXTRACTORS, page_hints
from stages.html.sandbox import ExtractorProcess


class PageTooLarge(Exception):
    """The page is larger than the size limit; extractors' time grows faster than linearly with it."""


class ExtractMainContent(CorpusStep):
    """Reads `doc.text` as HTML; writes the extracted main text to `doc.text`, and `metadata.title`
    and `metadata.html_lang` when the page declares them.

    With a time limit the extractor runs in a child process (see `sandbox`) that is killed when a page
    takes longer. A page over `max_bytes` is quarantined as PageTooLarge, one over the time limit as
    ExtractionTimeout, one the extractor fails on as ExtractionFailed; a page with no main content is
    dropped as `no_main_content`. Stats: the base step's counts.
    """

    name = "html.extract"

    def __init__(self, extractor: str = "trafilatura", max_bytes: int = 2_000_000, time_limit_s: float = 10.0):
        super().__init__()
        self.extractor = extractor
        self.max_bytes = max_bytes
        self.time_limit_s = time_limit_s
        self._process: ExtractorProcess | None = None

    def run(self, data, rank: int = 0, world_size: int = 1):
        try:
            yield from super().run(data, rank, world_size)
        finally:
            if self._process is not None:
                self._process.close()
                self._process = None

    def _extract(self, html: str) -> str | None:
        if self.time_limit_s <= 0:
            return EXTRACTORS[self.extractor](html)
        if self._process is None:
            self._process = ExtractorProcess(self.extractor, self.time_limit_s)
        return self._process.extract(html)

    def process(self, doc: Document) -> Document:
        size = len(doc.text.encode("utf-8", "surrogatepass"))
        if size > self.max_bytes:
            raise PageTooLarge(f"{size:,} bytes of HTML, over the limit of {self.max_bytes:,}")
        text = self._extract(doc.text)
        if not text or not text.strip():
            raise Drop("no_main_content")
        doc.metadata.update(page_hints(doc.text))
        doc.text = text.strip()
        return doc
