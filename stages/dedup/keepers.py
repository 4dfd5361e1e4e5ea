"""The last passes of minhash_dedup: which document of each group of near-duplicates stays, and the
saved index for later runs.

Connected components would chain pairs: with A~B and B~C verified, C would go for A although A and C
may share little. Here a document is dropped only for a document that is kept and whose Jaccard with
it was verified: documents are decided in keeper order (indexed first, then the longest with `keep:
longest`, then the smallest id), and each is dropped for the first already-kept document it has an
edge to, or kept. The decision is a function of the verified edges and the ids, never of task counts.
"""

from __future__ import annotations

import glob
import json
import os
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from stages.base import AggregationStep
from stages.dedup.bands import catch_probability
from stages.dedup.keys import is_reference, listed_keys
from stages.dedup.steps import INDEX_FILE, INDEX_MANIFEST, INDEX_SCHEMA, Banding, reference_rows, run_files

DUPLICATES = pa.schema(
    [("key", pa.uint64()), ("id", pa.string()), ("duplicate_of", pa.string()), ("jaccard", pa.float32())]
)


def _edges(folder: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    tables = [pq.read_table(path) for path in sorted(glob.glob(os.path.join(folder, "edges", "*.parquet")))]
    counts = {"candidates": 0, "rejected": 0}
    for path in sorted(glob.glob(os.path.join(folder, "edges", "*.json"))):
        with open(path) as f:
            for name, value in json.load(f).items():
                counts[name] += value
    if not tables:
        empty = np.empty(0, np.uint64)
        return empty, empty, np.empty(0, np.float32), counts
    table = pa.concat_tables(tables)
    return (table.column("better").to_numpy(), table.column("worse").to_numpy(),
            table.column("jaccard").to_numpy(), counts)  # fmt: skip


def _node_details(folder: str, references: tuple[str, ...], nodes: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Ids and lengths of the sorted keys `nodes`, read a row group at a time."""
    ids: list[str | None] = [None] * len(nodes)
    lengths = np.zeros(len(nodes), np.int64)

    def take(keys: np.ndarray, table: pa.Table) -> None:
        hit = np.flatnonzero(np.isin(keys, nodes))
        if not len(hit):
            return
        at = np.searchsorted(nodes, keys[hit])
        for position, doc_id in zip(at, table.column("id").take(pa.array(hit)).to_pylist(), strict=True):
            ids[position] = doc_id
        lengths[at] = table.column("length").to_numpy()[hit]

    for path in run_files(folder, "signatures"):
        parquet = pq.ParquetFile(path)
        for group in range(parquet.num_row_groups):
            table = parquet.read_row_group(group, columns=["key", "id", "length"])
            take(table.column("key").to_numpy(), table)
    for keys, table in reference_rows(references, ["id", "length"]):
        take(keys, table)
    return ids, lengths


def choose_keepers(ranks_better: np.ndarray, ranks_worse: np.ndarray, count: int) -> np.ndarray:
    """For `count` documents numbered in keeper order and the verified edges between them, the keeper
    of each (itself when kept): each document, in order, goes for the first kept one it has an edge to."""
    low, high = np.minimum(ranks_better, ranks_worse), np.maximum(ranks_better, ranks_worse)
    order = np.lexsort((low, high))
    keeper = np.arange(count)
    for edge in order:
        worse, better = high[edge], low[edge]
        if keeper[worse] == worse and keeper[better] == better:
            keeper[worse] = better
    return keeper


class ChooseKeepers(AggregationStep):
    """One task: reads every verified edge, and the ids and lengths of the documents they join; writes
    `<folder>/duplicates.parquet` (key and id to drop, id kept for it, their Jaccard) and
    `<folder>/summary.json`. Memory: the documents in verified pairs, not the corpus.
    Stats: `documents`, `candidates`, `rejected`, `duplicates`."""

    name = "minhash_dedup.keepers"

    def __init__(self, folder: str, banding: Banding, threshold: float, keep: str, references: tuple[str, ...],
                 find_tasks: int):  # fmt: skip
        super().__init__()
        self.folder, self.banding, self.threshold, self.keep = folder, banding, threshold, keep
        self.references, self.find_tasks = references, find_tasks

    def aggregate(self, rank: int, world_size: int) -> None:
        with self.track_time():
            self._choose()

    def _choose(self) -> None:
        better, worse, jaccard, counts = _edges(self.folder)
        nodes = np.unique(np.concatenate([better, worse]))
        ids, lengths = _node_details(self.folder, self.references, nodes)
        by_length = -lengths if self.keep == "longest" else np.zeros(len(nodes), np.int64)
        order = np.lexsort((nodes, np.array(ids, dtype=str), by_length, ~is_reference(nodes)))
        rank = np.empty(len(nodes), np.int64)
        rank[order] = np.arange(len(nodes))
        rank_better, rank_worse = rank[np.searchsorted(nodes, better)], rank[np.searchsorted(nodes, worse)]
        keeper_rank = choose_keepers(rank_better, rank_worse, len(nodes))
        similarity = {(min(a, b), max(a, b)): j for a, b, j in zip(rank_better, rank_worse, jaccard, strict=True)}
        dropped = np.flatnonzero(keeper_rank != np.arange(len(nodes)))  # in keeper order
        node_of_rank = order
        result = pa.table(
            {
                "key": nodes[node_of_rank[dropped]],
                "id": [ids[node_of_rank[r]] for r in dropped],
                "duplicate_of": [ids[node_of_rank[keeper_rank[r]]] for r in dropped],
                "jaccard": [similarity[(keeper_rank[r], r)] for r in dropped],
            },
            schema=DUPLICATES,
        )
        pq.write_table(result, os.path.join(self.folder, "duplicates.parquet"))
        self._write_summary(counts, keeper_rank, len(dropped))

    def _write_summary(self, counts: dict, keeper_rank: np.ndarray, duplicates: int) -> None:
        documents = sum(pq.ParquetFile(p).metadata.num_rows for p in run_files(self.folder, "signatures"))
        indexed = sum(pq.ParquetFile(os.path.join(r, INDEX_FILE)).metadata.num_rows for r in self.references)
        members = np.bincount(keeper_rank, minlength=len(keeper_rank))
        sizes = np.bincount(members[members > 1]) if len(members) else np.zeros(1, int)
        band = self.banding
        summary = {
            "documents": documents,
            "indexed_documents": indexed,
            "candidates": counts["candidates"],
            "rejected_by_verification": counts["rejected"],
            "duplicates": duplicates,
            "cluster_sizes": {str(size): int(n) for size, n in enumerate(sizes) if size > 1 and n},
            "bands": band.bands,
            "rows": band.rows,
            "find_tasks": self.find_tasks,
            "catch_probability": {
                str(j): round(catch_probability(j, band.bands, band.rows), 4) for j in (0.5, 0.7, 0.8, 0.9)
            },
        }
        with open(os.path.join(self.folder, "summary.json"), "w") as f:
            json.dump(summary, f, indent=2)
        for key in ("documents", "candidates", "duplicates"):
            self.stat_update(key, value=summary[key])
        self.stat_update("rejected", value=counts["rejected"])


class SaveIndex(AggregationStep):
    """One task: writes the kept documents' rows (this run's, minus `duplicates.parquet`, then those of
    the indexes compared against) to `<save_to>/index.parquet` with the settings they compare under,
    replacing the folder in one rename. Stats: `indexed`."""

    name = "minhash_dedup.save_index"

    def __init__(self, folder: str, save_to: str, settings: dict, references: tuple[str, ...]):
        super().__init__()
        self.folder, self.save_to, self.settings, self.references = folder, save_to, settings, references

    def aggregate(self, rank: int, world_size: int) -> None:
        with self.track_time():
            self._save()

    def _save(self) -> None:
        dropped = np.sort(listed_keys(self.folder))
        partial = self.save_to.rstrip("/") + ".partial"
        shutil.rmtree(partial, ignore_errors=True)
        os.makedirs(partial)
        columns = INDEX_SCHEMA.names
        with pq.ParquetWriter(os.path.join(partial, INDEX_FILE), INDEX_SCHEMA) as writer:
            for path in run_files(self.folder, "signatures"):
                parquet = pq.ParquetFile(path)
                for group in range(parquet.num_row_groups):
                    table = parquet.read_row_group(group, columns=["key", *columns])
                    kept = ~np.isin(table.column("key").to_numpy(), dropped)
                    writer.write_table(table.filter(pa.array(kept)).select(columns))
                    self.stat_update("indexed", value=int(kept.sum()))
            for _, table in reference_rows(self.references, columns):
                writer.write_table(table.cast(INDEX_SCHEMA))
                self.stat_update("indexed", value=table.num_rows)
        with open(os.path.join(partial, INDEX_MANIFEST), "w") as f:
            json.dump(self.settings, f, indent=2)
        shutil.rmtree(self.save_to, ignore_errors=True)
        os.replace(partial, self.save_to)
