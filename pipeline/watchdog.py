"""Heartbeats from tasks and the watchdog that reads them: no pass on Ray can hang without output.

datatrove's Ray executor runs each task in a pool child of a Ray actor and waits on the pool; if that
child dies (OOM killer, a node's kill) the wait never ends, and a task that loops forever is never
stopped. So each task's process runs a `Heartbeat` thread that rewrites `<logs>/heartbeats/<task>`
every few seconds, and the driver's `Watchdog` reads those files (the output folder is shared by every
node, as datatrove's Ray executor requires): a task whose file stopped changing, or that has run longer
than the time limit, is stopped: the driver marks it `stopped/<task>` and kills its Ray actor, so
datatrove's own loop sees the actor die; datatrove resubmits the task, whose `Heartbeat` finds the mark
and fails at once, so datatrove gives up on it and returns, and the pass fails with the task's name,
host, pid and log. The driver compares contents over its own clock, so node clocks need not agree.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import threading
import time
from dataclasses import dataclass


class TaskStopped(RuntimeError):
    """Raised by a task the watchdog stopped, when datatrove resubmits it."""


class Heartbeat:
    """First step of a pass's pipeline: starts a daemon thread in the task's process that writes
    heartbeats/<task> (host, pid, beat count) every `interval_seconds` until the task's completion marker
    exists. A plain callable, not a PipelineStep: it has no stats, so the pass's stats keep their places."""

    def __init__(self, logging_dir: str, interval_seconds: float):
        self.logging_dir = logging_dir
        self.interval_seconds = interval_seconds

    def __call__(self, data, rank: int = 0, world_size: int = 1):
        stopped = os.path.join(self.logging_dir, "stopped", f"{rank:05d}")
        if os.path.exists(stopped):  # datatrove resubmitted a task the watchdog stopped: fail, do not redo
            with open(stopped) as f:
                raise TaskStopped(f.read())
        threading.Thread(target=self._beat, args=(rank,), daemon=True, name=f"heartbeat-{rank}").start()
        return data

    def _beat(self, rank: int) -> None:
        folder = os.path.join(self.logging_dir, "heartbeats")
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, f"{rank:05d}")
        done = os.path.join(self.logging_dir, "completions", f"{rank:05d}")
        # datatrove's Ray executor logs to the node's temporary folder and copies the log when the task ends.
        log = os.path.join(tempfile.gettempdir(), "ray_logs", "logs", f"task_{rank:05d}.log")
        beat = 0
        while not os.path.exists(done):
            beat += 1
            record = {
                "host": socket.gethostname(),
                # datatrove's Ray worker sets RAY_NODELIST to its node's address before the task runs
                "node_ip": os.environ.get("RAY_NODELIST", "").split(",")[0],
                "pid": os.getpid(),
                "actor_pid": os.getppid(),  # the task runs in a pool child of the Ray actor
                "beat": beat,
                "log": log,
            }
            with open(path + ".tmp", "w") as f:
                json.dump(record, f)
            os.replace(path + ".tmp", path)
            time.sleep(self.interval_seconds)


@dataclass
class Problem:
    task: int
    reason: str
    record: dict


class Watchdog:
    """Driver side: `problem()` finds the first task that stopped beating or ran too long; `stop()` marks
    it stopped, so its resubmission fails at once instead of running again."""

    def __init__(self, logging_dir: str, heartbeat_timeout_s: float, time_limit_s: float):
        self.logging_dir = logging_dir
        self.heartbeat_timeout_s = heartbeat_timeout_s
        self.time_limit_s = time_limit_s
        self._seen: dict[int, tuple[str, float, float]] = {}  # task -> (content, changed at, first seen)
        for kept in ("heartbeats", "stopped"):  # a previous attempt's: its beats would look like a dead worker
            folder = os.path.join(logging_dir, kept)
            for name in os.listdir(folder) if os.path.isdir(folder) else ():
                os.remove(os.path.join(folder, name))

    @staticmethod
    def interval_for(heartbeat_timeout_s: float) -> float:
        return max(0.5, heartbeat_timeout_s / 6)

    def stop(self, problem: Problem) -> None:
        folder = os.path.join(self.logging_dir, "stopped")
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, f"{problem.task:05d}"), "w") as f:
            f.write(problem.reason)

    def problem(self) -> Problem | None:
        now = time.monotonic()
        folder = os.path.join(self.logging_dir, "heartbeats")
        for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else ():
            if name.endswith(".tmp") or os.path.exists(os.path.join(self.logging_dir, "completions", name)):
                continue
            try:
                with open(os.path.join(folder, name)) as f:
                    content = f.read()
                record = json.loads(content)
            except (OSError, ValueError):
                continue  # being replaced right now
            task = int(name)
            previous = self._seen.get(task)
            if previous is None or previous[0] != content:
                first_seen = previous[2] if previous else now
                self._seen[task] = previous = (content, now, first_seen)
            where = f"pid {record['pid']} on {record['host']}; its log: {record['log']} on that host"
            if now - previous[1] > self.heartbeat_timeout_s:
                reason = f"sent no heartbeat for {self.heartbeat_timeout_s:g} s: its worker died or froze"
                return Problem(task, f"task {task} {reason} ({where})", record)
            if now - previous[2] > self.time_limit_s:
                reason = f"ran longer than executor.time_limit_s ({self.time_limit_s:g} s)"
                return Problem(task, f"task {task} {reason} ({where})", record)
        return None
