"""The minhash_dedup stage's first two parts: signatures in the document pass and a one-task pass that
finds the clusters. The third, the filter by id, is exact_dedup's DropListedDuplicates."""

from __future__ import annotations

import glob
import json
import os
import shutil
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from stages.base import CorpusStep
from stages.dedup.lsh import band_pairs, candidate_pairs, catch_probability, cluster, distinct_pairs, survivors
from stages.dedup.signature import MinHasher, ShingleSettings

BATCH = 1000
INDEX_FILE = "index.parquet"
INDEX_MANIFEST = "index.json"
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
            hashes, offsets = hasher.shingle_hashes_batch(texts)
            signatures = hasher.signatures_of(hashes, offsets)
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


@dataclass
class Signatures:
    """This run's documents (sorted by id) followed by any reference index's (sorted by id): the same
    order for every task that loads them, whatever the task count that wrote them."""

    ids: list[str]
    lengths: np.ndarray
    signatures: np.ndarray
    shingles: list[np.ndarray] | None
    is_reference: np.ndarray  # True for rows from a saved index


def _read_rows(files: list[str], columns: list[str]) -> pa.Table:
    tables = [pq.read_table(f, schema=_SCHEMA, columns=columns) for f in files]
    table = pa.concat_tables(tables) if tables else _SCHEMA.empty_table().select(columns)
    return table.sort_by([("id", "ascending"), ("length", "ascending")])


def load_signatures(folder: str, num_perm: int, with_shingles: bool, references: tuple[str, ...] = ()) -> Signatures:
    columns = ["id", "length", "signature"] + (["shingles"] if with_shingles else [])
    own = _read_rows(sorted(glob.glob(os.path.join(folder, "signatures", "*.parquet"))), columns)
    reference = _read_rows([os.path.join(r, INDEX_FILE) for r in references], columns)
    table = pa.concat_tables([own, reference])
    count = table.num_rows
    signatures = np.frombuffer(b"".join(table.column("signature").to_pylist()), dtype=np.uint32)
    signatures = signatures.reshape(count, num_perm) if count else np.empty((0, num_perm), np.uint32)
    shingles = None
    if with_shingles:
        shingles = [np.frombuffer(b, dtype=np.uint32) for b in table.column("shingles").to_pylist()]
    lengths = np.asarray(table.column("length").to_numpy(), dtype=np.int64)
    is_reference = np.arange(count) >= own.num_rows
    return Signatures(table.column("id").to_pylist(), lengths, signatures, shingles, is_reference)


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


def save_index(path: str, rows: pa.Table, settings: dict) -> None:
    """Write the index (kept documents' signatures and shingles) into `path`, replacing it in one rename."""
    partial = path.rstrip("/") + ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    os.makedirs(partial)
    pq.write_table(rows, os.path.join(partial, INDEX_FILE))
    with open(os.path.join(partial, INDEX_MANIFEST), "w") as f:
        json.dump(settings, f, indent=2)
    shutil.rmtree(path, ignore_errors=True)
    os.replace(partial, path)


class FindBandPairs(PipelineStep):
    """The sharded path's band pass: task `rank` takes bands rank, rank + world_size, ...; for each,
    reads the signatures and writes the index pairs sharing that band to `<folder>/pairs/<band>.parquet`.
    Stats: `candidates` (pairs written, before de-duplication across bands)."""

    type = "corpus-prep"
    name = "minhash_dedup.bands"

    def __init__(self, folder: str, num_perm: int, bands: int, rows: int, references: tuple[str, ...] = ()):
        super().__init__()
        self.folder, self.num_perm, self.bands, self.rows = folder, num_perm, bands, rows
        self.references = references

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        with self.track_time():
            signatures = load_signatures(self.folder, self.num_perm, False, self.references).signatures
            os.makedirs(os.path.join(self.folder, "pairs"), exist_ok=True)
            for band in range(rank, self.bands, world_size):
                pairs = band_pairs(signatures, band, self.rows)
                self.stat_update("candidates", value=len(pairs))
                table = pa.table({"i": pairs[:, 0], "j": pairs[:, 1]})
                pq.write_table(table, os.path.join(self.folder, "pairs", f"{band:05d}.parquet"))
        yield from data or ()


class FindNearDuplicates(PipelineStep):
    """Reads every task's signatures, and those of the reference indexes given; writes
    `<folder>/duplicates.parquet` (id to drop, id kept) and `<folder>/summary.json` (candidates, LSH
    false positives rejected, cluster sizes, S-curve); with `save_to`, the index of the kept documents.

    A document in a cluster with an indexed document is dropped in its favour; with `only_against`,
    only such documents are dropped. Stats: `documents`, `candidates`, `rejected`, `duplicates`.
    """

    type = "corpus-prep"
    name = "minhash_dedup.find"

    def __init__(self, folder: str, settings: dict, threshold: float, bands: int, rows: int, options: dict):
        super().__init__()
        self.folder, self.settings, self.threshold, self.bands, self.rows = folder, settings, threshold, bands, rows
        self.verify, self.keep, self.sharded = options["verify"], options["keep"], options["sharded"]
        self.references = tuple(options["against"])
        self.only_against, self.save_to = options["only_against"], options["save_to"]

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        with self.track_time():
            self._find_near_duplicates()
        yield from data or ()

    def _find_near_duplicates(self) -> None:
        for reference in self.references:
            check_index(reference, self.settings)
        rows = load_signatures(
            self.folder, self.settings["num_perm"], self.verify or bool(self.save_to), self.references
        )
        ids, count, is_reference = rows.ids, len(rows.ids), rows.is_reference
        if self.sharded:  # the band pass wrote each band's pairs
            paths = [os.path.join(self.folder, "pairs", f"{band:05d}.parquet") for band in range(self.bands)]
            pairs = distinct_pairs(
                [
                    np.stack([t.column("i").to_numpy(), t.column("j").to_numpy()], axis=1)
                    for t in map(pq.read_table, paths)
                ]
            )
        else:
            pairs = candidate_pairs(rows.signatures, self.bands, self.rows)
        if len(pairs):
            mixed = is_reference[pairs[:, 0]] != is_reference[pairs[:, 1]]
            new_only = ~is_reference[pairs[:, 0]] & ~is_reference[pairs[:, 1]]
            pairs = pairs[mixed if self.only_against else mixed | new_only]  # indexed pairs were settled before
        found = cluster(pairs, count, rows.shingles if self.verify else None, self.threshold)
        keeper = survivors(found.label, ids, rows.lengths, self.keep, preferred=is_reference) if count else []
        drop = [i for i in range(count) if not is_reference[i] and keeper[i] != i and ids[keeper[i]] != ids[i]]
        pq.write_table(
            pa.table({"id": [ids[i] for i in drop], "duplicate_of": [ids[keeper[i]] for i in drop]}),
            os.path.join(self.folder, "duplicates.parquet"),
        )
        if self.save_to:
            dropped = set(drop)
            kept = [i for i in range(count) if i not in dropped]
            table = pa.table(
                {
                    "id": [ids[i] for i in kept],
                    "length": rows.lengths[kept],
                    "signature": [rows.signatures[i].tobytes() for i in kept],
                    "shingles": [rows.shingles[i].tobytes() for i in kept],
                },
                schema=_SCHEMA,
            )
            save_index(self.save_to, table, self.settings)
        sizes = np.bincount(np.bincount(found.label)) if count else np.zeros(1, int)
        summary = {
            "documents": int((~is_reference).sum()),
            "indexed_documents": int(is_reference.sum()),
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
