"""The `minhash_dedup` stage's options."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from stages.base import Pass, StageContext, StageOptions
from stages.dedup.excerpts import RecordClusterExcerpts
from stages.dedup.lsh import bands_and_rows
from stages.dedup.signature import ShingleSettings
from stages.dedup.steps import FindBandPairs, FindNearDuplicates, MinhashSignatures, check_index
from stages.exact_dedup import DropListedDuplicates


class IndexSettings(BaseModel):
    """Incremental dedup: compare with the kept documents of earlier runs, and keep an index for later ones."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    against: list[str] = Field(default_factory=list, description="index folders saved by earlier runs")
    only_against: bool = Field(False, description="drop only documents duplicating an indexed one")
    save: str | None = Field(None, description="folder to write this run's index to (kept documents + against)")


class RedisIndexSettings(BaseModel):
    """`mode: redis`: the LSH index lives in a Redis server shared by every task and later run."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    url: str = Field("redis://localhost:6379/0", description="redis://host:port/db, rediss://..., unix:///path.sock")
    basename: str = Field("corpus-prep", min_length=1, description="key prefix: one index per basename")
    batch_size: int = Field(256, ge=1, description="documents decided per lock acquisition")


class MinhashDedupOptions(StageOptions):
    """`minhash_dedup`: remove near-duplicates (estimated Jaccard of shingle sets >= threshold)."""

    stage: Literal["minhash_dedup"] = "minhash_dedup"
    threshold: float = Field(0.8, gt=0, lt=1, description="Jaccard similarity at which two documents are duplicates")
    num_perm: int = Field(128, ge=16, le=1024, description="MinHash permutations")
    bands: int | None = Field(None, ge=1, description="LSH bands; with rows, instead of datasketch's optimiser")
    rows: int | None = Field(None, ge=1, description="LSH rows per band")
    shingle: Literal["word", "char"] = Field("word", description="word or character n-grams")
    shingle_size: int = Field(5, ge=1, le=64, description="n of the n-grams")
    normalise_numbers: bool = Field(False, description="treat every digit as 0 before shingling")
    seed: int = Field(1, ge=0, description="MinHash seed (datasketch's permutations for this seed)")
    verify: bool = Field(True, description="keep only candidate pairs whose exact Jaccard reaches the threshold")
    keep: Literal["smallest_id", "longest"] = Field("smallest_id", description="which document of a cluster stays")
    index: IndexSettings = Field(default_factory=IndexSettings, description="incremental dedup")
    mode: Literal["memory", "sharded", "redis"] = Field(
        "memory",
        description="memory: one task bands all signatures; sharded: one pass of tasks, a band each; "
        "redis: one pass against an index in Redis shared by all tasks and later runs",
    )
    redis: RedisIndexSettings = Field(default_factory=RedisIndexSettings, description="the index, for mode: redis")

    @model_validator(mode="after")
    def _bands_rows(self) -> MinhashDedupOptions:
        if (self.bands is None) != (self.rows is None):
            raise ValueError("set both bands and rows, or neither (then datasketch's optimiser picks them)")
        if self.bands is not None and self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands x rows = {self.bands * self.rows} exceeds num_perm = {self.num_perm}")
        if self.mode == "redis" and (self.index.against or self.index.save):
            raise ValueError(
                "mode: redis keeps its index in Redis; index.against and index.save apply to the other modes"
            )
        return self

    def build(self, context: StageContext) -> list:
        bands, rows = (self.bands, self.rows) if self.bands else bands_and_rows(self.threshold, self.num_perm)
        shingles = ShingleSettings(self.shingle, self.shingle_size, self.normalise_numbers)
        folder = context.work_folder
        sharded = self.mode == "sharded"
        # What must match for the signatures of two runs to compare; a saved index records it.
        settings = {
            "num_perm": self.num_perm,
            "seed": self.seed,
            "shingle": self.shingle,
            "shingle_size": self.shingle_size,
            "normalise_numbers": self.normalise_numbers,
        }
        if self.mode == "redis":
            from stages.dedup.shared_index import SharedIndexDedup

            redis = self.redis
            return [
                SharedIndexDedup(
                    redis.url,
                    redis.basename,
                    self.num_perm,
                    self.seed,
                    shingles,
                    self.threshold,
                    bands,
                    rows,
                    redis.batch_size,
                )  # fmt: skip
            ]
        against = tuple(self.index.against)
        for path in against:  # fail before any work: a missing index or one that cannot compare
            check_index(path, settings)
        options = {
            "verify": self.verify,
            "keep": self.keep,
            "sharded": sharded,
            "against": against,
            "only_against": self.index.only_against,
            "save_to": self.index.save,
        }
        find = FindNearDuplicates(folder, settings, self.threshold, bands, rows, options)
        band_pass = Pass("minhash_dedup.bands", [FindBandPairs(folder, self.num_perm, bands, rows, against)])
        band_pass.tasks = min(context.tasks, bands)
        return [
            MinhashSignatures(folder, self.num_perm, self.seed, shingles),
            *([band_pass] if sharded else []),
            Pass("minhash_dedup", [find]),
            DropListedDuplicates(folder, "near_duplicate", "minhash_dedup.filter"),
            *([RecordClusterExcerpts(folder)] if context.personal_data_scrubbed else []),
        ]
