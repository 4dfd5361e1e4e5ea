"""The `minhash_dedup` stage's options."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from stages.base import Pass, StageContext, StageOptions
from stages.dedup.lsh import bands_and_rows
from stages.dedup.signature import ShingleSettings
from stages.dedup.steps import FindBandPairs, FindNearDuplicates, MinhashSignatures
from stages.exact_dedup import DropListedDuplicates


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
    mode: Literal["memory", "sharded"] = Field(
        "memory", description="memory: one task bands all signatures; sharded: one pass of tasks, a band each"
    )

    @model_validator(mode="after")
    def _bands_rows(self) -> MinhashDedupOptions:
        if (self.bands is None) != (self.rows is None):
            raise ValueError("set both bands and rows, or neither (then datasketch's optimiser picks them)")
        if self.bands is not None and self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands x rows = {self.bands * self.rows} exceeds num_perm = {self.num_perm}")
        return self

    def build(self, context: StageContext) -> list:
        bands, rows = (self.bands, self.rows) if self.bands else bands_and_rows(self.threshold, self.num_perm)
        shingles = ShingleSettings(self.shingle, self.shingle_size, self.normalise_numbers)
        folder = context.work_folder
        sharded = self.mode == "sharded"
        find = FindNearDuplicates(folder, self.num_perm, self.threshold, bands, rows, self.verify, self.keep, sharded)
        band_pass = [
            Pass("minhash_dedup.bands", [FindBandPairs(folder, self.num_perm, bands, rows)], min(context.tasks, bands))
        ]
        return [
            MinhashSignatures(folder, self.num_perm, self.seed, shingles),
            *(band_pass if sharded else []),
            Pass("minhash_dedup", [find]),
            DropListedDuplicates(folder, "near_duplicate", "minhash_dedup.filter"),
        ]
