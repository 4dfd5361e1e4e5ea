"""Excerpts of the documents kept for the largest near-duplicate clusters, for the report.

Only built when a `pii` stage runs earlier in the config: an excerpt of unscrubbed web text could carry
personal data into the report.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow.parquet as pq
from datatrove.data import Document, DocumentsPipeline

from stages.base import CorpusStep

LARGEST_CLUSTERS = 5
EXCERPT_CHARS = 160


def largest_clusters(duplicates: Path, count: int = LARGEST_CLUSTERS) -> list[dict]:
    """The `count` largest clusters in duplicates.parquet: kept id and removed ids, largest first."""
    if not duplicates.exists():
        return []
    clusters: dict[str, list[str]] = {}
    for row in pq.read_table(duplicates, columns=["id", "duplicate_of"]).to_pylist():
        clusters.setdefault(row["duplicate_of"], []).append(row["id"])
    largest = sorted(clusters.items(), key=lambda item: (-len(item[1]), item[0]))[:count]
    return [{"kept": kept, "removed": sorted(removed)} for kept, removed in largest]


def read_excerpts(folder: Path) -> dict[str, str]:
    excerpts = {}
    for path in sorted((folder / "excerpts").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            excerpts[row["id"]] = row["excerpt"]
    return excerpts


class RecordClusterExcerpts(CorpusStep):
    """Reads `doc.id` and `doc.text` of the documents kept for the largest clusters; writes their first
    words (whitespace collapsed) to `<folder>/excerpts/<rank>.jsonl`. Passes every document on."""

    name = "minhash_dedup.excerpts"

    def __init__(self, folder: str):
        super().__init__()
        self.folder = folder
        self._wanted: set[str] = set()

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        self._wanted = {c["kept"] for c in largest_clusters(Path(self.folder, "duplicates.parquet"))}
        self._found: dict[str, str] = {}
        yield from super().run(data, rank, world_size)
        os.makedirs(os.path.join(self.folder, "excerpts"), exist_ok=True)
        with open(os.path.join(self.folder, "excerpts", f"{rank:05d}.jsonl"), "w", encoding="utf-8") as out:
            for doc_id, excerpt in sorted(self._found.items()):
                out.write(json.dumps({"id": doc_id, "excerpt": excerpt}, ensure_ascii=False) + "\n")

    def process(self, doc: Document) -> Document:
        if doc.id in self._wanted:
            words = " ".join(doc.text.split())
            self._found[doc.id] = words[:EXCERPT_CHARS] + ("…" if len(words) > EXCERPT_CHARS else "")
        return doc
