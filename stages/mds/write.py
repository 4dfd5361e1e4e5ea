"""Second part of the MDS stage: each task packs and writes whole buckets as MDS shards."""

from __future__ import annotations

import glob
import json
import os
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from stages.mds.pack import Packed, pack_concatenated, pack_whole_documents, token_dtype
from stages.mds.scatter import bucket_folder, bucket_schema
from stages.mds.shuffle import sample_order
from stages.mds.writer_import import streaming_module

PROVENANCE_SCHEMA = pa.schema([("position", pa.int64()), ("packed", pa.int64()), ("doc_ids", pa.list_(pa.string()))])


def partial_dataset_folder(output_folder: str) -> str:
    """Where writers work; renamed to the dataset folder only once every bucket is written."""
    return os.path.join(output_folder, "mds.partial")


def bucket_dataset_folder(output_folder: str, bucket: int) -> str:
    return os.path.join(partial_dataset_folder(output_folder), f"bucket-{bucket:05d}")


def _token_arrays(column: pa.ChunkedArray, order: np.ndarray, dtype: str) -> list[np.ndarray]:
    """Each document's tokens as a view into the column's buffer, in `order`: no copy, no Python bytes."""
    array = column.chunk(0) if column.num_chunks else pa.array([], pa.large_binary())
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)[array.offset : array.offset + len(array) + 1]
    data = np.frombuffer(array.buffers()[2], dtype=np.uint8) if len(array) else np.empty(0, np.uint8)
    return [data[offsets[i] : offsets[i + 1]].view(dtype) for i in order]


def _document_runs(ids: pa.Array, first: np.ndarray, end: np.ndarray) -> pa.ListArray:
    """Per sample, the ids of documents first[i] .. end[i] - 1, as one list array built without a Python loop."""
    lengths = end - first
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    flat = np.arange(offsets[-1], dtype=np.int64) - np.repeat(offsets[:-1] - first, lengths)
    return pa.ListArray.from_arrays(pa.array(offsets), ids.take(pa.array(flat)))


def _encoded_token_samples(encoding: str, samples: np.ndarray):
    """Samples with the token column already in MDS bytes, which MDSWriter passes through as they are.

    MDSWriter otherwise parses the encoding and builds a header for every sample, which costs more than
    the rest of the write. The header is the library's own, taken from its encoding of the first
    sample, and checked against it.
    """
    mds_encode = streaming_module("streaming.base.format.mds.encodings").mds_encode

    if not len(samples):
        return
    first = mds_encode(encoding, samples[0])
    header = first[: len(first) - samples[0].nbytes]
    if header + samples[0].tobytes() != first:
        raise RuntimeError(f"streaming's {encoding} encoding is not header + values; this writer needs updating")
    for sample in samples:
        yield {"tokens": header + sample.tobytes()}


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
        self._layout: tuple[str, int] | None = None

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        dtype, pad_id = self._token_layout() if self.tokenizer is not None else (None, None)
        for bucket in range(rank, self.settings["buckets"], world_size):
            with self.track_time(unit="bucket"):
                self._write_bucket(bucket, dtype, pad_id)
        yield from data or ()

    def _token_layout(self) -> tuple[str, int]:
        """(dtype, padding id) from the tokenizer, loaded once per task."""
        if self._layout is None:
            tokenizer = self.tokenizer.load()
            dtype = token_dtype(tokenizer.get_vocab_size(with_added_tokens=True))
            self._layout = dtype, self.tokenizer.special_ids(tokenizer)[1] or 0
        return self._layout

    def _read_bucket(self, bucket: int) -> tuple[pa.Table, np.ndarray]:
        """The bucket's rows and the order that sorts them by (key, id)."""
        schema = bucket_schema(None if self.tokenizer is not None else self.settings["metadata_columns"])
        files = sorted(glob.glob(os.path.join(bucket_folder(self.settings["work_folder"], bucket), "*.parquet")))
        table = pa.concat_tables([pq.read_table(f, schema=schema) for f in files]) if files else schema.empty_table()
        table = table.combine_chunks()
        order = pc.sort_indices(table, sort_keys=[("key", "ascending"), ("id", "ascending")])
        return table, order.to_numpy()

    def _write_bucket(self, bucket: int, dtype: str | None, pad_id: int | None) -> None:
        MDSWriter = streaming_module("streaming.base.format.mds.writer").MDSWriter  # noqa: N806 - the library's class

        settings = self.settings
        table, by_key = self._read_bucket(bucket)
        if dtype is not None:
            documents = _token_arrays(table.column("tokens"), by_key, dtype)
            nonempty = [i for i, tokens in enumerate(documents) if len(tokens)]
            if len(nonempty) < len(documents):  # no tokens (no EOS, empty text): in no sample
                by_key, documents = by_key[nonempty], [documents[i] for i in nonempty]
            if settings["split_documents"]:
                packed = pack_concatenated(documents, settings["max_seq_len"], dtype)
            else:
                packed = pack_whole_documents(documents, settings["max_seq_len"], dtype, pad_id)
            order = sample_order(settings["seed"], bucket, len(packed.samples))
            columns = {"tokens": f"ndarray:{dtype}"}
            samples = _encoded_token_samples(columns["tokens"], packed.samples[order])
        else:
            count = len(by_key)
            packed = Packed(np.empty(0), np.arange(count, dtype=np.int64), np.arange(1, count + 1, dtype=np.int64))
            order = np.arange(count)
            names = ["text"] + settings["metadata_columns"]
            columns = {name: "str" for name in names}
            rows = table.select(names).take(by_key).to_pylist()
            samples = ({k: (v if v is not None else "") for k, v in rows[i].items()} for i in order)

        out = bucket_dataset_folder(settings["output_folder"], bucket)
        shutil.rmtree(out, ignore_errors=True)  # what a killed writer left; MDSWriter would warn and do the same
        with MDSWriter(
            out=out,
            columns=columns,
            compression=settings["compression"],
            hashes=settings["hashes"],
            size_limit=settings["shard_size"],
        ) as writer:
            for sample in samples:
                writer.write(sample)

        ids = table.column("id").combine_chunks().take(pa.array(by_key, pa.int64()))
        provenance = pa.table(
            {
                "position": np.arange(len(order), dtype=np.int64),
                "packed": np.asarray(order, dtype=np.int64),
                "doc_ids": _document_runs(ids, packed.first[order], packed.end[order]),
            },
            schema=PROVENANCE_SCHEMA,
        )
        summary = {
            "bucket": bucket,
            "documents": table.num_rows,
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
