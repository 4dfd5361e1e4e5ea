"""The ledger: one JSON line per document that left the run, so no document vanishes silently.

Readers and steps write it; `pipeline.accounting` reads it back to check that every document read was
kept, dropped with a reason or quarantined with its error.
"""

from __future__ import annotations

import json
import os

DROPPED = "dropped"
QUARANTINED = "quarantined"


class Ledger:
    """Appends one JSON line per document that left the run: id, stage, outcome, reason.

    One file per (step, task) under the run's `accounting/` folder, opened in write mode when the task
    starts, so a task that is rerun after a kill rewrites its file instead of appending duplicates.
    """

    def __init__(self, folder: str | None, step_name: str, rank: int):
        self.step_name = step_name
        self._file = None
        if folder:
            os.makedirs(os.path.join(folder, step_name), exist_ok=True)
            self._file = open(os.path.join(folder, step_name, f"{rank:05d}.jsonl"), "w", encoding="utf-8")

    def record(self, doc_id: str, outcome: str, reason: str) -> None:
        if self._file:
            row = {"id": doc_id, "stage": self.step_name, "outcome": outcome, "reason": reason}
            self._file.write(json.dumps(row, ensure_ascii=False) + "\n")

    def close(self) -> None:
        if self._file:
            self._file.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
