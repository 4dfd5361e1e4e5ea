"""minhash_dedup at 100k, 300k and 1M generated documents: memory of the largest process, wall time,
and recall of planted near-duplicate pairs by Jaccard band; datatrove's MinHash on the 100k input.

Each run is a fresh `python -m pipeline.cli run` process; its peak RSS is the largest RSS of it and
every process it started, sampled every 20 ms (RSS, not tracemalloc, so Arrow's pool and copies
count). The documents are 1-3 KB of random words from a 20,000-word vocabulary (no accidental
overlap) with, for 1% of them, an edited copy whose word 5-gram Jaccard is drawn from 0.70 to 1.0;
Jaccards are then measured exactly, so recall per band is over real values.

`python -m bench dedup_scale` (or `make bench`); `DEDUP_SCALE_SIZES=20000,60000` for a quick look.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

from bench.harness import Comparison

ROOT = Path(__file__).resolve().parents[1]
DOCS_PER_FILE = 25_000
THRESHOLD = 0.8
BANDS = [(0.70, 0.75), (0.75, 0.80), (0.80, 0.85), (0.85, 0.90), (0.90, 0.95), (0.95, 1.01)]

DATATROVE = """
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup.minhash import (MinhashConfig, MinhashDedupBuckets, MinhashDedupCluster,
    MinhashDedupFilter, MinhashDedupSignature)
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter
if __name__ == "__main__":
    config = MinhashConfig()
    work, files = "{out}", {files}
    def go(steps, tasks):
        LocalPipelineExecutor(steps, tasks=tasks, workers=2, logging_dir=work + "/logs/" + str(go.n)).run(); go.n += 1
    go.n = 0
    go([JsonlReader("{input_dir}"), MinhashDedupSignature(work + "/sigs", config=config)], files)
    go([MinhashDedupBuckets(work + "/sigs", work + "/buckets", config=config)], config.num_buckets)
    go([MinhashDedupCluster(work + "/buckets", work + "/remove_ids", config=config)], 1)
    go([JsonlReader("{input_dir}"), MinhashDedupFilter(work + "/remove_ids"), JsonlWriter(work + "/kept")], files)
