"""Partitioned Parquet files: the shuffle of the sharded dedup find, done through the filesystem.

Every row carries a `partition` (0..65535, the top 16 bits of a 64-bit hash of what groups it: a band
bucket, a text digest, a document key). A writing task buffers its rows and flushes them sorted by
partition into small row groups; the task of shard s of S reads, from every writer's file, only the row
groups whose partition range meets s's (Parquet's row-group statistics) and keeps only its rows.

The partition space is fixed, so what one pass wrote for any number of tasks is read by any number of
tasks in the next: the task count changes who reads what, never what is found. A task's memory is its
buffer (bounded) or its shard (about 1/S of the rows), never the whole corpus.

Hand-written because the few lines needed here are simpler than a dependency: pyarrow.dataset would
prune by the same statistics, but hive partitioning would cost a file per (writer, partition).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

PARTITIONS = 1 << 16
# A flush is cut into this many row groups, each covering about 1/GROUPS_PER_FLUSH of the partition
# space: a shard's task reads little more than its own rows.
GROUPS_PER_FLUSH = 128

_MIX_1, _MIX_2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def mix64(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a 64-bit hash of each uint64, spreading every input bit over the output."""
    values = np.asarray(values, dtype=np.uint64)
    values = (values ^ (values >> np.uint64(30))) * _MIX_1
    values = (values ^ (values >> np.uint64(27))) * _MIX_2
    return values ^ (values >> np.uint64(31))


def partition_of(hashes: np.ndarray) -> np.ndarray:
    return (np.asarray(hashes, dtype=np.uint64) >> np.uint64(48)).astype(np.uint16)


def shard_range(shard: int, shards: int) -> tuple[int, int]:
    """The partitions [low, high) that shard `shard` of `shards` owns."""
    return shard * PARTITIONS // shards, (shard + 1) * PARTITIONS // shards


class PartitionedWriter:
    """Collects tables with a `partition` column (first) and writes them to `path`, sorted by partition
    within each flush. The file appears only when closed, whole (a killed task leaves only `.partial`)."""

    def __init__(self, path: str, schema: pa.Schema, flush_rows: int):
        if schema.names[0] != "partition":
            raise ValueError("the first column of a partitioned file must be `partition`")
        self.path, self.schema, self.flush_rows = path, schema, flush_rows  # flush_rows: the memory bound
        self._partial = path + ".partial"
        self._buffer: list[pa.Table] = []
        self._rows = 0
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self._writer = pq.ParquetWriter(self._partial, schema)

    def add(self, columns: dict) -> None:
        table = pa.table(columns, schema=self.schema)
        self._buffer.append(table)
        self._rows += table.num_rows
        if self._rows >= self.flush_rows:
            self._flush()

    def _flush(self) -> None:
        if self._rows:
            table = pa.concat_tables(self._buffer).sort_by("partition")
            self._writer.write_table(table, row_group_size=max(64, -(-table.num_rows // GROUPS_PER_FLUSH)))
        self._buffer, self._rows = [], 0

    def close(self) -> None:
        self._flush()
        self._writer.close()
        self._writer = None  # a finaliser holding a writer can swallow a SIGTERM (FIELD-NOTES)
        os.replace(self._partial, self.path)

    def __enter__(self) -> PartitionedWriter:
        return self

    def __exit__(self, kind, *_) -> None:
        if kind is None:
            self.close()
        elif self._writer is not None:
            self._writer.close()
            self._writer = None


def read_shard(files: list[str], shard: int, shards: int, columns: list[str]) -> Iterator[pa.Table]:
    """The rows of shard `shard` of `shards` in `files`, one table per row group that holds any."""
    low, high = shard_range(shard, shards)
    for path in files:
        parquet = pq.ParquetFile(path)
        for group in range(parquet.num_row_groups):
            statistics = parquet.metadata.row_group(group).column(0).statistics
            if statistics is not None and statistics.has_min_max:
                if statistics.max < low or statistics.min >= high:
                    continue
            table = parquet.read_row_group(group, columns=["partition", *columns])
            partition = table.column("partition")
            inside = pc.and_(pc.greater_equal(partition, low), pc.less(partition, high))
            yield table.filter(inside).drop_columns(["partition"])


def read_table(files: list[str], shard: int, shards: int, schema: pa.Schema, columns: list[str]) -> pa.Table:
    tables = list(read_shard(files, shard, shards, columns))
    if not tables:
        return pa.schema([schema.field(name) for name in columns]).empty_table()
    return pa.concat_tables(tables)


def files_in(folder: str) -> list[str]:
    """The finished partitioned files of a folder, in name order (writers' ranks)."""
    if not os.path.isdir(folder):
        return []
    return [os.path.join(folder, name) for name in sorted(os.listdir(folder)) if name.endswith(".parquet")]
