"""End-to-end near-duplicate removal against datatrove's four-stage MinHash (signatures, buckets,
clusters, filter) on the same JSONL input, one worker each, each side in its own process so that
wall time and peak memory (max RSS) are its own.

Both read the documents and write the kept ones. Ours also verifies candidate pairs by exact Jaccard
(9 x 13 bands for threshold 0.8); datatrove's default is 14 x 8 bands with no verification.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from bench.harness import Comparison
from pipeline.sample.prose import LANGUAGES, Prose

OURS = """
from pipeline.config import parse_config
from pipeline.runner import run
config = {{
    "input": {{"format": "jsonl", "paths": ["{input}"]}},
    "stages": [{{"stage": "minhash_dedup"}}],
    "output": {{"folder": "{out}", "format": "jsonl"}},
    "executor": {{"tasks": 1, "workers": 1}},
}}
result = run(parse_config(config), show_progress=False)
print(result.accounting.kept)
"""

DATATROVE = """
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup.minhash import (MinhashConfig, MinhashDedupBuckets, MinhashDedupCluster,
    MinhashDedupFilter, MinhashDedupSignature)
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter
config = MinhashConfig()
work = "{out}"
def go(steps, tasks=1):
    LocalPipelineExecutor(steps, tasks=tasks, workers=1, logging_dir=work + "/logs/" + str(go.n)).run(); go.n += 1
go.n = 0
go([JsonlReader("{input_dir}"), MinhashDedupSignature(work + "/sigs", config=config)])
go([MinhashDedupBuckets(work + "/sigs", work + "/buckets", config=config)], tasks=config.num_buckets)
go([MinhashDedupCluster(work + "/buckets", work + "/remove_ids", config=config)])
go([JsonlReader("{input_dir}"), MinhashDedupFilter(work + "/remove_ids"), JsonlWriter(work + "/kept")])
"""


def _corpus(path: Path, documents: int) -> None:
    rng = random.Random(2)
    rows = []
    for i in range(documents):
        prose = Prose(rng, LANGUAGES[i % 4])
        rows.append({"id": f"d{i:06d}", "text": "\n\n".join(prose.paragraph() for _ in range(4))})
    for i in range(documents // 10):  # planted near-duplicates: a word in 100 replaced
        words = rows[i]["text"].split(" ")
        for position in rng.sample(range(len(words)), max(1, len(words) // 100)):
            words[position] = "edited"
        rows.append({"id": f"copy{i:06d}", "text": " ".join(words)})
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def _measure(script: str) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of a fresh Python process running `script`."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=Path(__file__).resolve().parents[1],
    )
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise RuntimeError(f"benchmark process failed with status {status}")
    return time.perf_counter() - started, usage.ru_maxrss * 1024


def run(documents: int = 4000) -> list[Comparison]:
    with tempfile.TemporaryDirectory() as folder:
        corpus = Path(folder, "in", "corpus.jsonl")
        corpus.parent.mkdir()
        _corpus(corpus, documents)
        total = documents + documents // 10
        ours_s, ours_rss = _measure(OURS.format(input=corpus, out=Path(folder, "ours")))
        theirs_s, theirs_rss = _measure(DATATROVE.format(input_dir=corpus.parent, out=Path(folder, "datatrove")))
    print(
        f"dedup end to end, {total:,} docs: ours {ours_s:.1f} s, peak {ours_rss / 1e6:,.0f} MB | "
        f"datatrove {theirs_s:.1f} s, peak {theirs_rss / 1e6:,.0f} MB"
    )
    return [
        Comparison(
            "dedup end to end (1 worker)",
            "docs/s",
            total / ours_s,
            total / theirs_s,
            "datatrove 4-stage MinHash",
            target=3.0,
        ),
        Comparison("dedup end to end peak memory", "MB", ours_rss / 1e6, theirs_rss / 1e6, "datatrove 4-stage MinHash"),
    ]
