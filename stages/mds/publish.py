"""Last part of the MDS stage: merge the buckets into one dataset and publish it in one rename."""

from __future__ import annotations

import json
import logging
import os
import shutil
from contextlib import contextmanager

import pyarrow as pa
import pyarrow.parquet as pq
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from stages.mds.pack import token_dtype
from stages.mds.write import bucket_dataset_folder, partial_dataset_folder
from stages.mds.writer_import import streaming_module

MANIFEST = "manifest.json"
PROVENANCE = "provenance.parquet"
TOKENIZER_FILE = "tokenizer.json"


def dataset_folder(output_folder: str) -> str:
    return os.path.join(output_folder, "mds")


class IncompleteDataset(RuntimeError):
    pass


@contextmanager
def _streaming_warnings_silenced():
    """merge_index warns through the root logger about its temporary folder and our folder existing:
    both expected here, and noise on the run's console."""
    loggers = [logging.getLogger(), logging.getLogger("streaming")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


class PublishDataset(PipelineStep):
    """Reads every bucket's MDS index, provenance and summary; writes the merged `index.json`,
    `provenance.parquet` (per sample: global index, shard, contributing document ids), `manifest.json`
    (settings and token counts) and, in token mode, `tokenizer.json`; then renames `mds.partial/` to
    `mds/`. Until that rename no `mds/index.json` exists, so a killed run never leaves a dataset that
    looks complete. Stats: `samples`, `shards`, `tokens_written`.
    """

    type = "corpus-prep"
    name = "mds.publish"

    def __init__(self, settings: dict, tokenizer=None):
        super().__init__()
        self.settings = settings
        self.tokenizer = tokenizer

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        with self.track_time():
            self._publish()
        yield from data or ()

    def _publish(self) -> None:
        merge_index = streaming_module("streaming.base.util").merge_index

        settings = self.settings
        final = dataset_folder(settings["output_folder"])
        partial = partial_dataset_folder(settings["output_folder"])
        if os.path.exists(os.path.join(final, "index.json")) and not os.path.exists(partial):
            return  # published by an earlier attempt that was stopped before it could mark itself done
        index_files = [
            os.path.join(bucket_dataset_folder(settings["output_folder"], b), "index.json")
            for b in range(settings["buckets"])
        ]
        missing = [path for path in index_files if not os.path.exists(path)]
        if missing:
            raise IncompleteDataset(f"{len(missing)} bucket(s) have no index.json, first {missing[0]}: rerun the run")
        merged = os.path.join(partial, "index.json")
        if os.path.exists(merged):  # left by an attempt stopped after merging: merge_index will not replace it
            os.remove(merged)
        with _streaming_warnings_silenced():
            merge_index(index_files, partial)

        provenance, totals = self._merge_provenance(index_files)
        pq.write_table(provenance, os.path.join(partial, PROVENANCE))
        manifest = {
            "format": "mds",
            "columns": "tokens" if self.tokenizer is not None else "text",
            **{k: settings[k] for k in ("max_seq_len", "split_documents", "seed", "buckets", "compression", "hashes")},
            **totals,
        }
        if self.tokenizer is not None:
            tokenizer = self.tokenizer.load()
            tokenizer.save(os.path.join(partial, TOKENIZER_FILE))
            bos, eos = self.tokenizer.special_ids(tokenizer)
            vocab_size = tokenizer.get_vocab_size(with_added_tokens=True)
            _write_transformers_config(partial, self.tokenizer, settings["max_seq_len"])
            manifest |= {
                "dtype": token_dtype(vocab_size),
                "vocab_size": vocab_size,
                "bos_id": bos,
                "eos_id": eos,
                "pad_id": None if settings["split_documents"] else (eos or 0),
            }
        else:
            manifest["metadata_columns"] = settings["metadata_columns"]
        with open(os.path.join(partial, MANIFEST), "w") as f:
            json.dump(manifest, f, indent=2)

        if os.path.exists(final):
            shutil.rmtree(final)
        os.replace(partial, final)
        for key in ("samples", "shards", "tokens_written"):
            self.stat_update(key, value=totals[key])

    def _merge_provenance(self, index_files: list[str]) -> tuple[pa.Table, dict]:
        work = self.settings["work_folder"]
        tables, offset, shard_count = [], 0, 0
        totals = {
            "documents": 0,
            "samples": 0,
            "tokens_in": 0,
            "tokens_written": 0,
            "tail_dropped": 0,
            "truncated": 0,
            "padding": 0,
        }
        for bucket, index_file in enumerate(index_files):
            with open(index_file) as f:
                shards = json.load(f)["shards"]
            shard_count += len(shards)
            shard_names = []
            for shard in shards:
                name = f"bucket-{bucket:05d}/{shard['raw_data']['basename']}"
                shard_names += [name] * shard["samples"]
            table = pq.read_table(os.path.join(work, "provenance", f"{bucket:05d}.parquet"))
            with open(os.path.join(work, "summary", f"{bucket:05d}.json")) as f:
                summary = json.load(f)
            for key in totals:
                totals[key] += summary[key]
            tables.append(
                pa.table(
                    {
                        "sample": pa.array(range(offset, offset + len(table)), pa.int64()),
                        "shard": pa.array(shard_names, pa.string()),
                        "bucket": pa.array([bucket] * len(table), pa.int32()),
                        "packed": table.column("packed"),
                        "doc_ids": table.column("doc_ids"),
                    }
                )
            )
            offset += len(table)
        totals["shards"] = shard_count
        if totals["tokens_in"] != totals["tokens_written"] + totals["tail_dropped"] + totals["truncated"]:
            raise RuntimeError(f"token accounting broken: {totals}; this is a bug, please report it")
        return pa.concat_tables(tables), totals


def _write_transformers_config(folder: str, artifact, max_seq_len: int) -> None:
    """`tokenizer_config.json` and `special_tokens_map.json` beside `tokenizer.json`, so the dataset
    folder loads with `AutoTokenizer.from_pretrained` (llm-foundry's `tokenizer: name: <folder>`).

    Written directly rather than by transformers' `save_pretrained`: importing transformers costs about
    3 s in this one-task pass, for two small files whose keys transformers documents."""
    special = {"bos_token": artifact.bos_token, "eos_token": artifact.eos_token}
    special = {key: token for key, token in special.items() if token is not None}
    if artifact.eos_token is not None:
        special["pad_token"] = artifact.eos_token  # what llm-foundry and most causal-LM setups pad with
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": max_seq_len,
        "clean_up_tokenization_spaces": False,
        **special,
    }
    for name, content in (("tokenizer_config.json", config), ("special_tokens_map.json", special)):
        with open(os.path.join(folder, name), "w") as f:
            json.dump(content, f, indent=2)
