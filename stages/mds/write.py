"""Second part of the MDS stage: each task packs and writes whole buckets as MDS shards."""

from __future__ import annotations

import glob
import json
import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from stages.mds.pack import Packed, pack_concatenated, pack_whole_documents
from stages.mds.scatter import bucket_folder, bucket_schema
from stages.mds.shuffle import sample_order

PROVENANCE_SCHEMA = pa.schema([("position", pa.int64()), ("packed", pa.int64()), ("doc_ids", pa.list_(pa.string()))])


def partial_dataset_folder(output_folder: str) -> str:
    """Where writers work; renamed to the dataset folder only once every bucket is written."""
    return os.path.join(output_folder, "mds.partial")


def bucket_dataset_folder(output_folder: str, bucket: int) -> str:
    return os.path.join(partial_dataset_folder(output_folder), f"bucket-{bucket:05d}")


def token_dtype(vocab_size: int) -> str:
    """The narrowest dtype llm-foundry reads that holds every token id."""
    return "uint16" if vocab_size <= 1 << 16 else "uint32"


class WriteBuckets(PipelineStep):
    """Reads the bucket files of buckets `rank, rank + world_size, ...`; writes each bucket as an MDS
    dataset in `<output>/mds.partial/bucket-<b>/`, its provenance to `<work>/provenance/<b>.parquet`
    and its token counts to `<work>/summary/<b>.json`.

    Token mode packs the bucket's documents (in key order) into samples of `max_seq_len` tokens and
    writes them in a seeded order; text mode writes one sample per document, in key order.
    Stats: `samples`, `tokens_in`, `tokens_written`, `tail_dropped`, `truncated`, `padding`.
    """

    type = "corpus-prep"
    name = "mds.write"

    def __init__(self, settings: dict, tokenizer=None):
        super().__init__()
        self.settings = settings
        self.tokenizer = tokenizer  # a TokenizerArtifact in token mode

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        dtype = None
        pad_id = None
        if self.tokenizer is not None:
            tokenizer = self.tokenizer.load()
            dtype = token_dtype(tokenizer.get_vocab_size(with_added_tokens=True))
            pad_id = self.tokenizer.special_ids(tokenizer)[1] or 0
        for bucket in range(rank, self.settings["buckets"], world_size):
            with self.track_time(unit="bucket"):
                self._write_bucket(bucket, dtype, pad_id)
        yield from data or ()

    def _read_bucket(self, bucket: int) -> pa.Table:
        schema = bucket_schema(None if self.tokenizer is not None else self.settings["metadata_columns"])
        files = sorted(glob.glob(os.path.join(bucket_folder(self.settings["work_folder"], bucket), "*.parquet")))
        table = pa.concat_tables([pq.read_table(f, schema=schema) for f in files]) if files else schema.empty_table()
        return table.sort_by([("key", "ascending"), ("id", "ascending")])

    def _write_bucket(self, bucket: int, dtype: str | None, pad_id: int | None) -> None:
        from streaming import MDSWriter

        settings = self.settings
        table = self._read_bucket(bucket)
        ids = table.column("id").to_pylist()
        if dtype is not None:
            documents = [np.frombuffer(b, dtype=np.uint32) for b in table.column("tokens").to_pylist()]
            if settings["split_documents"]:
                packed = pack_concatenated(documents, settings["max_seq_len"], dtype)
            else:
                packed = pack_whole_documents(documents, settings["max_seq_len"], dtype, pad_id)
            order = sample_order(settings["seed"], bucket, len(packed.samples))
            columns = {"tokens": f"ndarray:{dtype}"}
            samples = ({"tokens": packed.samples[i]} for i in order)
        else:
            packed = Packed(np.empty(0), [[i] for i in range(len(ids))])
            order = np.arange(len(ids))
            names = ["text"] + settings["metadata_columns"]
            columns = {name: "str" for name in names}
            rows = table.select(names).to_pylist()
            samples = ({k: (v if v is not None else "") for k, v in rows[i].items()} for i in order)

        with MDSWriter(
            out=bucket_dataset_folder(settings["output_folder"], bucket),
            columns=columns,
            compression=settings["compression"],
            hashes=settings["hashes"],
            size_limit=settings["shard_size"],
            exist_ok=True,  # a rerun after a kill replaces what the killed writer left
        ) as writer:
            for sample in samples:
                writer.write(sample)

        provenance = pa.table(
            {
                "position": np.arange(len(order), dtype=np.int64),
                "packed": np.asarray(order, dtype=np.int64),
                "doc_ids": [[ids[d] for d in packed.documents[i]] for i in order],
            },
            schema=PROVENANCE_SCHEMA,
        )
        summary = {
            "bucket": bucket,
            "documents": len(ids),
            "samples": len(order),
            "tokens_in": packed.tokens_in,
            "tokens_written": packed.tokens_written,
            "tail_dropped": packed.tail_dropped,
            "truncated": packed.truncated,
            "padding": packed.padding,
        }
        for folder in ("provenance", "summary"):
            os.makedirs(os.path.join(settings["work_folder"], folder), exist_ok=True)
        pq.write_table(provenance, os.path.join(settings["work_folder"], "provenance", f"{bucket:05d}.parquet"))
        with open(os.path.join(settings["work_folder"], "summary", f"{bucket:05d}.json"), "w") as f:
            json.dump(summary, f)
        for key in ("samples", "tokens_in", "tokens_written", "tail_dropped", "truncated", "padding"):
            self.stat_update(key, value=summary[key])
