"""The sharded find of minhash_dedup: three passes of `tasks` tasks, each task one shard.

1. `FindCandidates`: groups its shard of band buckets; every pair of documents sharing a bucket is a
   candidate, written as (better, worse) by the keeper order, partitioned by the worse one's key.
2. `AttachWorseSide`: for the candidates whose worse document lives in its shard, attaches that
   document's shingle hashes (or signature) and sends the row on, partitioned by the better one's key.
3. `VerifyCandidates`: attaches the better document's and keeps the pairs whose Jaccard reaches the
   threshold: exact on the shingle sets (or estimated from signatures with `verify: false`).

A pair found in several bands (or shards) is verified once. Each task holds its shard's rows and the
documents of its shard that take part in candidates: memory grows with the shard, not the corpus.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from stages.base import AggregationStep
from stages.dedup.bands import bucket_hashes, estimated_jaccard, exact_jaccard
from stages.dedup.keys import is_reference
from stages.dedup.partitioned import PartitionedWriter, files_in, partition_of, read_table, shard_range
from stages.dedup.steps import BUCKETS, Banding, home_partition, own_documents, reference_rows, run_files

# In a bucket of more than this many documents (boilerplate shared by thousands of pages), each is
# paired with the MAX_PARTNERS first in keeper order only, not with all: a bucket of 10,000 would
# otherwise give 50 million pairs. The keeper of the bucket is among them, so every member is still
# compared with the document it would be dropped for.
MAX_PARTNERS = 100
PAIRS = pa.schema([("partition", pa.uint16()), ("better", pa.uint64()), ("worse", pa.uint64())])
ATTACHED = pa.schema(
    [("partition", pa.uint16()), ("better", pa.uint64()), ("worse", pa.uint64()), ("worse_value", pa.large_binary())]
)
_CHUNK = 1 << 14
EDGES = pa.schema([("better", pa.uint64()), ("worse", pa.uint64()), ("jaccard", pa.float32())])


def keeper_order(keep: str) -> list[tuple[str, str]]:
    """Sort keys that put, within a bucket, the document a cluster keeps first: indexed documents
    (already kept by an earlier run), then the longest text if `keep: longest`, then the smallest id;
    equal ids (a source that repeats ids) by key."""
    order = [("reference", "descending")]
    if keep == "longest":
        order.append(("length", "descending"))
    return order + [("id", "ascending"), ("key", "ascending")]


def bucket_pairs(buckets: np.ndarray, max_partners: int = MAX_PARTNERS) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (better, worse) of the pairs within runs of equal `buckets` (rows sorted by bucket,
    then keeper order): each row with every earlier row of its run among the first `max_partners`."""
    if len(buckets) < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    starts = np.flatnonzero(np.concatenate([[True], buckets[1:] != buckets[:-1]]))
    sizes = np.diff(np.concatenate([starts, [len(buckets)]]))
    better, worse = [], []
    for size in np.unique(sizes[sizes > 1]):
        first = starts[sizes == size]
        i, j = np.triu_indices(size, k=1)
        keep = i < max_partners
        i, j = i[keep], j[keep]
        better.append((first[:, None] + i[None, :]).ravel())
        worse.append((first[:, None] + j[None, :]).ravel())
    if not better:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate(better), np.concatenate(worse)


class FindCandidates(AggregationStep):
    """Task `rank` of `world_size`: reads its shard of every task's `buckets/` (and computes the saved
    indexes' buckets, keeping its shard); writes `<folder>/pairs/<rank>.parquet`. Pairs between two
    indexed documents are skipped (settled by the run that indexed them), and with `only_against`
    every pair without one. Stats: `bucket_rows`, `candidates` (before de-duplication across bands)."""

    name = "minhash_dedup.candidates"

    def __init__(self, folder: str, banding: Banding, keep: str, references: tuple[str, ...], only_against: bool):
        super().__init__()
        self.folder, self.banding, self.keep = folder, banding, keep
        self.references, self.only_against = references, only_against

    def aggregate(self, rank: int, world_size: int) -> None:
        with self.track_time():
            rows = self._shard_rows(rank, world_size)
            rows = rows.append_column("reference", pa.array(is_reference(rows.column("key").to_numpy())))
            rows = rows.sort_by([("bucket", "ascending"), *keeper_order(self.keep)])
            keys = rows.column("key").to_numpy()
            better, worse = bucket_pairs(rows.column("bucket").to_numpy())
            better, worse = keys[better], keys[worse]
            wanted = ~(is_reference(better) & is_reference(worse))  # indexed pairs were settled before
            if self.only_against:
                wanted &= is_reference(better) & ~is_reference(worse)
            better, worse = better[wanted], worse[wanted]
            self.stat_update("bucket_rows", value=rows.num_rows)
            self.stat_update("candidates", value=len(better))
            path = os.path.join(self.folder, "pairs", f"{rank:05d}.parquet")
            with PartitionedWriter(path, PAIRS, flush_rows=1 << 22) as out:
                out.add({"partition": home_partition(worse), "better": better, "worse": worse})

    def _shard_rows(self, rank: int, world_size: int) -> pa.Table:
        columns = ["bucket", "key", "length", "id"]
        tables = [read_table(run_files(self.folder, "buckets"), rank, world_size, BUCKETS, columns)]
        low, high = shard_range(rank, world_size)
        band = self.banding
        for keys, table in reference_rows(self.references, ["id", "length", "signature"]):
            values = np.frombuffer(b"".join(table.column("signature").to_pylist()), dtype=np.uint32)
            hashed = bucket_hashes(values.reshape(len(keys), band.num_perm), band.bands, band.rows).ravel()
            partition = partition_of(hashed)
            inside = np.flatnonzero((partition >= low) & (partition < high))
            owner = inside // band.bands
            tables.append(
                pa.table(
                    {
                        "bucket": hashed[inside],
                        "key": keys[owner],
                        "length": table.column("length").take(pa.array(owner)),
                        "id": table.column("id").take(pa.array(owner)),
                    },
                    schema=pa.schema([BUCKETS.field(c) for c in columns]),
                )
            )
        return pa.concat_tables(tables)


