"""The minhash_dedup stage's first two parts: signatures in the document pass and a one-task pass that
finds the clusters. The third, the filter by id, is exact_dedup's DropListedDuplicates."""

from __future__ import annotations

import glob
import json
import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from stages.base import CorpusStep
from stages.dedup.lsh import band_pairs, candidate_pairs, catch_probability, cluster, distinct_pairs, survivors
from stages.dedup.signature import MinHasher, ShingleSettings

BATCH = 1000
_SCHEMA = pa.schema(
    [("id", pa.string()), ("length", pa.int64()), ("signature", pa.binary()), ("shingles", pa.large_binary())]
)


class MinhashSignatures(CorpusStep):
    """Reads `doc.text`; writes nothing to the document; writes (id, length, signature, distinct
    shingle hashes) per document to `<folder>/signatures/<task>.parquet`, `BATCH` documents at a time.
    Stats: the base step's counts."""

    name = "minhash_dedup.signatures"

    def __init__(self, folder: str, num_perm: int, seed: int, shingles: ShingleSettings):
        super().__init__()
        self.folder, self.num_perm, self.seed, self.shingles = folder, num_perm, seed, shingles

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        hasher = MinHasher(self.num_perm, self.seed, self.shingles)
        os.makedirs(os.path.join(self.folder, "signatures"), exist_ok=True)
        path = os.path.join(self.folder, "signatures", f"{rank:05d}.parquet")
        with pq.ParquetWriter(path, _SCHEMA) as writer:
            batch: list[Document] = []
            for doc in data or ():
                batch.append(doc)
                if len(batch) == BATCH:
                    yield from self._write(batch, hasher, writer, rank, world_size)
                    batch = []
            if batch:
                yield from self._write(batch, hasher, writer, rank, world_size)

    def _write(self, batch, hasher, writer, rank, world_size):
        texts = [doc.text for doc in batch]
        with self.track_time(unit="batch"):
            signatures = hasher.signatures(texts)
            hashes, offsets = hasher.shingle_hashes_batch(texts)
        rows = {
            "id": [doc.id for doc in batch],
            "length": [len(t) for t in texts],
            "signature": [s.tobytes() for s in signatures],
            "shingles": [np.unique(hashes[offsets[i] : offsets[i + 1]]).tobytes() for i in range(len(batch))],
        }
        writer.write_table(pa.table(rows, schema=_SCHEMA))
        yield from super().run(iter(batch), rank, world_size)

    def process(self, doc: Document) -> Document:
        return doc


def load_signatures(folder: str, num_perm: int, with_shingles: bool):
    """(ids, lengths, signatures, shingles or None) of every task's documents, sorted by id, so that
    every task reading them sees the same order, whatever the task count that wrote them."""
    files = sorted(glob.glob(os.path.join(folder, "signatures", "*.parquet")))
    columns = ["id", "length", "signature"] + (["shingles"] if with_shingles else [])
    tables = [pq.read_table(f, schema=_SCHEMA, columns=columns) for f in files]
    table = pa.concat_tables(tables) if tables else _SCHEMA.empty_table().select(columns)
    table = table.sort_by([("id", "ascending"), ("length", "ascending")])
    count = table.num_rows
    signatures = np.frombuffer(b"".join(table.column("signature").to_pylist()), dtype=np.uint32)
    signatures = signatures.reshape(count, num_perm) if count else np.empty((0, num_perm), np.uint32)
    shingles = None
    if with_shingles:
        shingles = [np.frombuffer(b, dtype=np.uint32) for b in table.column("shingles").to_pylist()]
    lengths = np.asarray(table.column("length").to_numpy(), dtype=np.int64)
    return table.column("id").to_pylist(), lengths, signatures, shingles


class FindBandPairs(PipelineStep):
    """The sharded path's band pass: task `rank` takes bands rank, rank + world_size, ...; for each,
    reads the signatures and writes the index pairs sharing that band to `<folder>/pairs/<band>.parquet`.
    Stats: `candidates` (pairs written, before de-duplication across bands)."""

    type = "corpus-prep"
    name = "minhash_dedup.bands"

    def __init__(self, folder: str, num_perm: int, bands: int, rows: int):
        super().__init__()
        self.folder, self.num_perm, self.bands, self.rows = folder, num_perm, bands, rows

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        _, _, signatures, _ = load_signatures(self.folder, self.num_perm, with_shingles=False)
        os.makedirs(os.path.join(self.folder, "pairs"), exist_ok=True)
        for band in range(rank, self.bands, world_size):
            pairs = band_pairs(signatures, band, self.rows)
            self.stat_update("candidates", value=len(pairs))
            table = pa.table({"i": pairs[:, 0], "j": pairs[:, 1]})
            pq.write_table(table, os.path.join(self.folder, "pairs", f"{band:05d}.parquet"))
        yield from data or ()


class FindNearDuplicates(PipelineStep):
    """Reads every task's signatures; writes `<folder>/duplicates.parquet` (id to drop, id kept) and
    `<folder>/summary.json` (candidates, LSH false positives rejected, cluster sizes, S-curve).
    Stats: `documents`, `candidates`, `rejected`, `duplicates`, `clusters`."""

    type = "corpus-prep"
    name = "minhash_dedup.find"

    def __init__(
        self,
        folder: str,
        num_perm: int,
        threshold: float,
        bands: int,
        rows: int,
        verify: bool,
        keep: str,
        sharded: bool,
    ):
        super().__init__()
        self.folder, self.num_perm, self.threshold, self.bands, self.rows = folder, num_perm, threshold, bands, rows
        self.verify, self.keep, self.sharded = verify, keep, sharded

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        ids, lengths, signatures, shingles = load_signatures(self.folder, self.num_perm, self.verify)
        count = len(ids)
        if self.sharded:  # the band pass wrote each band's pairs
            paths = [os.path.join(self.folder, "pairs", f"{band:05d}.parquet") for band in range(self.bands)]
            pairs = distinct_pairs(
                [
                    np.stack([t.column("i").to_numpy(), t.column("j").to_numpy()], axis=1)
                    for t in map(pq.read_table, paths)
                ]
            )
        else:
            pairs = candidate_pairs(signatures, self.bands, self.rows)
        found = cluster(pairs, count, shingles, self.threshold)
        keeper = survivors(found.label, ids, lengths, self.keep) if count else np.empty(0, np.int64)
        drop = [i for i in range(count) if keeper[i] != i and ids[keeper[i]] != ids[i]]
        pq.write_table(
            pa.table({"id": [ids[i] for i in drop], "duplicate_of": [ids[keeper[i]] for i in drop]}),
            os.path.join(self.folder, "duplicates.parquet"),
        )
        sizes = np.bincount(np.bincount(found.label)) if count else np.zeros(1, int)
        summary = {
            "documents": count,
            "candidates": found.candidates,
            "rejected_by_verification": found.rejected,
            "duplicates": len(drop),
            "cluster_sizes": {str(size): int(n) for size, n in enumerate(sizes) if size > 1 and n},
            "bands": self.bands,
            "rows": self.rows,
            "catch_probability": {
                str(j): round(catch_probability(j, self.bands, self.rows), 4) for j in (0.5, 0.7, 0.8, 0.9)
            },
        }
        with open(os.path.join(self.folder, "summary.json"), "w") as f:
            json.dump(summary, f, indent=2)
        for key in ("documents", "candidates", "duplicates"):
            self.stat_update(key, value=summary[key])
        self.stat_update("rejected", value=found.rejected)
        yield from data or ()
