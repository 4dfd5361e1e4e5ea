"""The run report: `report.json` for machines and `report.md` for people.

Sections: totals and the accounting identity; one row per step (documents and bytes in and out,
drops, time, documents/s); the profile (time per stage, with a plot, and wall time per pass); drops
and quarantines by reason; input records by kind; the resolved config. Later stages add sections
through `extra_sections`.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from pipeline.accounting import Accounting, metric_total, stat_total
from pipeline.funnel import PLOT_NAME as FUNNEL_PLOT
from pipeline.funnel import funnel_markdown, funnel_rows, plot_funnel
from pipeline.plan import PassPlan
from pipeline.profile import PLOT_NAME, pass_wall_seconds, plot_profile, profile_markdown, stage_profile


def step_rows(passes: list[PassPlan], stats_by_pass: dict[str, list[dict]]) -> list[dict]:
    rows = []
    for plan in passes:
        pass_stats = stats_by_pass.get(plan.name)
        if not pass_stats:  # a pass with no task stats yet has nothing to report
            continue
        for label, stats in zip(plan.labels, pass_stats, strict=True):
            if label == "progress":
                continue
            seconds = float(metric_total(stats.get("time_stats")))
            documents_in = stat_total(stats, "documents_in") or stat_total(stats, "documents")
            rows.append(
                {
                    "pass": plan.name,
                    "step": label,
                    "documents_in": documents_in,
                    "documents_out": stat_total(stats, "documents_out") or stat_total(stats, "total"),
                    "bytes_in": stat_total(stats, "bytes_in"),
                    "bytes_out": stat_total(stats, "bytes_out"),
                    "dropped": stat_total(stats, "dropped"),
                    "quarantined": stat_total(stats, "quarantined"),
                    "seconds": round(seconds, 3),
                    "documents_per_second": round(documents_in / seconds, 1) if seconds > 0 else None,
                    "stats": {key: metric_total(value) for key, value in stats.get("stats", {}).items()},
                }
            )
    return rows


def record_kinds(passes: list[PassPlan], stats_by_pass: dict[str, list[dict]]) -> dict[str, int]:
    first = stats_by_pass.get(passes[0].name) or [{}]
    stats = first[0].get("stats", {})
    return {k.split("/", 1)[1]: int(metric_total(v)) for k, v in sorted(stats.items()) if k.startswith("records/")}


def write_report(
    root: Path,
    config: dict,
    passes: list[PassPlan],
    stats_by_pass: dict[str, list[dict]],
    accounting: Accounting,
    wall_seconds: float,
    extra_sections: list[tuple[str, str, dict]] = (),
) -> dict:
    steps = step_rows(passes, stats_by_pass)
    stages = stage_profile(steps)
    report = {
        "name": config.get("name"),
        "wall_seconds": round(wall_seconds, 2),
        "accounting": accounting.to_dict(),
        "input_records": record_kinds(passes, stats_by_pass),
        "steps": steps,
        "profile": {"stages": stages, "passes": pass_wall_seconds(passes)},
        "config": config,
    }
    report["profile"]["plotted"] = plot_profile(stages, root / PLOT_NAME)
    report["funnel"] = funnel_rows(accounting.read, steps)
    report["funnel_plotted"] = plot_funnel(report["funnel"], root / FUNNEL_PLOT)
    for key, _, data in extra_sections:
        report[key] = data
    (root / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    (root / "report.md").write_text(_markdown(report, extra_sections), encoding="utf-8")
    return report


def _mb(n: int) -> str:
    return f"{n / 1e6:,.2f}"


def _markdown(report: dict, extra_sections) -> str:
    acc = report["accounting"]
    lines = [
        f"# Run report: {report['name']}",
        "",
        f"Wall time {report['wall_seconds']:,.1f} s.",
        "",
        "## Documents",
        "",
        "| read | kept | dropped | quarantined | identity |",
        "|---:|---:|---:|---:|---|",
        f"| {acc['read']:,} | {acc['kept']:,} | {acc['dropped']:,} | {acc['quarantined']:,} | "
        f"{'holds' if acc['balanced'] else '**BROKEN**'}: read = kept + dropped + quarantined |",
        "",
        "Ids of dropped and quarantined documents: `accounting/<step>/<task>.jsonl`.",
        "",
        funnel_markdown(report["funnel"], report["funnel_plotted"]),
        "",
        "## Steps",
        "",
        "Time is the seconds each step spent on its documents, summed over tasks.",
        "",
        "| pass | step | docs in | docs out | dropped | quarantined | MB in | MB out | CPU s | docs/s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in report["steps"]:
        rate = f"{row['documents_per_second']:,.0f}" if row["documents_per_second"] else "-"
        lines.append(
            f"| {row['pass']} | {row['step']} | {row['documents_in']:,} | {row['documents_out']:,} | "
            f"{row['dropped']:,} | {row['quarantined']:,} | {_mb(row['bytes_in'])} | {_mb(row['bytes_out'])} | "
            f"{row['seconds']:,.2f} | {rate} |"
        )
    profile = report["profile"]
    lines += ["", profile_markdown(profile["stages"], profile["passes"], profile["plotted"])]
    for title, key in (("Dropped", "dropped_by_reason"), ("Quarantined", "quarantined_by_reason")):
        if acc[key]:
            lines += ["", f"## {title} by reason", "", "| step | reason | documents |", "|---|---|---:|"]
            lines += [f"| {r['stage']} | {r['reason']} | {r['documents']:,} |" for r in acc[key]]
    if report["input_records"]:
        lines += ["", "## Input records by kind", "", "| kind | records |", "|---|---:|"]
        lines += [f"| {kind} | {n:,} |" for kind, n in report["input_records"].items()]
    for _, markdown, _ in extra_sections:
        lines += ["", markdown]
    lines += [
        "",
        "## Config",
        "",
        "```yaml",
        yaml.safe_dump(report["config"], sort_keys=False).rstrip(),
        "```",
        "",
    ]
    return "\n".join(lines)
