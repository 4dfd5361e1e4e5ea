"""First part of the MDS stage: each task sorts its documents into shuffle buckets on disk."""

from __future__ import annotations

import glob
import json
import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from datatrove.data import Document, DocumentsPipeline

from stages.base import CorpusStep
from stages.mds.pack import token_dtype
from stages.mds.shuffle import bucket_of, document_key
from stages.tokenize import TOKEN_IDS_KEY

ROWS_PER_FLUSH = 2048


def bucket_schema(metadata_columns: list[str] | None) -> pa.Schema:
    """Token mode (`metadata_columns` None): key, id, tokens (the dataset's dtype, as bytes).
    Text mode: key, id, text and one string column per metadata key."""
    fields = [("key", pa.uint64()), ("id", pa.string())]
    if metadata_columns is None:
        fields.append(("tokens", pa.large_binary()))
    else:
        fields += [("text", pa.string())] + [(name, pa.string()) for name in metadata_columns]
    return pa.schema(fields)


def bucket_folder(work_folder: str, bucket: int) -> str:
    return os.path.join(work_folder, "buckets", f"{bucket:05d}")


class ScatterToBuckets(CorpusStep):
    """Reads `doc.text` and, in token mode, `metadata["token_ids"]`; writes nothing to the document (it
    passes on); appends a row per document to `<work>/buckets/<bucket>/<task>.parquet`.

    Stats: the base step's counts and `tokens`. A document without token ids in token mode is
    quarantined (the tokenize stage did not run before this one on it).
    """

    name = "mds.scatter"

    def __init__(self, work_folder: str, seed: int, buckets: int, metadata_columns: list[str] | None, tokenizer=None):
        super().__init__()
        self.tokenizer = tokenizer  # token mode: the TokenizerArtifact, whose vocabulary sets the dtype
        self._dtype = None
        self.work_folder = work_folder
        self.seed = seed
        self.buckets = buckets
        self.metadata_columns = metadata_columns
        self._rows: dict[int, list[dict]] = {}
        self._writers: dict[int, pq.ParquetWriter] = {}

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        self._rank = rank
        for stale in glob.glob(os.path.join(self.work_folder, "buckets", "*", f"{rank:05d}.parquet")):
            os.remove(stale)  # a rerun of a killed task starts clean
        try:
            yield from super().run(data, rank, world_size)
            for bucket in list(self._rows):
                self._flush(bucket)
        finally:
            # Closed and released here, not by the garbage collector: a writer finalised at interpreter
            # exit can catch the pool's SIGTERM inside ParquetWriter.__del__ and leave the process alive.
            writers, self._writers = self._writers, {}
            for writer in writers.values():
                writer.close()
            writers.clear()

    def process(self, doc: Document) -> Document:
        key = document_key(self.seed, doc.id, doc.text)
        row = {"key": key, "id": doc.id}
        if self.metadata_columns is None:
            ids = doc.metadata.get(TOKEN_IDS_KEY)
            if ids is None:
                raise LookupError("no token ids: put a tokenize stage before mds, or use mds columns: text")
            if self._dtype is None:
                self._dtype = token_dtype(self.tokenizer.load().get_vocab_size(with_added_tokens=True))
            row["tokens"] = np.asarray(ids, dtype=self._dtype).tobytes()
            self.stat_update("tokens", value=len(ids))
        else:
            row["text"] = doc.text
            for name in self.metadata_columns:
                value = doc.metadata.get(name)
                row[name] = value if value is None or isinstance(value, str) else json.dumps(value)
        bucket = bucket_of(key, self.buckets)
        rows = self._rows.setdefault(bucket, [])
        rows.append(row)
        if len(rows) >= ROWS_PER_FLUSH:
            self._flush(bucket)
        return doc

    def _flush(self, bucket: int) -> None:
        rows = self._rows.pop(bucket, [])
        if not rows:
            return
        schema = bucket_schema(self.metadata_columns)
        if bucket not in self._writers:
            folder = bucket_folder(self.work_folder, bucket)
            os.makedirs(folder, exist_ok=True)
            # Uncompressed: scratch files read once, soon after, where decompression would cost more than disk.
            path = os.path.join(folder, f"{self._rank:05d}.parquet")
            self._writers[bucket] = pq.ParquetWriter(path, schema, compression="none")
        self._writers[bucket].write_table(pa.Table.from_pylist(rows, schema=schema))
