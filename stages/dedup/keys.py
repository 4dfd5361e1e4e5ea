"""Run keys: how the dedup stages name a document between the pass that hashes it and the one that drops it.

A document's key is (task rank, ordinal within the task) packed into 63 bits, assigned by the step that
hashes it and carried in its metadata to the filter of the next pass, which removes it again. Keys are
unique within a run by construction, so two unrelated documents that share an id (two files with the
same ids, a source that reuses them) are never confused; and they travel with the document, so the
filter reads the documents with any number of tasks (unlike a drop list by position in a task).
Documents of a saved index (incremental dedup) get keys with the top bit set.
"""

from __future__ import annotations

import os

import numpy as np
import pyarrow.parquet as pq
from datatrove.data import Document, DocumentsPipeline

from stages.base import CorpusStep, Drop

REFERENCE_BIT = np.uint64(1 << 63)
_RANK_SHIFT = 32


def key_field(work_folder: str) -> str:
    """The metadata field holding a document's key for the dedup stage working in `work_folder`."""
    return f"_key_{os.path.basename(work_folder.rstrip('/'))}"


class KeyAssigner:
    """Hands out the keys of one task's documents, in the order the task reads them."""

    def __init__(self, rank: int):
        if rank >= 1 << 31:
            raise ValueError("more than 2^31 tasks")
        self._next = rank << _RANK_SHIFT

    def take(self, count: int) -> np.ndarray:
        keys = np.arange(self._next, self._next + count, dtype=np.uint64)
        self._next += count
        return keys


def reference_keys(reference: int, first_row: int, count: int) -> np.ndarray:
    """Keys of rows [first_row, first_row + count) of the `reference`-th saved index."""
    base = int(REFERENCE_BIT) | (reference << 40)
    return np.arange(base + first_row, base + first_row + count, dtype=np.uint64)


def is_reference(keys: np.ndarray) -> np.ndarray:
    return (np.asarray(keys, dtype=np.uint64) & REFERENCE_BIT) != 0


class DropListedDuplicates(CorpusStep):
    """Reads the document's key (`metadata[key_field]`, which it removes); drops the documents whose key
    the find listed in `<folder>/duplicates*` (column `key`) with the given reason. Memory: 8 bytes per
    listed document. Stats: the base step's counts. Used by exact_dedup and minhash_dedup."""

    def __init__(self, folder: str, reason: str, name: str):
        super().__init__()
        self.folder, self.reason, self.name = folder, reason, name
        self.key_field = key_field(folder)
        self._drop: np.ndarray | None = None

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        self._drop = np.sort(listed_keys(self.folder))
        yield from super().run(data, rank, world_size)

    def process(self, doc: Document) -> Document:
        key = doc.metadata.pop(self.key_field, None)
        if key is None:
            raise ValueError(f"document has no {self.key_field}: it did not pass through this stage's hashing")
        at = np.searchsorted(self._drop, np.uint64(key))
        if at < len(self._drop) and self._drop[at] == key:
            raise Drop(self.reason)
        return doc


def duplicate_files(folder: str) -> list[str]:
    """`duplicates.parquet`, or the shard files of `duplicates/`, of a dedup stage's work folder."""
    single = os.path.join(folder, "duplicates.parquet")
    if os.path.exists(single):
        return [single]
    shards = os.path.join(folder, "duplicates")
    if not os.path.isdir(shards):
        return []
    return [os.path.join(shards, n) for n in sorted(os.listdir(shards)) if n.endswith(".parquet")]


def listed_keys(folder: str) -> np.ndarray:
    keys = [pq.read_table(path, columns=["key"]).column("key").to_numpy() for path in duplicate_files(folder)]
    return np.concatenate(keys).astype(np.uint64) if keys else np.empty(0, np.uint64)
