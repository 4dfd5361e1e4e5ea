"""Console progress for a pass: tasks done, documents processed, rate.

Tasks may run in other processes (or on other machines sharing the output folder), so they report
through small files: `ProgressBeacon` rewrites `<logs>/progress/<task>` with its document count at
most once a second, and `PassProgress` sums those files and the completion markers on a timer.
"""

from __future__ import annotations

import os
import sys
import threading
import time

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from tqdm import tqdm


class ProgressBeacon(PipelineStep):
    """Passes documents through unchanged; writes how many it has seen to `<folder>/<task>`."""

    type = "corpus-prep"
    name = "progress"

    def __init__(self, folder: str, interval_seconds: float = 1.0):
        super().__init__()
        self.folder = folder
        self.interval_seconds = interval_seconds

    def _write(self, rank: int, count: int) -> None:
        path = os.path.join(self.folder, f"{rank:05d}")
        with open(path + ".tmp", "w") as f:
            f.write(str(count))
        os.replace(path + ".tmp", path)

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        os.makedirs(self.folder, exist_ok=True)
        count, last = 0, time.monotonic()
        for doc in data or ():
            count += 1
            if time.monotonic() - last >= self.interval_seconds:
                self._write(rank, count)
                last = time.monotonic()
            yield doc
        self._write(rank, count)


class PassProgress:
    """A tqdm bar over a pass's tasks, with documents and documents/s, refreshed from a thread."""

    def __init__(self, label: str, logging_dir: str, tasks: int, enabled: bool = True, documents: bool = True):
        self.logging_dir = logging_dir
        self.counts_documents = documents  # aggregation passes have tasks, not documents, to show
        self.tasks = tasks
        self.enabled = enabled
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._bar: tqdm | None = None
        self._started = 0.0
        self.label = label

    def _documents(self) -> int:
        folder = os.path.join(self.logging_dir, "progress")
        total = 0
        for name in os.listdir(folder) if os.path.isdir(folder) else ():
            try:
                with open(os.path.join(folder, name)) as f:
                    total += int(f.read() or 0)
            except (OSError, ValueError):
                continue  # a file being replaced right now; next tick reads it
        return total

    def _completed(self) -> int:
        folder = os.path.join(self.logging_dir, "completions")
        return len(os.listdir(folder)) if os.path.isdir(folder) else 0

    def _refresh(self) -> None:
        documents = self._documents() if self.counts_documents else 0
        elapsed = max(time.monotonic() - self._started, 1e-9)
        self._bar.n = self._completed()
        if self.counts_documents:
            self._bar.set_postfix_str(f"{documents:,} docs, {documents / elapsed:,.0f} docs/s", refresh=False)
        self._bar.refresh()

    def _loop(self) -> None:
        while not self._stop.wait(0.5):
            self._refresh()

    def __enter__(self) -> PassProgress:
        if self.enabled:
            self._bar = tqdm(
                total=self.tasks,
                desc=self.label,
                unit="task",
                file=sys.stderr,
                leave=True,
                mininterval=0.5,
                dynamic_ncols=True,
            )
            self._started = time.monotonic()
            self._thread = threading.Thread(target=self._loop, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._thread:
            self._stop.set()
            self._thread.join()
            self._refresh()
            self._bar.close()
