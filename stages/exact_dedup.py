"""Exact deduplication: of documents whose text is identical, keep the one with the smallest id.

It needs all documents before it can decide about any, so it runs as three parts: hashing in the
current pass, a one-task pass that finds the duplicates, and a filter in the next pass that drops them
by id. Dropping by id (not by position) lets the filter read the data with any number of tasks.
"""

from __future__ import annotations

import glob
import hashlib
import os
from typing import Literal

import pyarrow as pa
import pyarrow.parquet as pq
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from stages.base import CorpusStep, Drop, Pass, StageContext, StageOptions

_SCHEMA = pa.schema([("digest", pa.binary(16)), ("id", pa.string())])
_DUPLICATES_SCHEMA = pa.schema([("id", pa.string()), ("duplicate_of", pa.string())])


def text_digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class ExactHasher(CorpusStep):
    """Reads `doc.text`; writes nothing to the document; writes (digest, id) rows to
    `<folder>/hashes/<task>.parquet`. Stats: the base step's counts."""

    name = "exact_dedup.hash"

    def __init__(self, folder: str):
        super().__init__()
        self.folder = folder

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        digests: list[bytes] = []
        ids: list[str] = []
        for doc in super().run(data, rank, world_size):
            digests.append(text_digest(doc.text))
            ids.append(doc.id)
            yield doc
        os.makedirs(os.path.join(self.folder, "hashes"), exist_ok=True)
        table = pa.table({"digest": digests, "id": ids}, schema=_SCHEMA)
        pq.write_table(table, os.path.join(self.folder, "hashes", f"{rank:05d}.parquet"))

    def process(self, doc: Document) -> Document:
        return doc


class FindExactDuplicates(PipelineStep):
    """Reads every task's hashes; writes `<folder>/duplicates.parquet`: the ids to drop, each with the
    id it duplicates. Stats: `documents`, `duplicates`."""

    type = "corpus-prep"
    name = "exact_dedup.find"

    def __init__(self, folder: str):
        super().__init__()
        self.folder = folder

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        with self.track_time():
            self._find_duplicates()
        yield from data or ()

    def _find_duplicates(self) -> None:
        files = sorted(glob.glob(os.path.join(self.folder, "hashes", "*.parquet")))
        table = pa.concat_tables([pq.read_table(f, schema=_SCHEMA) for f in files]) if files else _SCHEMA.empty_table()
        # Sorted by (digest, id), the keeper, the smallest id, comes first in each run of equal digests.
        table = table.sort_by([("digest", "ascending"), ("id", "ascending")])
        duplicates, duplicate_of = [], []
        previous_digest, keeper = None, None
        for digest, doc_id in zip(table.column("digest").to_pylist(), table.column("id").to_pylist(), strict=True):
            if digest != previous_digest:
                previous_digest, keeper = digest, doc_id
            elif doc_id != keeper:  # a repeated id is one document read twice, not a duplicate to drop
                duplicates.append(doc_id)
                duplicate_of.append(keeper)
        self.stat_update("documents", value=len(table))
        self.stat_update("duplicates", value=len(duplicates))
        result = pa.table({"id": duplicates, "duplicate_of": duplicate_of}, schema=_DUPLICATES_SCHEMA)
        pq.write_table(result, os.path.join(self.folder, "duplicates.parquet"))


class DropListedDuplicates(CorpusStep):
    """Reads `doc.id`; drops the documents listed in `<folder>/duplicates.parquet` (column `id`) with
    the given reason. Dropping by id, not position, lets it read the data with any task count.
    Stats: the base step's counts. Used by exact_dedup and minhash_dedup."""

    def __init__(self, folder: str, reason: str, name: str):
        super().__init__()
        self.folder, self.reason, self.name = folder, reason, name
        self._drop_ids: set[str] | None = None

    def process(self, doc: Document) -> Document:
        if self._drop_ids is None:
            table = pq.read_table(os.path.join(self.folder, "duplicates.parquet"), columns=["id"])
            self._drop_ids = set(table.column("id").to_pylist())
        if doc.id in self._drop_ids:
            raise Drop(self.reason)
        return doc


class ExactDedupOptions(StageOptions):
    """`exact_dedup`: drop documents whose text equals another's (after the stages before it)."""

    stage: Literal["exact_dedup"] = "exact_dedup"

    def build(self, context: StageContext) -> list:
        folder = context.work_folder
        return [
            ExactHasher(folder),
            Pass("exact_dedup", [FindExactDuplicates(folder)]),
            DropListedDuplicates(folder, "exact_duplicate", "exact_dedup.filter"),
        ]
