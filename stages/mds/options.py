"""The `mds` stage's options and how they become steps and passes."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from stages.base import Pass, ReportContext, ReportSection, StageContext, StageOptions
from stages.mds.publish import PublishDataset
from stages.mds.scatter import ScatterToBuckets
from stages.mds.upload import UploadDataset
from stages.mds.write import WriteBuckets
from stages.mds.writer_import import streaming_module
from stages.tokenize import TOKENIZER_ARTIFACT

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$", re.IGNORECASE)
_UNITS = {None: 1, "b": 1, "kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30}
_COMPRESSIONS = ("br", "bz2", "gz", "snappy", "zstd")
_HASHES = (
    "sha1",
    "sha224",
    "sha256",
    "sha384",
    "sha512",
    "sha3_224",
    "sha3_256",
    "sha3_384",
    "sha3_512",
    "md5",
    "xxh32",
    "xxh64",
    "xxh128",
    "xxh3_64",
    "xxh3_128",
)


class MdsOptions(StageOptions):
    """`mds`: write a shuffled, sharded MosaicML MDS dataset to `<output.folder>/mds/`.

    `columns: tokens` packs the token ids from the `tokenize` stage into samples of exactly
    `max_seq_len` tokens (llm-foundry's format); `columns: text` writes one sample per document with its
    text and the listed metadata keys. The documents themselves pass on unchanged.
    """

    stage: Literal["mds"] = "mds"
    columns: Literal["tokens", "text"] = Field("tokens", description="tokens (packed ids) or text")
    max_seq_len: int = Field(2048, ge=2, description="tokens per sample (token mode)")
    split_documents: bool = Field(
        True, description="true: concatenate and cut (llm-foundry concat); false: whole documents, padded"
    )
    seed: int = Field(17, ge=0, lt=1 << 63, description="shuffle seed: the written order is a function of it")
    buckets: int = Field(16, ge=1, le=100_000, description="shuffle buckets; one must fit in memory")
    metadata_columns: list[str] = Field(default_factory=list, description="text mode: metadata keys to write")
    # zstd level 1 rather than the library's 3: on token shards it compresses about 1.5x faster for about
    # 10% more bytes (measured on the sample corpus), and compression is most of the write's CPU time.
    compression: str | None = Field(
        "zstd:1", description="shard compression: zstd:<level 1-22>, zstd (level 3), gz, br, bz2, snappy, or null"
    )
    # xxh64 detects corruption at a small fraction of sha1's cost; list sha256 too if you need tamper evidence.
    hashes: list[str] = Field(default_factory=lambda: ["xxh64"], description="shard hashes that verify checks")
    shard_size: int | str = Field("64mb", description="shard size limit before compression, e.g. 64mb")
    remote: str | None = Field(
        None, description="also upload the published dataset here (s3://bucket/path or any fsspec URL)"
    )

    @field_validator("compression")
    @classmethod
    def _known_compression(cls, value: str | None) -> str | None:
        if value is not None and value.split(":")[0] not in _COMPRESSIONS:
            raise ValueError(f"unknown compression {value!r}; use one of {', '.join(_COMPRESSIONS)} or null")
        return value

    @field_validator("hashes")
    @classmethod
    def _known_hashes(cls, value: list[str]) -> list[str]:
        unknown = [h for h in value if h not in _HASHES]
        if unknown:
            raise ValueError(f"unknown hash {unknown[0]!r}; use any of {', '.join(_HASHES)}")
        return value

    @field_validator("shard_size")
    @classmethod
    def _size_in_bytes(cls, value: int | str) -> int:
        if isinstance(value, int):
            return value
        match = _SIZE.match(value)
        if not match:
            raise ValueError(f"{value!r} is not a size: write bytes or e.g. 64mb, 512kb, 1gb")
        return int(float(match.group(1)) * _UNITS[(match.group(2) or "b").lower()])

    @staticmethod
    def import_libraries() -> None:
        streaming_module("streaming.base.format.mds.writer")  # with streaming.base.util, for publish

    @classmethod
    def report_section(cls, context: ReportContext) -> ReportSection | None:
        from stages.mds.report import training_data_section

        return training_data_section(context)

    def build(self, context: StageContext) -> list:
        tokenizer = None
        if self.columns == "tokens":
            tokenizer = context.artifacts.get(TOKENIZER_ARTIFACT)
            if tokenizer is None:
                raise ValueError("columns: tokens needs a tokenize stage before this one (or use columns: text)")
        settings = self.model_dump() | {"work_folder": context.work_folder, "output_folder": context.output_folder}
        if self.columns == "tokens":
            settings["metadata_columns"] = None
        upload = [UploadDataset(context.output_folder, self.remote)] if self.remote else []
        return [
            ScatterToBuckets(context.work_folder, self.seed, self.buckets, settings["metadata_columns"], tokenizer),
            Pass("mds.write", [WriteBuckets(settings, tokenizer)], tasks=min(context.tasks, self.buckets)),
            Pass("mds.publish", [PublishDataset(settings, tokenizer), *upload]),
        ]
