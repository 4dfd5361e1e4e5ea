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
from stages.dedup.lsh import catch_probability, cluster, survivors
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


class FindNearDuplicates(PipelineStep):
    """Reads every task's signatures; writes `<folder>/duplicates.parquet` (id to drop, id kept) and
    `<folder>/summary.json` (candidates, LSH false positives rejected, cluster sizes, S-curve).
    Stats: `documents`, `candidates`, `rejected`, `duplicates`, `clusters`."""

    type = "corpus-prep"
    name = "minhash_dedup.find"

    def __init__(self, folder: str, threshold: float, bands: int, rows: int, verify: bool, keep: str):
        super().__init__()
        self.folder, self.threshold, self.bands, self.rows = folder, threshold, bands, rows
        self.verify, self.keep = verify, keep

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        files = sorted(glob.glob(os.path.join(self.folder, "signatures", "*.parquet")))
        table = pa.concat_tables([pq.read_table(f, schema=_SCHEMA) for f in files]) if files else _SCHEMA.empty_table()
        # Sorted by id first, so that everything after is independent of task count and order.
        table = table.sort_by([("id", "ascending"), ("length", "ascending")])
        ids = table.column("id").to_pylist()
        count = len(ids)
        signatures = np.frombuffer(b"".join(table.column("signature").to_pylist()), dtype=np.uint32)
        signatures = signatures.reshape(count, -1) if count else np.empty((0, self.bands * self.rows), np.uint32)
        shingles = None
        if self.verify:
            shingles = [np.frombuffer(b, dtype=np.uint32) for b in table.column("shingles").to_pylist()]
        found = cluster(signatures, shingles, self.threshold, self.bands, self.rows)
        lengths = np.asarray(table.column("length").to_numpy(), dtype=np.int64)
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
