"""Reading back what a run did: merged step stats per pass, the ledger, and the accounting identity
`read == kept + dropped + quarantined` that every run must satisfy."""

from __future__ import annotations

import glob
import json
import os
from collections import Counter
from dataclasses import dataclass, field

from datatrove.utils.stats import PipelineStats

from pipeline.plan import PassPlan, final_documents_pass


def merged_stats(plan: PassPlan) -> list[dict]:
    """Each step's stats summed over the pass's tasks (datatrove keeps one file per task)."""
    total = PipelineStats()
    for path in sorted(glob.glob(os.path.join(plan.logging_dir, "stats", "*.json"))):
        with open(path) as f:
            total = total + PipelineStats.from_json(json.load(f))
    return [stat.to_dict() for stat in total.stats]


def metric_total(value: dict | float | None) -> float:
    """datatrove saves a metric as its bare total when nothing else about it is informative."""
    if value is None:
        return 0
    return value["total"] if isinstance(value, dict) else value


def stat_total(step_stats: dict, key: str) -> int:
    return int(metric_total(step_stats.get("stats", {}).get(key)))


@dataclass
class Accounting:
    read: int = 0
    kept: int = 0
    dropped: Counter = field(default_factory=Counter)  # (stage, reason) -> documents
    quarantined: Counter = field(default_factory=Counter)  # (stage, reason) -> documents

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())

    @property
    def quarantined_total(self) -> int:
        return sum(self.quarantined.values())

    @property
    def balanced(self) -> bool:
        return self.read == self.kept + self.dropped_total + self.quarantined_total

    def to_dict(self) -> dict:
        def rows(counter: Counter) -> list[dict]:
            return [{"stage": s, "reason": r, "documents": n} for (s, r), n in sorted(counter.items())]

        return {
            "read": self.read,
            "kept": self.kept,
            "dropped": self.dropped_total,
            "quarantined": self.quarantined_total,
            "balanced": self.balanced,
            "dropped_by_reason": rows(self.dropped),
            "quarantined_by_reason": rows(self.quarantined),
        }


def account(passes: list[PassPlan], stats_by_pass: dict[str, list[dict]], ledger_folder: str) -> Accounting:
    """Documents read (first reader, including records it quarantined), kept (the final document writer), and every
    ledger line: the ledger holds the ids, so it is the authority for what left the run and why."""
    result = Accounting()
    first, last = stats_by_pass[passes[0].name], stats_by_pass[final_documents_pass(passes).name]
    if first:
        result.read = stat_total(first[0], "documents") + stat_total(first[0], "quarantined")
    if last:
        result.kept = stat_total(last[-1], "total")
    for path in sorted(glob.glob(os.path.join(ledger_folder, "*", "*.jsonl"))):
        with open(path, encoding="utf-8") as f:
            for line in f:
                row = json.loads(line)
                target = result.dropped if row["outcome"] == "dropped" else result.quarantined
                target[(row["stage"], row["reason"].split(":")[0])] += 1
    return result
