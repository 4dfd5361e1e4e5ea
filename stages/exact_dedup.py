"""Exact deduplication: of documents whose text is identical, keep the one with the smallest id.

It needs all documents before it can decide about any, so it runs as three parts: hashing in the
current pass (each text's 128-bit digest, partitioned by digest into files any task count can read), a
pass of find tasks, each grouping the digests of its shard (memory: its shard, not the corpus), and a
filter in the next pass that drops the listed documents by their run key (stages/dedup/keys.py).
"""

from __future__ import annotations

import hashlib
import os
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from datatrove.data import Document, DocumentsPipeline

from stages.base import AggregationStep, CorpusStep, Pass, StageContext, StageOptions
from stages.dedup.keys import DropListedDuplicates, KeyAssigner, key_field
from stages.dedup.partitioned import PartitionedWriter, files_in, partition_of, read_table
from stages.dedup.tasks import find_tasks

_SCHEMA = pa.schema([("partition", pa.uint16()), ("digest", pa.binary(16)), ("key", pa.uint64()), ("id", pa.string())])
_DUPLICATES_SCHEMA = pa.schema([("key", pa.uint64()), ("id", pa.string()), ("duplicate_of", pa.string())])
_BATCH = 4096


def text_digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class ExactHasher(CorpusStep):
    """Reads `doc.text`; writes the document's run key to `metadata[key_field]`, and (partition, digest,
    key, id) rows to `<folder>/hashes/<task>.parquet`, partitioned by digest. Stats: the base step's."""

    name = "exact_dedup.hash"

    def __init__(self, folder: str):
        super().__init__()
        self.folder = folder
        self.key_field = key_field(folder)

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        keys = KeyAssigner(rank)
        rows: dict[str, list] = {"digest": [], "key": [], "id": []}
        path = os.path.join(self.folder, "hashes", f"{rank:05d}.parquet")
        with PartitionedWriter(path, _SCHEMA, flush_rows=1 << 20) as out:
            for doc in super().run(data, rank, world_size):
                key = int(keys.take(1)[0])
                doc.metadata[self.key_field] = key
                rows["digest"].append(text_digest(doc.text))
                rows["key"].append(key)
                rows["id"].append(doc.id)
                if len(rows["key"]) == _BATCH:
                    self._add(out, rows)
                yield doc
            self._add(out, rows)

    @staticmethod
    def _add(out: PartitionedWriter, rows: dict[str, list]) -> None:
        if not rows["key"]:
            return
        leading = np.frombuffer(b"".join(rows["digest"]), dtype=">u8").reshape(-1, 2)[:, 0]
        out.add({"partition": partition_of(leading), **rows})
        for column in rows.values():
            column.clear()

    def process(self, doc: Document) -> Document:
        return doc


class FindExactDuplicates(AggregationStep):
    """Task `rank` of `world_size`: reads its shard of every task's hashes; writes
    `<folder>/duplicates/<rank>.parquet`: the keys and ids to drop, each with the id it duplicates (the
    smallest id of its digest; among equal ids, the first key). Stats: `documents`, `duplicates`."""

    name = "exact_dedup.find"

    def __init__(self, folder: str):
        super().__init__()
        self.folder = folder

    def aggregate(self, rank: int, world_size: int) -> None:
        with self.track_time():
            files = files_in(os.path.join(self.folder, "hashes"))
            table = read_table(files, rank, world_size, _SCHEMA, ["digest", "key", "id"])
            table = table.sort_by([("digest", "ascending"), ("id", "ascending"), ("key", "ascending")])
            digests = table.column("digest").to_pylist()
            # The first row of each run of equal digests is its keeper.
            first = np.ones(len(digests), dtype=bool)
            if len(digests) > 1:
                first[1:] = np.array([a != b for a, b in zip(digests, digests[1:], strict=False)])
            keeper_row = np.maximum.accumulate(np.where(first, np.arange(len(digests)), 0))
            drop = np.flatnonzero(~first)
            ids = table.column("id")
            result = pa.table(
                {
                    "key": table.column("key").take(drop),
                    "id": ids.take(drop),
                    "duplicate_of": ids.take(keeper_row[drop]),
                },
                schema=_DUPLICATES_SCHEMA,
            )
            os.makedirs(os.path.join(self.folder, "duplicates"), exist_ok=True)
            pq.write_table(result, os.path.join(self.folder, "duplicates", f"{rank:05d}.parquet"))
            self.stat_update("documents", value=len(digests))
            self.stat_update("duplicates", value=len(drop))


class ExactDedupOptions(StageOptions):
    """`exact_dedup`: drop documents whose text equals another's (after the stages before it)."""

    stage: Literal["exact_dedup"] = "exact_dedup"

    def build(self, context: StageContext) -> list:
        folder = context.work_folder
        find = Pass("exact_dedup", [FindExactDuplicates(folder)])
        find.tasks = find_tasks(context, None)
        return [ExactHasher(folder), find, DropListedDuplicates(folder, "exact_duplicate", "exact_dedup.filter")]