"""


def generate(folder: Path, documents: int, seed: int = 0) -> dict[str, tuple[str, str]]:
    """Write `documents` background documents plus planted copies as JSONL files of DOCS_PER_FILE;
    returns copy id -> (original id, target band) for the planted pairs."""
    rng = np.random.default_rng(seed)
    vocabulary = [f"{chr(97 + i % 26)}{i:x}" for i in range(20_000)]
    planted: dict[str, tuple[str, str]] = {}
    rows: list[str] = []
    file_number = 0

    def flush() -> None:
        nonlocal rows, file_number
        (folder / f"part-{file_number:04d}.jsonl").write_text("".join(rows))
        rows, file_number = [], file_number + 1

    for index in range(documents):
        length = int(rng.integers(150, 450))
        words = [vocabulary[i] for i in rng.integers(0, len(vocabulary), length).tolist()]
        doc_id = f"d{index:07d}"
        rows.append(json.dumps({"id": doc_id, "text": " ".join(words)}) + "\n")
        if index % 100 == 50:  # 1%: an edited copy, Jaccard drawn uniformly from 0.70 to 1.0
            target = float(rng.uniform(0.70, 1.0))
            shingles = length - 4
            edits = int(round(shingles * (1 - target) / (5 * (1 + target))))
            if edits:
                step = length // edits
                for position in range(step // 2, length, step)[:edits]:
                    words[position] = f"edit{position}"
            copy_id = f"c{index:07d}"
            rows.append(json.dumps({"id": copy_id, "text": " ".join(words)}) + "\n")
            planted[copy_id] = (doc_id, "")
        if len(rows) >= DOCS_PER_FILE:
            flush()
    if rows:
        flush()
    return planted


def _texts(folder: Path, wanted: set[str]) -> dict[str, str]:
    found = {}
    for path in sorted(folder.glob("*.jsonl")):
        with path.open() as f:
            for line in f:
                row = json.loads(line)
                if row["id"] in wanted:
                    found[row["id"]] = row["text"]
    return found


def _measure(command: list[str]) -> tuple[float, int]:
    """Wall seconds and the largest single process's peak RSS (bytes) of a command and its tree.

    RSS is sampled every 20 ms with psutil over the whole tree (pool workers and the fork server are
    not reaped by the command itself, so wait4's ru_maxrss misses them; it also inherits this process's
    own peak through fork, which made two different programs report the same figure)."""
    import psutil

    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    root, peak = psutil.Process(process.pid), 0
    while process.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
        except psutil.Error:
            break
        for member in tree:
            try:
                peak = max(peak, member.memory_info().rss)
            except psutil.Error:
                pass
        time.sleep(0.02)
    if process.wait() != 0:
        raise RuntimeError(f"{command[:4]} failed: {process.stderr.read().decode()[-2000:]}")
    return time.perf_counter() - started, peak


def _ours(inputs: Path, out: Path, files: int) -> tuple[float, int, dict]:
    config = {
        "name": "dedup_scale",
        "input": {"format": "jsonl", "paths": [str(inputs / "*.jsonl")]},
        "stages": [{"stage": "minhash_dedup", "threshold": THRESHOLD}],
        "output": {"folder": str(out), "format": "jsonl"},
        "executor": {"kind": "local", "tasks": max(4, min(files, 8)), "workers": 2},
    }
    path = out.parent / f"{out.name}.json"
    path.write_text(json.dumps(config))
    seconds, rss = _measure([sys.executable, "-m", "pipeline.cli", "run", str(path), "--no-progress"])
    return seconds, rss, json.loads((out / "work" / "01-minhash_dedup" / "summary.json").read_text())


def _score(inputs: Path, out: Path, planted: dict[str, tuple[str, str]]) -> tuple[dict, int, int]:
    """Recall per Jaccard band of the planted pairs, dropped documents below the threshold to their
    keeper (exact Jaccard), and documents dropped that are no planted copy nor original."""
    import pyarrow.parquet as pq

    from stages.dedup.bands import exact_jaccard
    from stages.dedup.signature import MinHasher

    hasher = MinHasher()
    duplicates = pq.read_table(out / "work" / "01-minhash_dedup" / "duplicates.parquet").to_pylist()
    kept_for = {row["id"]: row["duplicate_of"] for row in duplicates}
    wanted = set(planted) | {o for o, _ in planted.values()} | set(kept_for) | set(kept_for.values())
    texts = _texts(inputs, wanted)
    shingles = {doc_id: np.unique(hasher.shingle_hashes(text)) for doc_id, text in texts.items()}
    recall = {f"{low:.2f}-{min(high, 1):.2f}": [0, 0] for low, high in BANDS}
    for copy, (original, _) in planted.items():
        jaccard = exact_jaccard(shingles[copy], shingles[original])
        for low, high in BANDS:
            if low <= jaccard < high:
                caught = kept_for.get(copy) == original or kept_for.get(original) == copy
                recall[f"{low:.2f}-{min(high, 1):.2f}"][0] += caught
                recall[f"{low:.2f}-{min(high, 1):.2f}"][1] += 1
    below = sum(exact_jaccard(shingles[d], shingles[k]) < THRESHOLD for d, k in kept_for.items())
    planted_ids = set(planted) | {o for o, _ in planted.values()}
    unplanted = sum(d not in planted_ids for d in kept_for)
    return recall, below, unplanted


def run(sizes: list[int] | None = None) -> list[Comparison]:
    sizes = sizes or [int(s) for s in os.environ.get("DEDUP_SCALE_SIZES", "100000,300000,1000000").split(",")]
    figures = []
    with tempfile.TemporaryDirectory() as folder:
        for size in sizes:
            inputs = Path(folder, f"in-{size}")
            inputs.mkdir()
            planted = generate(inputs, size)
            files = len(list(inputs.glob("*.jsonl")))
            seconds, rss, summary = _ours(inputs, Path(folder, f"ours-{size}"), files)
            recall, below, unplanted = _score(inputs, Path(folder, f"ours-{size}"), planted)
            total = size + len(planted)
            figures.append((size, total, seconds, rss, summary, recall, below, unplanted))
            print(
                f"dedup_scale {total:,} docs: {seconds:.1f} s ({seconds / total * 1e6:.0f} us/doc), largest process "
                f"peak RSS {rss / 2**20:,.0f} MiB, find tasks {summary['find_tasks']}, "
                f"{summary['candidates']:,} candidates, {summary['rejected_by_verification']:,} rejected, "
                f"{summary['duplicates']:,} removed",
                flush=True,
            )
            bands = ", ".join(f"J {band}: {c}/{n} = {c / max(n, 1):.4f}" for band, (c, n) in recall.items())
            print(f"  recall of planted pairs by Jaccard: {bands}", flush=True)
            print(f"  dropped below {THRESHOLD} to their keeper: {below}; dropped but not planted: {unplanted}")
            if size == sizes[0]:
                script = textwrap.dedent(DATATROVE).format(
                    out=Path(folder, f"datatrove-{size}"), files=files, input_dir=inputs
                )
                datatrove_s, datatrove_rss = _measure([sys.executable, "-c", script])
                print(
                    f"  datatrove MinHash (14 x 8, unverified) on the same {total:,} docs: {datatrove_s:.1f} s, "
                    f"largest process peak RSS {datatrove_rss / 2**20:,.0f} MiB",
                    flush=True,
                )
                baseline = (total, datatrove_s)
            for path in inputs.glob("*.jsonl"):
                path.unlink()
    first, last = figures[0], figures[-1]
    at = {f"{low:.2f}-{min(high, 1):.2f}" for low, high in BANDS if low >= THRESHOLD}
    caught_above = sum(c for band, (c, n) in last[5].items() if band in at)
    total_above = sum(n for band, (c, n) in last[5].items() if band in at)
    band_080 = last[5]["0.80-0.85"]
    growth = last[3] / first[3]
    time_growth = (last[2] / last[1]) / (first[2] / first[1])
    print(
        f"dedup_scale: peak RSS x{growth:.2f} from {first[1]:,} to {last[1]:,} docs (target <= 1.30: "
        f"{'met' if growth <= 1.3 else 'MISSED'}); time per document x{time_growth:.2f}; recall at J >= 0.8 "
        f"{caught_above / max(total_above, 1):.4f} (target 0.99), at 0.80-0.85 {band_080[0] / max(band_080[1], 1):.4f} "
        f"(target 0.98); dropped below threshold {sum(f[6] for f in figures)} (target 0)"
    )
    return [
        Comparison(
            f"minhash_dedup end to end, {baseline[0]:,} docs (2 workers)",
            "docs/s",
            first[1] / first[2],
            baseline[0] / baseline[1],
            "datatrove MinHash (4 stages, 2 workers)",
        ),
        Comparison(
            f"minhash_dedup largest-process peak RSS, {last[1]:,} vs {first[1]:,} docs",
            "MiB",
            last[3] / 2**20,
            first[3] / 2**20,
            f"ours at {first[1]:,} docs (ratio = growth; target <= 1.3)",
        ),
    ]


if __name__ == "__main__":
    for comparison in run([int(s) for s in sys.argv[1:]] or None):
        print(comparison.line())
