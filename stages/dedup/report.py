"""The report's near-duplicates section: what LSH proposed, what verification rejected, the clusters
(as a plot of their sizes), the S-curve of the chosen bands x rows, and the largest clusters by id,
with an excerpt of each kept document only when a `pii` stage ran first (see excerpts.py)."""

from __future__ import annotations

import json
from pathlib import Path

from stages.base import ReportContext, ReportSection
from stages.dedup.excerpts import largest_clusters, read_excerpts

PLOT_NAME = "near_duplicates.png"


def near_duplicates_section(context: ReportContext) -> ReportSection | None:
    """From every minhash_dedup stage's summary, or None when none wrote one."""
    summaries = [folder / "summary.json" for folder in context.work_folders if (folder / "summary.json").exists()]
    if not summaries:
        return None
    out = context.output_folder
    lines, data = ["## Near-duplicates (MinHash)"], {}
    for path in summaries:
        summary = json.loads(path.read_text())
        stage = path.parent.name
        clusters = largest_clusters(path.parent / "duplicates.parquet")
        excerpts = read_excerpts(path.parent)
        summary["largest_clusters"] = clusters
        data[stage] = summary
        curve = ", ".join(f"J={j}: {p:.1%}" for j, p in summary["catch_probability"].items())
        rejected = summary["rejected_by_verification"]
        verified = summary["candidates"] - rejected
        false_positive_rate = rejected / max(summary["candidates"], 1)
        lines += [
            "",
            f"`{stage}`: {summary['duplicates']:,} of {summary['documents']:,} documents removed"
            + (
                f" (compared also with {summary['indexed_documents']:,} indexed documents)"
                if summary["indexed_documents"]
                else ""
            )
            + f". LSH proposed {summary['candidates']:,} candidate pairs; exact Jaccard rejected "
            f"{rejected:,} ({false_positive_rate:.1%}, "
            f"the LSH false-positive rate), kept {verified:,}.",
            "",
            f"{summary['bands']} bands x {summary['rows']} rows; chance a pair is proposed: {curve}.",
            "",
            "| cluster size | clusters |",
            "|---:|---:|",
            *[f"| {size} | {count:,} |" for size, count in summary["cluster_sizes"].items()],
        ]
        if clusters:
            lines += ["", "Largest clusters (kept id: removed ids):", ""]
            for c in clusters:
                lines.append(
                    f"- `{c['kept']}`: {', '.join(f'`{i}`' for i in c['removed'][:5])}"
                    + (f" and {len(c['removed']) - 5} more" if len(c["removed"]) > 5 else "")
                )
                if c["kept"] in excerpts:
                    c["excerpt"] = excerpts[c["kept"]]
                    lines.append(f"  > {_markdown_quote(excerpts[c['kept']])}")
            if not excerpts:
                lines += ["", "(Excerpts appear when a `pii` stage that scrubs names (PERSON) runs before this one.)"]
    if any(d["cluster_sizes"] for d in data.values()):
        _plot(data, out / PLOT_NAME)
        lines += ["", f"![cluster sizes]({PLOT_NAME})"]
    return "near_duplicates", "\n".join(lines), data


def _markdown_quote(text: str) -> str:
    return "".join("\\" + ch if ch in "\\`*_[]<>#|" else ch for ch in text)


def _plot(data: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6.5, 3.8), dpi=110)
    for stage, summary in data.items():
        sizes = [int(s) for s in summary["cluster_sizes"]]
        axes.bar([str(s) for s in sizes], list(summary["cluster_sizes"].values()), label=stage, alpha=0.8)
    axes.set_yscale("log")
    axes.set_xlabel("documents in the cluster")
    axes.set_ylabel("clusters")
    axes.set_title("Near-duplicate cluster sizes")
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
