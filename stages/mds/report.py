"""The report's "Training data" section, from the published dataset's manifest."""

from __future__ import annotations

import json
from pathlib import Path

from stages.base import ReportContext, ReportSection
from stages.mds.publish import dataset_folder

TAIL_WARNING_SHARE = 0.01  # of the tokens counted


def training_data_section(context: ReportContext) -> ReportSection | None:
    """From the published dataset's manifest, or None when the run wrote no MDS dataset."""
    dataset = Path(dataset_folder(str(context.output_folder)))
    manifest_path = dataset / "manifest.json"
    if not manifest_path.exists():
        return None
    manifest = json.loads(manifest_path.read_text())
    lines = [
        "## Training data",
        "",
        f"MDS dataset `{dataset}`: {manifest['samples']:,} samples in {manifest['shards']:,} shards "
        f"({manifest['compression'] or 'uncompressed'}), from {manifest['documents']:,} documents, "
        f"shuffled with seed {manifest['seed']} over {manifest['buckets']} buckets.",
    ]
    if manifest["columns"] == "tokens":
        counted = manifest["tokens_in"]
        share = lambda n: f"{n / counted:.2%}" if counted else "-"  # noqa: E731
        lines += [
            "",
            f"Samples of {manifest['max_seq_len']:,} tokens ({manifest['dtype']}), "
            + (
                "documents concatenated with EOS and cut."
                if manifest["split_documents"]
                else "whole documents, padded."
            ),
            "",
            "| tokens | count | share |",
            "|---|---:|---:|",
            f"| counted (tokenize) | {counted:,} | 100% |",
            f"| written to samples | {manifest['tokens_written']:,} | {share(manifest['tokens_written'])} |",
            f"| dropped at bucket tails | {manifest['tail_dropped']:,} | {share(manifest['tail_dropped'])} |",
            f"| truncated (over-long documents) | {manifest['truncated']:,} | {share(manifest['truncated'])} |",
            f"| padding (not counted) | {manifest['padding']:,} | |",
            "",
            "Which documents each sample holds: `provenance.parquet` in the dataset folder. "
            f"Check the shards with `corpus-prep verify {dataset}`.",
        ]
        if counted and manifest["tail_dropped"] / counted > TAIL_WARNING_SHARE:
            warning = (
                f"{share(manifest['tail_dropped'])} of the tokens were dropped at bucket tails (each of the "
                f"{manifest['buckets']} buckets loses up to max_seq_len - 1): for a corpus this small, set fewer "
                "`mds.buckets` or a smaller `max_seq_len`."
            )
            manifest = manifest | {"warnings": [warning]}
            lines += ["", f"**Warning:** {warning}"]
    return "training_data", "\n".join(lines), manifest
