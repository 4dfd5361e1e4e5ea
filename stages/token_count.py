"""Token counting for the budget: tokens per document and per source, after the text is final."""

from __future__ import annotations

import math

from datatrove.data import Document

from stages.base import CorpusStep


class TokenCounter(CorpusStep):
    """Reads `doc.metadata["token_count"]` (set by the tokenize stage) or, without one, estimates
    tokens from the text's UTF-8 bytes at `bytes_per_token`; writes nothing to the document.

    Stats: `tokens`, `tokens/<source>` (source: `metadata[source_key]`, else `all`), and
    `estimated_documents` (documents whose count is an estimate).
    """

    name = "budget.count"

    def __init__(self, source_key: str = "source", bytes_per_token: float = 4.0):
        super().__init__()
        self.source_key = source_key
        self.bytes_per_token = bytes_per_token

    def process(self, doc: Document) -> Document:
        tokens = doc.metadata.get("token_count")
        if tokens is None:
            tokens = math.ceil(len(doc.text.encode("utf-8", "surrogatepass")) / self.bytes_per_token)
            self.stat_update("estimated_documents")
        source = str(doc.metadata.get(self.source_key, "all"))
        self.stat_update("tokens", f"tokens/{source}", value=int(tokens))
        return doc
