"""The report's near-duplicates section: what LSH proposed, what verification rejected, the clusters
(as a plot of their sizes), the S-curve of the chosen bands x rows, and the largest clusters by id.
Ids only, no text: an excerpt could carry personal data into the report."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

PLOT_NAME = "near_duplicates.png"


def near_duplicates_section(work: Path, out: Path) -> tuple[str, str, dict] | None:
    """(report key, Markdown, data) from every minhash_dedup stage's summary, or None when none ran."""
    summaries = sorted(work.glob("*-minhash_dedup/summary.json"))
    if not summaries:
        return None
    lines, data = ["## Near-duplicates (MinHash)"], {}
    for path in summaries:
        summary = json.loads(path.read_text())
        stage = path.parent.name
        clusters = _largest_clusters(path.parent / "duplicates.parquet", 5)
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
            lines += [
                f"- `{c['kept']}`: {', '.join(f'`{i}`' for i in c['removed'][:5])}"
                + (f" and {len(c['removed']) - 5} more" if len(c["removed"]) > 5 else "")
                for c in clusters
            ]
    if any(d["cluster_sizes"] for d in data.values()):
        _plot(data, out / PLOT_NAME)
        lines += ["", f"![cluster sizes]({PLOT_NAME})"]
    return "near_duplicates", "\n".join(lines), data


def _largest_clusters(path: Path, count: int) -> list[dict]:
    if not path.exists():
        return []
    clusters: dict[str, list[str]] = {}
    for row in pq.read_table(path).to_pylist():
        clusters.setdefault(row["duplicate_of"], []).append(row["id"])
    largest = sorted(clusters.items(), key=lambda item: (-len(item[1]), item[0]))[:count]
    return [{"kept": kept, "removed": sorted(removed)} for kept, removed in largest]


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
