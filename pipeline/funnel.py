"""The report's funnel: documents and text left after each stage, as a table and a plot, so where a
corpus shrinks is seen at a glance.

A stage's figure is that of its last step over documents (a dedup stage hashes in one pass and drops
in a later one); steps that only pass documents through unchanged in count still appear, so the chain
reads from the first stage to the last.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.plots import horizontal_bars
from pipeline.profile import READ_WRITE, stage_of

PLOT_NAME = "funnel.png"


def funnel_rows(read: int, step_rows: list[dict]) -> list[dict]:
    """`read` first (MB: the text entering the first stage), then each stage in the order its documents
    leave it: documents and MB after it."""
    last: dict[str, tuple[int, dict]] = {}
    for index, row in enumerate(step_rows):
        stage = stage_of(row["step"])
        if stage not in (READ_WRITE, "progress", "budget") and row["bytes_in"] > 0:
            last[stage] = (index, row)
    first_bytes = next((row["bytes_in"] for row in step_rows if row["bytes_in"] > 0), 0)
    rows = [{"stage": "read", "documents": read, "mb": round(first_bytes / 1e6, 3)}]
    for stage, (_, row) in sorted(last.items(), key=lambda item: item[1][0]):
        rows.append({"stage": stage, "documents": row["documents_out"], "mb": round(row["bytes_out"] / 1e6, 3)})
    return rows


def funnel_markdown(rows: list[dict], plotted: bool) -> str:
    lines = ["## Funnel", "", "Documents and MB of text left after each stage.", ""]
    lines += ["| after | documents | share | MB |", "|---|---:|---:|---:|"]
    first = rows[0]["documents"] or 1
    lines += [f"| {r['stage']} | {r['documents']:,} | {r['documents'] / first:.1%} | {r['mb']:,.2f} |" for r in rows]
    if plotted:
        lines += ["", f"![documents left after each stage]({PLOT_NAME})"]
    return "\n".join(lines)


def plot_funnel(rows: list[dict], path: Path) -> bool:
    if len(rows) < 2 or not rows[0]["documents"]:
        return False
    counts = [row["documents"] for row in rows]
    horizontal_bars(path, [row["stage"] for row in rows], counts, [f"{c / counts[0]:.0%}" for c in counts],
                    xlabel="documents left", title="The corpus after each stage", color="#488f31")  # fmt: skip
    return True
