"""Where a run keeps everything inside its output folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RunLayout:
    root: Path

    @property
    def data(self) -> Path:
        """The kept documents: the run's product."""
        return self.root / "data"

    @property
    def mds(self) -> Path:
        """The training dataset, when the run has an `mds` stage; published only when complete."""
        return self.root / "mds"

    @property
    def logs(self) -> Path:
        """datatrove's logging folders, one per pass: task logs, stats, completion markers."""
        return self.root / "logs"

    @property
    def work(self) -> Path:
        """Documents between passes and the stages' scratch files."""
        return self.root / "work"

    def stage_work(self, index: int, stage: str) -> Path:
        """The scratch folder of the config's `index`-th stage (from 1)."""
        return self.work / f"{index:02d}-{stage}"

    @property
    def accounting(self) -> Path:
        """The ledger: one JSON line per dropped or quarantined document, per step and task."""
        return self.root / "accounting"

    @property
    def run_file(self) -> Path:
        """The config this folder was made by, and its fingerprint."""
        return self.root / "run.json"

    @property
    def report_md(self) -> Path:
        return self.root / "report.md"

    @property
    def report_json(self) -> Path:
        return self.root / "report.json"
