"""The report's personal-data section: findings and actions per entity type (a table and a plot), and
documents dropped by rule. Counts only: the audit never carries a value."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from stages.base import ReportContext, ReportSection, read_summaries

PLOT_NAME = "personal_data.png"


def personal_data_section(context: ReportContext) -> ReportSection | None:
    """Every pii stage's summary counts; on the generated sample, also each planted type kept and left."""
    counts = read_summaries(context.work_folders)
    if counts is None:
        return None
    folders = [folder for folder in context.work_folders if (folder / "summary").is_dir()]
    out = context.output_folder
    planted = context.ground_truth and planted_and_left(
        context.ground_truth, context.data_folder, context.output_format
    )
    findings = {k.split("/", 1)[1]: v for k, v in counts.items() if k.startswith("findings/")}
    actions: dict[str, dict[str, int]] = {}
    for key, value in counts.items():
        if key.startswith("action/"):
            _, entity, action = key.split("/")
            actions.setdefault(entity, {})[action] = value
    dropped = {k.split("/", 1)[1]: v for k, v in counts.items() if k.startswith("dropped/")}
    data = {"findings": findings, "actions": actions, "dropped": dropped,
            "documents_scrubbed": counts.get("documents_scrubbed", 0)}  # fmt: skip
    lines = [
        "## Personal data",
        "",
        f"{sum(findings.values()):,} findings; {data['documents_scrubbed']:,} documents rewritten; documents dropped: "
        + (", ".join(f"{reason} {n:,}" for reason, n in sorted(dropped.items())) or "none")
        + ". Per-finding audit (document id, type, offsets, action; no values): "
        + ", ".join(f"`{f.name}/findings/`" for f in folders)
        + ".",
    ]
    if findings:
        lines += ["", "| entity type | findings | actions |", "|---|---:|---|"]
        for entity, n in sorted(findings.items(), key=lambda item: -item[1]):
            done = ", ".join(f"{a} {c:,}" for a, c in sorted(actions.get(entity, {}).items()))
            lines.append(f"| {entity} | {n:,} | {done} |")
        _plot(findings, out / PLOT_NAME)
        lines += ["", f"![findings per entity type]({PLOT_NAME})"]
    if planted:
        data["planted"] = planted
        lines += [
            "",
            "Against the sample's ground truth: each planted value in a document the run kept, and whether its "
            "text is still in that document's output.",
            "",
            "| planted type | planted in kept documents | removed | left |",
            "|---|---:|---:|---:|",
        ]
        for entity, counts in sorted(planted.items()):
            removed = counts["planted"] - counts["left"]
            lines.append(f"| {entity} | {counts['planted']:,} | {removed:,} | {counts['left']:,} |")
    return "personal_data", "\n".join(lines), data


def planted_and_left(ground_truth: Path, data_folder: Path, output_format: str) -> dict[str, dict[str, int]]:
    """Per planted type: how many planted values lie in documents the run kept, and how many of those are
    still in the output text. Values are only compared in memory; none is written."""
    from datatrove.pipeline.readers import JsonlReader, ParquetReader

    planted_by_id = {}
    with open(ground_truth, encoding="utf-8") as rows:
        for line in rows:
            row = json.loads(line)
            if row["personal_data"]:
                planted_by_id[row["id"]] = row["personal_data"]
    reader = (JsonlReader if output_format == "jsonl" else ParquetReader)(str(data_folder))
    counts: dict[str, Counter] = {}
    for doc in reader.run():
        for value in planted_by_id.get(doc.id, ()):
            tally = counts.setdefault(value["type"], Counter(planted=0, left=0))
            tally["planted"] += 1
            tally["left"] += value["value"] in doc.text
    return {entity: dict(tally) for entity, tally in counts.items()}


def _plot(findings: dict[str, int], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ordered = sorted(findings.items(), key=lambda item: item[1])
    fig, ax = plt.subplots(figsize=(6, 0.35 * len(ordered) + 1.2))
    ax.barh([k for k, _ in ordered], [v for _, v in ordered], color="#7a5195")
    ax.set_xlabel("findings")
    ax.set_title("Personal data found, per entity type")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
