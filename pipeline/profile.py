"""Where a run's time went: CPU seconds by stage (the stage's steps summed over passes and tasks),
each stage's share and documents per CPU-second, and the wall time of each pass.

CPU seconds come from the steps' datatrove time stats; a step's time includes the time to pull
documents from the steps before it only when it consumes them itself (trainers, writers), so reading
and writing are a stage of their own here. Pass wall times come from the first and last timestamps
of the pass's task logs, which every executor (local, Ray, Slurm) writes alike.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from pipeline.plan import PassPlan
from pipeline.plots import horizontal_bars

PLOT_NAME = "profile.png"
READ_WRITE = "read/write"
_IO_STEPS = {"read", "write", "write-intermediate"}
_STEP_NUMBER = re.compile(r"^\d+-")
_LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)")


def stage_of(step_label: str) -> str:
    """`03-pii` -> pii, `05-minhash_dedup.signatures` -> minhash_dedup, `write-intermediate` -> read/write."""
    label = _STEP_NUMBER.sub("", step_label)
    return READ_WRITE if label in _IO_STEPS else label.split(".", 1)[0]


def stage_profile(step_rows: list[dict]) -> list[dict]:
    """One row per stage in pipeline order: CPU seconds, share of the run's CPU seconds, documents
    entering the stage and documents per CPU-second (none for reading and writing)."""
    stages: dict[str, dict] = {}
    for row in step_rows:
        stage = stages.setdefault(stage_of(row["step"]), {"seconds": 0.0, "documents": row["documents_in"]})
        stage["seconds"] += row["seconds"]
    total = sum(stage["seconds"] for stage in stages.values())
    rows = []
    for name, stage in stages.items():
        seconds = stage["seconds"]
        rate = stage["documents"] / seconds if seconds > 0 and name != READ_WRITE else None
        rows.append(
            {
                "stage": name,
                "cpu_seconds": round(seconds, 3),
                "share": round(seconds / total, 4) if total else 0.0,
                "documents": stage["documents"],
                "documents_per_cpu_second": round(rate, 1) if rate else None,
            }
        )
    return rows


def pass_wall_seconds(passes: list[PassPlan]) -> list[dict]:
    """Each pass's tasks and wall seconds, from its task logs (None when it left no logs)."""
    rows = []
    for plan in passes:
        times = []
        for log in Path(plan.logging_dir, "logs").glob("task_*.log"):
            lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
            stamps = [m.group(1) for m in map(_LOG_TIME.match, lines) if m]
            if stamps:
                times += [datetime.fromisoformat(stamps[0]), datetime.fromisoformat(stamps[-1])]
        seconds = (max(times) - min(times)).total_seconds() if times else None
        rows.append({"pass": plan.name, "tasks": plan.tasks, "wall_seconds": seconds})
    return rows


def profile_markdown(stages: list[dict], pass_times: list[dict], plotted: bool) -> str:
    lines = ["## Profile", ""]
    work = [row for row in stages if row["stage"] != READ_WRITE and row["cpu_seconds"] > 0]
    if work:
        slowest = max(work, key=lambda row: row["cpu_seconds"])
        lines += [
            f"Slowest stage: **{slowest['stage']}**, {slowest['share']:.0%} of the run's CPU time. CPU seconds "
            "are summed over tasks; docs/s is per CPU-second, so it does not depend on the worker count.",
            "",
        ]
    lines += ["| stage | CPU s | share | docs in | docs/s |", "|---|---:|---:|---:|---:|"]
    for row in stages:
        rate = f"{row['documents_per_cpu_second']:,.0f}" if row["documents_per_cpu_second"] else "-"
        lines.append(
            f"| {row['stage']} | {row['cpu_seconds']:,.2f} | {row['share']:.1%} | {row['documents']:,} | {rate} |"
        )
    if plotted:
        lines += ["", f"![share of CPU time per stage]({PLOT_NAME})"]
    lines += ["", "| pass | tasks | wall s |", "|---|---:|---:|"]
    for row in pass_times:
        wall = f"{row['wall_seconds']:,.1f}" if row["wall_seconds"] is not None else "-"
        lines.append(f"| {row['pass']} | {row['tasks']} | {wall} |")
    return "\n".join(lines)


def plot_profile(stages: list[dict], path: Path) -> bool:
    """A bar per stage, CPU seconds, slowest on top; False (no plot) when nothing was timed."""
    ordered = sorted((row for row in stages if row["cpu_seconds"] > 0), key=lambda row: row["cpu_seconds"])
    if not ordered:
        return False
    ordered = ordered[::-1]  # slowest on top
    horizontal_bars(path, [row["stage"] for row in ordered], [row["cpu_seconds"] for row in ordered],
                    [f"{row['share']:.0%}" for row in ordered], xlabel="CPU seconds (all tasks)",
                    title="Where the time went, per stage", color="#ef5675")  # fmt: skip
    return True