def _distinct_pairs(better: np.ndarray, worse: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pairs = np.unique(np.stack([better, worse], axis=1), axis=0) if len(better) else np.empty((0, 2), np.uint64)
    return pairs[:, 0], pairs[:, 1]


class AttachWorseSide(AggregationStep):
    """Task `rank`: reads the candidate pairs whose worse document's home is its shard, de-duplicated;
    writes them with that document's `column` (shingles or signature) to `<folder>/attached/<rank>.parquet`,
    partitioned by the better document. Stats: `candidates` (distinct pairs)."""

    name = "minhash_dedup.attach"

    def __init__(self, folder: str, column: str, references: tuple[str, ...]):
        super().__init__()
        self.folder, self.column, self.references = folder, column, references

    def aggregate(self, rank: int, world_size: int) -> None:
        with self.track_time():
            pair_files = files_in(os.path.join(self.folder, "pairs"))
            pairs = read_table(pair_files, rank, world_size, PAIRS, ["better", "worse"])
            better, worse = _distinct_pairs(pairs.column("better").to_numpy(), pairs.column("worse").to_numpy())
            keys, values = own_documents(self.folder, self.references, rank, world_size, self.column, np.unique(worse))
            self.stat_update("candidates", value=len(better))
            path = os.path.join(self.folder, "attached", f"{rank:05d}.parquet")
            with PartitionedWriter(path, ATTACHED, flush_rows=1 << 15) as out:
                for start in range(0, len(better), _CHUNK):
                    chunk_better, chunk_worse = better[start : start + _CHUNK], worse[start : start + _CHUNK]
                    rows = np.searchsorted(keys, chunk_worse)
                    out.add(
                        {
                            "partition": home_partition(chunk_better),
                            "better": chunk_better,
                            "worse": chunk_worse,
                            "worse_value": [values[r] for r in rows],
                        }
                    )


class VerifyCandidates(AggregationStep):
    """Task `rank`: reads the attached pairs whose better document's home is its shard; writes those
    whose Jaccard reaches `threshold` to `<folder>/edges/<rank>.parquet` (better, worse, Jaccard), and
    its counts to `edges/<rank>.json`. Stats: `candidates`, `rejected` (LSH false positives)."""

    name = "minhash_dedup.verify"

    def __init__(self, folder: str, column: str, threshold: float, references: tuple[str, ...]):
        super().__init__()
        self.folder, self.column, self.threshold, self.references = folder, column, threshold, references

    def aggregate(self, rank: int, world_size: int) -> None:
        with self.track_time():
            attached = files_in(os.path.join(self.folder, "attached"))
            table = read_table(attached, rank, world_size, ATTACHED, ["better", "worse", "worse_value"])
            better, worse = table.column("better").to_numpy(), table.column("worse").to_numpy()
            keys, values = own_documents(self.folder, self.references, rank, world_size, self.column, np.unique(better))
            similarity = exact_jaccard if self.column == "shingles" else estimated_jaccard
            rows = np.searchsorted(keys, better)
            jaccard = np.fromiter(
                (
                    similarity(np.frombuffer(values[row], np.uint32), np.frombuffer(theirs, np.uint32))
                    for row, theirs in zip(rows, table.column("worse_value").to_pylist(), strict=True)
                ),
                dtype=np.float64,
                count=len(rows),
            )
            similar = jaccard >= self.threshold
            edges = pa.table(
                {"better": better[similar], "worse": worse[similar], "jaccard": jaccard[similar].astype(np.float32)},
                schema=EDGES,
            )
            os.makedirs(os.path.join(self.folder, "edges"), exist_ok=True)
            pq.write_table(edges, os.path.join(self.folder, "edges", f"{rank:05d}.parquet"))
            counts = {"candidates": len(rows), "rejected": int((~similar).sum())}
            with open(os.path.join(self.folder, "edges", f"{rank:05d}.json"), "w") as f:
                json.dump(counts, f)
            self.stat_update("candidates", value=counts["candidates"])
            self.stat_update("rejected", value=counts["rejected"])
