"""The minhash_dedup stage's document-pass step, and the files every find task reads.

Per task, `MinhashSignatures` writes two partitioned files (partitioned.py):
- `signatures/<task>.parquet`, partitioned by the document's key: key, id, length, signature, shingle
  hashes. The verify passes read their shard of it.
- `buckets/<task>.parquet`, partitioned by bucket: one row per (document, band): bucket hash, key,
  length, id. The candidate pass reads its shard of it.

A saved index (incremental dedup) is one Parquet file of id, length, signature and shingles; its rows
take part as documents with reference keys (keys.py), read whole by every find task, a row group at
a time.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from datatrove.data import Document, DocumentsPipeline

from stages.base import CorpusStep
from stages.dedup.bands import bucket_hashes
from stages.dedup.keys import KeyAssigner, key_field, reference_keys
from stages.dedup.partitioned import PartitionedWriter, files_in, mix64, partition_of, read_shard, shard_range
from stages.dedup.signature import MinHasher, ShingleSettings

INDEX_FILE = "index.parquet"
INDEX_MANIFEST = "index.json"
SIGNATURES = pa.schema(
    [
        ("partition", pa.uint16()),
        ("key", pa.uint64()),
        ("id", pa.string()),
        ("length", pa.int64()),
        ("signature", pa.binary()),
        ("shingles", pa.large_binary()),
    ]
)
BUCKETS = pa.schema(
    [("partition", pa.uint16()), ("bucket", pa.uint64()), ("key", pa.uint64()), ("length", pa.int64()),
     ("id", pa.string())]
)  # fmt: skip
INDEX_SCHEMA = pa.schema(
    [("id", pa.string()), ("length", pa.int64()), ("signature", pa.binary()), ("shingles", pa.large_binary())]
)


def home_partition(keys: np.ndarray) -> np.ndarray:
    """The partition a document's own rows (signature, shingles) live in."""
    return partition_of(mix64(keys))


@dataclass(frozen=True)
class Banding:
    num_perm: int
    bands: int
    rows: int


class MinhashSignatures(CorpusStep):
    """Reads `doc.text`; writes the document's run key to `metadata[key_field]`; writes its signature,
    shingle hashes and band buckets to `<folder>/signatures/` and `<folder>/buckets/` (see the module
    docstring), `batch_size` documents at a time. Stats: the base step's counts."""

    name = "minhash_dedup.signatures"
    batch_size = 1000

    def __init__(self, folder: str, banding: Banding, seed: int, shingles: ShingleSettings):
        super().__init__()
        self.folder, self.banding, self.seed, self.shingles = folder, banding, seed, shingles
        self.key_field = key_field(folder)

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        self._hasher = MinHasher(self.banding.num_perm, self.seed, self.shingles)
        self._keys = KeyAssigner(rank)
        name = f"{rank:05d}.parquet"
        # Memory bound: about 15 MB of signature rows and 15 MB of bucket rows before each flush.
        self._signatures = PartitionedWriter(os.path.join(self.folder, "signatures", name), SIGNATURES, 1 << 13)
        self._buckets = PartitionedWriter(os.path.join(self.folder, "buckets", name), BUCKETS, 1 << 18)
        with self._signatures, self._buckets:
            yield from super().run(data, rank, world_size)

    def process(self, doc: Document) -> Document:
        return self.process_batch([doc])[0]

    def process_batch(self, docs: list[Document]) -> list[Document]:
        texts = [doc.text for doc in docs]
        hasher = self._hasher
        hashes, offsets = hasher.shingle_hashes_batch(texts)
        values = hasher.signatures_of(hashes, offsets)
        batch_keys = self._keys.take(len(docs))
        ids = pa.array([doc.id for doc in docs], pa.string())
        lengths = np.array([len(t) for t in texts], dtype=np.int64)
        self._signatures.add(
            {
                "partition": home_partition(batch_keys),
                "key": batch_keys,
                "id": ids,
                "length": lengths,
                "signature": [s.tobytes() for s in values],
                "shingles": [np.unique(hashes[offsets[i] : offsets[i + 1]]).tobytes() for i in range(len(docs))],
            }
        )
        band = self.banding
        hashed = bucket_hashes(values, band.bands, band.rows).ravel()
        owner = np.repeat(np.arange(len(docs)), band.bands)
        self._buckets.add(
            {
                "partition": partition_of(hashed),
                "bucket": hashed,
                "key": batch_keys[owner],
                "length": lengths[owner],
                "id": ids.take(pa.array(owner)),
            }
        )
        for doc, key in zip(docs, batch_keys.tolist(), strict=True):
            doc.metadata[self.key_field] = key
        return docs


def run_files(folder: str, kind: str) -> list[str]:
    return files_in(os.path.join(folder, kind))


def reference_rows(references: tuple[str, ...], columns: list[str]) -> Iterator[tuple[np.ndarray, pa.Table]]:
    """(keys, table of `columns`) for each row group of each saved index."""
    for number, folder in enumerate(references):
        parquet = pq.ParquetFile(os.path.join(folder, INDEX_FILE))
        first = 0
        for group in range(parquet.num_row_groups):
            table = parquet.read_row_group(group, columns=columns)
            yield reference_keys(number, first, table.num_rows), table
            first += table.num_rows


def own_documents(folder: str, references: tuple[str, ...], shard: int, shards: int, column: str,
                  wanted: np.ndarray) -> tuple[np.ndarray, list[bytes]]:  # fmt: skip
    """(sorted keys, their `column` values) of the documents in `wanted` (sorted keys) whose home is
    this shard, from this run's signatures and the saved indexes. Memory: the wanted documents only."""
    keys, values = [], []
    for table in read_shard(run_files(folder, "signatures"), shard, shards, ["key", column]):
        table_keys = table.column("key").to_numpy()
        hit = np.flatnonzero(np.isin(table_keys, wanted, assume_unique=False))
        keys.append(table_keys[hit])
        values += table.column(column).take(pa.array(hit)).to_pylist()
    low, high = shard_range(shard, shards)
    for table_keys, table in reference_rows(references, [column]):
        home = home_partition(table_keys)
        hit = np.flatnonzero((home >= low) & (home < high) & np.isin(table_keys, wanted))
        keys.append(table_keys[hit])
        values += table.column(column).take(pa.array(hit)).to_pylist()
    found = np.concatenate(keys) if keys else np.empty(0, np.uint64)
    order = np.argsort(found, kind="stable")
    return found[order], [values[i] for i in order]


def check_index(path: str, settings: dict) -> None:
    """A saved index is usable only with the signature settings it was built with."""
    manifest = os.path.join(path, INDEX_MANIFEST)
    if not os.path.exists(manifest):
        raise ValueError(f"{path} is not a minhash_dedup index (no {INDEX_MANIFEST}); save one with index.save")
    with open(manifest) as f:
        saved = json.load(f)
    if saved != settings:
        raise ValueError(
            f"index {path} was built with {saved}, this stage uses {settings}: signatures would not compare"
        )
