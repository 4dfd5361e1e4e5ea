"""The `minhash_dedup` stage's options."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from stages.base import Pass, ReportContext, ReportSection, StageContext, StageOptions
from stages.dedup.bands import default_bands_rows
from stages.dedup.excerpts import RecordClusterExcerpts
from stages.dedup.find import AttachWorseSide, FindCandidates, VerifyCandidates
from stages.dedup.keepers import ChooseKeepers, SaveIndex
from stages.dedup.keys import DropListedDuplicates
from stages.dedup.signature import ShingleSettings
from stages.dedup.steps import Banding, MinhashSignatures, check_index
from stages.dedup.tasks import find_tasks


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
    bands: int | None = Field(
        None,
        ge=1,
        description="LSH bands; with rows. Default: the most rows whose bands still catch 99.5% of "
        "pairs at the threshold (21 x 6 at 0.8 and 128 permutations)",
    )
    rows: int | None = Field(None, ge=1, description="LSH rows per band")
    find_tasks: int | None = Field(
        None,
        ge=1,
        le=4096,
        description="tasks of each find pass, each holding 1/find_tasks of the rows. "
        "Default: one per 32 MiB of input (below that, one task and a single find pass). Results do not depend on it",
    )
    shingle: Literal["word", "char"] = Field("word", description="word or character n-grams")
    shingle_size: int = Field(5, ge=1, le=64, description="n of the n-grams")
    normalise_numbers: bool = Field(False, description="treat every digit as 0 before shingling")
    seed: int = Field(1, ge=0, description="MinHash seed (datasketch's permutations for this seed)")
    verify: bool = Field(True, description="keep only candidate pairs whose exact Jaccard reaches the threshold")
    keep: Literal["smallest_id", "longest"] = Field("smallest_id", description="which document of a cluster stays")
    index: IndexSettings = Field(default_factory=IndexSettings, description="incremental dedup")
    mode: Literal["sharded", "redis"] = Field(
        "sharded",
        description="sharded: find passes of find_tasks tasks on the run's executor, deterministic; "
        "redis: one pass against an index in Redis shared by all tasks and later runs",
    )
    redis: RedisIndexSettings = Field(default_factory=RedisIndexSettings, description="the index, for mode: redis")

    @model_validator(mode="after")
    def _bands_rows(self) -> MinhashDedupOptions:
        if (self.bands is None) != (self.rows is None):
            raise ValueError("set both bands and rows, or neither (then the recall-first default is used)")
        if self.bands is not None and self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands x rows = {self.bands * self.rows} exceeds num_perm = {self.num_perm}")
        if self.mode == "redis" and (self.index.against or self.index.save):
            raise ValueError(
                "mode: redis keeps its index in Redis; index.against and index.save apply to the other modes"
            )
        return self

    @classmethod
    def report_section(cls, context: ReportContext) -> ReportSection | None:
        from stages.dedup.report import near_duplicates_section

        return near_duplicates_section(context)

    def build(self, context: StageContext) -> list:
        bands, rows = (self.bands, self.rows) if self.bands else default_bands_rows(self.threshold, self.num_perm)
        shingles = ShingleSettings(self.shingle, self.shingle_size, self.normalise_numbers)
        folder = context.work_folder
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
        banding = Banding(self.num_perm, bands, rows)
        tasks = find_tasks(context, self.find_tasks)
        compared = "shingles" if self.verify else "signature"
        find = [
            FindCandidates(folder, banding, self.keep, against, self.index.only_against),
            AttachWorseSide(folder, compared, against),
            VerifyCandidates(folder, compared, self.threshold, against),
        ]
        keepers = [ChooseKeepers(folder, banding, self.threshold, self.keep, against, tasks)]
        if self.index.save:
            keepers.append(SaveIndex(folder, self.index.save, settings, against))
        if tasks == 1:  # one task owns every partition: the whole find is one pass, no shuffle between
            passes = [Pass("minhash_dedup", find + keepers)]
        else:
            passes = [Pass(step.name, [step], tasks) for step in find] + [Pass("minhash_dedup", keepers)]
        return [
            MinhashSignatures(folder, banding, self.seed, shingles),
            *passes,
            DropListedDuplicates(folder, "near_duplicate", "minhash_dedup.filter"),
            *([RecordClusterExcerpts(folder)] if context.personal_data_scrubbed else []),
        ]
