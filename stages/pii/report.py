"""The report's personal-data section: findings and actions per entity type (a table and a plot), and
documents dropped by rule. Counts only: the audit never carries a value."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

PLOT_NAME = "personal_data.png"


def personal_data_section(work: Path, out: Path) -> tuple[str, str, dict] | None:
    folders = sorted(p for p in work.glob("*-pii") if (p / "summary").is_dir())
    if not folders:
        return None
    counts: Counter = Counter()
    for folder in folders:
        for path in (folder / "summary").glob("*.json"):
            counts.update(json.loads(path.read_text()))
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
    return "personal_data", "\n".join(lines), data


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
