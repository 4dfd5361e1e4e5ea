"""URL filtering: datatrove's URLFilter (FineWeb's) with its bundled UT1 blocklists, plus the run's own
lists of domains and words to block and domains never to block.

The rules and the lists exist, tested, in datatrove; this module makes them configurable from YAML,
keeps them offline (the public-suffix list bundled with tldextract, never fetched) and accounts every
drop by reason. The UT1 domain list holds about 4.6 million domains: loading it costs each task a few
seconds and a few hundred MB; `blocklists: false` keeps only the run's own lists.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from datatrove.data import Document
from pydantic import Field

from stages.base import CorpusStep, Drop, StageContext, StageOptions


class FilterUrls(CorpusStep):
    """Reads `metadata.url`; drops a document whose URL a rule blocks, with reason `url/<rule>`:
    `block_domains` (the URL's host is one of them or under one), `domain` or `subdomain` (UT1-listed),
    `url` (a UT1-listed URL),
    `hard_blacklisted` (a banned word of the URL, or one of `block_words`), `soft_blacklisted` (at
    least `soft_word_threshold` words of the soft list), `blacklisted_subword`. A URL on an
    `allow_domains` domain (or its subdomains) is never blocked. A document without a URL is kept, or
    dropped as `url/missing` with `missing_url: drop`.

    Stats: `allowed` (kept by the allow list), `no_url`, plus the base step's counts.
    """

    name = "url_filter"

    def __init__(self, options: UrlFilterOptions):
        super().__init__()
        self.options = options
        self._filter = None

    def _setup(self) -> None:
        from datatrove.pipeline.filters import URLFilter
        from tldextract import TLDExtract

        options = self.options
        self._filter = URLFilter(
            soft_word_threshold=options.soft_word_threshold,
            banned_words=options.block_words or None,
            use_integrated_lists=options.blocklists,
        )
        # Offline: the suffix list snapshot bundled with tldextract (URLFilter's default fetches it).
        self._filter.tldextractor = TLDExtract(suffix_list_urls=(), cache_dir=None)

    def process(self, doc: Document) -> Document:
        if self._filter is None:
            self._setup()
        url = doc.metadata.get("url")
        if not url:
            self.stat_update("no_url")
            if self.options.missing_url == "drop":
                raise Drop("url/missing")
            return doc
        host = (urlsplit(url).hostname or "").lower()
        if _under(host, self.options.allow_domains):
            self.stat_update("allowed")
            return doc
        # Checked on the host itself: datatrove matches registered domains, and a host under no public
        # suffix (an intranet name, `.example`, an IP address) has none.
        if _under(host, self.options.block_domains):
            raise Drop("url/block_domains")
        verdict = self._filter.filter(doc)
        if verdict is not True:
            raise Drop(f"url/{verdict[1]}")
        return doc


def _under(host: str, domains: list[str]) -> bool:
    return any(host == domain or host.endswith("." + domain) for domain in domains)


class UrlFilterOptions(StageOptions):
    """`url_filter`: drop documents by their URL (put it first: it is the cheapest filter)."""

    stage: Literal["url_filter"] = "url_filter"
    blocklists: bool = Field(True, description="datatrove's bundled UT1 lists (adult, gambling, malware, ...)")
    block_domains: list[str] = Field(default_factory=list, description="domains to block, with their subdomains")
    block_words: list[str] = Field(default_factory=list, description="words that block a URL holding them")
    allow_domains: list[str] = Field(default_factory=list, description="domains never blocked (and subdomains)")
    soft_word_threshold: int = Field(2, ge=1, description="soft-listed words that together block a URL")
    missing_url: Literal["keep", "drop"] = "keep"

    def build(self, context: StageContext) -> list:
        lowered = {
            key: [d.lower().strip(".") for d in getattr(self, key)] for key in ("allow_domains", "block_domains")
        }
        return [FilterUrls(self.model_copy(update=lowered))]
