"""The whole job end to end against datatrove's closest equivalent, on the same WARC input, with the
same tasks and workers, in the same run (`make bench-e2e`).

(a) ours: `configs/default.yaml` (html, normalize, pii, exact_dedup, minhash_dedup, tokenize, mds),
    with the tokenizer read from a file instead of trained, so both sides encode with the same one.
(b) datatrove, built from its own steps as its examples chain them: WarcReader -> Trafilatura ->
    JsonlWriter; MinhashDedupSignature, MinhashDedupBuckets, MinhashDedupCluster; the extracted
    documents again -> MinhashDedupFilter -> PIIFormatter -> DocumentTokenizer; then
    DocumentTokenizerMerger, which shuffles globally as our MDS writer does. Trafilatura runs with its
    cross-document `deduplicate` off, as ours does (on, the result would depend on document order).

Ours does more: Unicode normalisation, boilerplate line rules, exact dedup, pair verification in
MinHash, the full PII policy (18 entity types, presidio-grade) against datatrove's e-mail and IP
regexes, packing into fixed-length samples and MDS shards with provenance, the report.

Each side runs in its own fresh process. Wall time is the process's; peak memory is the largest sum
of proportional set sizes (PSS: shared pages split between the processes that map them) over the
process and all its children, sampled every 0.2 s. Input: the generated crawl at each size in `PAGES`
(the scaling figures), plus `<data>/warc` when present.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from bench.harness import Comparison
from pipeline.shared_data import shared_data_folder

ROOT = Path(__file__).resolve().parents[1]
PAGES = (5_000, 10_000, 20_000)
TASKS, WORKERS = 4, 2
EOS = "<|endoftext|>"

OURS = """
import json, sys
from pipeline.config import load_config
from pipeline.runner import run
result = run(load_config("{config}"), overwrite=True, show_progress=False)
print(json.dumps({{"kept": result.accounting.kept, "profile": result.report["profile"]["stages"]}}))
"""

DATATROVE = """
import json
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup.minhash import (MinhashConfig, MinhashDedupBuckets, MinhashDedupCluster,
    MinhashDedupFilter, MinhashDedupSignature)
from datatrove.pipeline.extractors import Trafilatura
from datatrove.pipeline.formatters import PIIFormatter
from datatrove.pipeline.readers import JsonlReader, WarcReader
from datatrove.pipeline.tokens import DocumentTokenizer, DocumentTokenizerMerger
from datatrove.pipeline.writers import JsonlWriter

work, tokenizer = "{work}", "{tokenizer}"
config = MinhashConfig()
executors = []
def go(name, steps, tasks={tasks}):
    executor = LocalPipelineExecutor(steps, tasks=tasks, workers=min({workers}, tasks),
                                     logging_dir=work + "/logs/" + name)
    executor.run()
    executors.append((name, executor))
go("1-extract", [WarcReader("{input}", glob_pattern="*.warc*"), Trafilatura(deduplicate=False),
                 JsonlWriter(work + "/extracted")])
go("2-signatures", [JsonlReader(work + "/extracted"), MinhashDedupSignature(work + "/sigs", config=config)])
go("3-buckets", [MinhashDedupBuckets(work + "/sigs", work + "/buckets", config=config)], tasks=config.num_buckets)
go("4-clusters", [MinhashDedupCluster(work + "/buckets", work + "/remove_ids", config=config)], tasks=1)
go("5-filter-pii-tokenize", [JsonlReader(work + "/extracted"), MinhashDedupFilter(work + "/remove_ids"),
    PIIFormatter(), DocumentTokenizer(work + "/tokens", tokenizer_name_or_path=tokenizer, eos_token="{eos}")])
go("6-merge", [DocumentTokenizerMerger(work + "/tokens", work + "/merged", save_filename="train")], tasks=1)
seconds = {{}}
for name, _ in executors:
    stats = json.load(open(work + "/logs/" + name + "/stats.json"))
    for step in stats:
        timed = step.get("time_stats") or 0.0  # a step that never timed anything has a bare 0
        timed = timed["total"] if isinstance(timed, dict) else float(timed)
        seconds[step["name"]] = seconds.get(step["name"], 0.0) + timed
print(json.dumps({{"profile": seconds}}))
"""


@dataclass
class Measured:
    seconds: float
    peak_bytes: int
    output: dict


def _tree_pss(root: int) -> int:
    import psutil

    try:
        processes = [psutil.Process(root)]
        processes += processes[0].children(recursive=True)
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for process in processes:
        try:
            total += process.memory_full_info().pss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def _measure(script: str, work: Path) -> Measured:
    """Wall seconds, peak PSS of the process tree, and the JSON the script printed last."""
    log, printed = work / "side.log", work / "side.out"
    started = time.perf_counter()
    # Files, not pipes: datatrove's forkserver outlives the script and would hold a pipe open.
    with open(log, "w") as stderr, open(printed, "w") as stdout:
        process = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(script)], stdout=stdout, stderr=stderr, cwd=ROOT
        )
        peak, done = [0], threading.Event()

        def sample() -> None:
            while not done.wait(0.2):
                peak[0] = max(peak[0], _tree_pss(process.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        process.wait()
        done.set()
        sampler.join()
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"benchmark side failed (exit {process.returncode}); its log ends:\n{tail}")
    return Measured(seconds, peak[0], json.loads(printed.read_text().strip().splitlines()[-1]))


def _tokenizer(folder: Path) -> Path:
    """GPT-2's tokenizer from the shared data when present, else a byte-level BPE trained on the sample's
    prose (the same file for both sides either way; nothing is downloaded)."""
    shared = shared_data_folder() / "tokenizers" / "gpt2" / "tokenizer.json"
    if shared.exists():
        return shared
    import random

    from pipeline.sample.prose import LANGUAGES, Prose
    from stages.tokenize import train_byte_level_bpe

    rng = random.Random(0)
    texts = [Prose(rng, LANGUAGES[i % len(LANGUAGES)]).paragraph() for i in range(4000)]
    tokenizer = train_byte_level_bpe(texts, vocab_size=8192, min_frequency=0, special_tokens=[EOS])
    path = folder / "tokenizer.json"
    tokenizer.save(str(path))
    return path


def _ours_config(input_glob: str, out: Path, tokenizer: Path) -> dict:
    config = yaml.safe_load((ROOT / "configs" / "default.yaml").read_text())
    config["input"] = {"format": "warc", "paths": [input_glob]}
    config["output"]["folder"] = str(out)
    config["executor"] = {"kind": "local", "tasks": TASKS, "workers": WORKERS}
    for stage in config["stages"]:
        if stage["stage"] == "tokenize":
            stage.pop("train", None)
            stage["tokenizer"] = str(tokenizer)
            stage["eos_token"] = EOS
    return config


def _compare(label: str, input_folder: Path, pages: int, scratch: Path, tokenizer: Path) -> dict:
    ours_folder, theirs_folder = scratch / f"{label}-ours", scratch / f"{label}-datatrove"
    ours_folder.mkdir()
    theirs_folder.mkdir()
    config_path = ours_folder / "config.yaml"
    config_path.write_text(yaml.safe_dump(_ours_config(str(input_folder / "*.warc*"), ours_folder / "out", tokenizer)))
    ours = _measure(OURS.format(config=config_path), ours_folder)
    theirs = _measure(
        DATATROVE.format(
            work=theirs_folder, input=input_folder, tokenizer=tokenizer, tasks=TASKS, workers=WORKERS, eos=EOS
        ),
        theirs_folder,
    )
    row = {
        "input": label,
        "pages": pages,
        "ours_seconds": round(ours.seconds, 1),
        "ours_peak_mb": round(ours.peak_bytes / 1e6),
        "datatrove_seconds": round(theirs.seconds, 1),
        "datatrove_peak_mb": round(theirs.peak_bytes / 1e6),
        "ours_profile": ours.output["profile"],
        "datatrove_profile": theirs.output["profile"],
    }
    print(
        f"e2e {label}: {pages:,} pages | ours {ours.seconds:.1f} s ({pages / ours.seconds:.1f} pages/s), "
        f"peak {ours.peak_bytes / 1e6:,.0f} MB | datatrove {theirs.seconds:.1f} s "
        f"({pages / theirs.seconds:.1f} pages/s), peak {theirs.peak_bytes / 1e6:,.0f} MB",
        flush=True,
    )
    print("  ours, CPU s per stage: " + ", ".join(f"{r['stage']} {r['cpu_seconds']:.1f}" for r in row["ours_profile"]))
    print("  datatrove, CPU s per step: " + ", ".join(f"{k} {v:.1f}" for k, v in row["datatrove_profile"].items()))
    shutil.rmtree(ours_folder, ignore_errors=True)
    shutil.rmtree(theirs_folder, ignore_errors=True)
    return row


def _shared_warc(folder: Path) -> tuple[Path, int] | None:
    """The shared WARC files (not their WAT/WET siblings) that datatrove's WarcReader reads without
    raising, linked into one folder, and their HTML responses as our reader counts them. The files it
    raises on are named: its run would stop there, where ours counts the damaged record and goes on."""
    from datatrove.pipeline.readers import WarcReader as DatatroveWarcReader

    from pipeline.io.readers import WarcReader

    source = shared_data_folder() / "warc"
    files = sorted(p for p in source.rglob("*") if p.name.endswith((".warc", ".warc.gz")))
    if not files:
        return None
    folder.mkdir()
    for path in files:
        link = folder / f"{path.parent.name}-{path.name}"
        link.symlink_to(path.resolve())
        try:
            for _ in DatatroveWarcReader(str(folder), glob_pattern=link.name).run():
                pass
        except Exception as error:  # noqa: BLE001 - any error stops datatrove's run on this file
            print(f"e2e shared-warc: datatrove's WarcReader raises {type(error).__name__} on {link.name}; left out")
            link.unlink()
    reader = WarcReader(str(folder), sorted(p.name for p in folder.iterdir()))
    return folder, sum(1 for _ in reader.run())


def _scaling_note(rows: list[dict]) -> str:
    """Each side's wall time fitted as fixed seconds + seconds per page (least squares over the sizes),
    with the largest deviation from the fit: linear cost means a small deviation. Memory as a factor."""
    import numpy as np

    pages = np.array([row["pages"] for row in rows], dtype=float)
    parts = []
    for side in ("ours", "datatrove"):
        seconds = np.array([row[f"{side}_seconds"] for row in rows])
        per_page, fixed = np.polyfit(pages, seconds, 1)
        deviation = np.max(np.abs(seconds - (fixed + per_page * pages)) / seconds)
        memory = rows[-1][f"{side}_peak_mb"] / rows[0][f"{side}_peak_mb"]
        parts.append(
            f"{side} {fixed:.1f} s + {per_page * 1000:.2f} ms/page (fit within {deviation:.1%}), "
            f"peak memory x{memory:.2f} from {rows[0]['pages']:,} to {rows[-1]['pages']:,} pages"
        )
    return "scaling: " + "; ".join(parts)


def run(pages: tuple[int, ...] = PAGES) -> list[Comparison]:
    from pipeline.sample import generate_sample

    comparisons, rows = [], []
    with tempfile.TemporaryDirectory(prefix="corpus-prep-e2e-") as scratch_name:
        scratch = Path(scratch_name)
        tokenizer = _tokenizer(scratch)
        for size in pages:
            sample = scratch / f"sample-{size}"
            generate_sample(sample, pages=size, seed=5, files=8)
            for extra in sample.iterdir():  # the WARC files only: datatrove reads every file in the folder
                if not extra.name.endswith(".warc.gz"):
                    extra.unlink()
            row = _compare(f"sample-{size}", sample, size, scratch, tokenizer)
            rows.append(row)
            shutil.rmtree(sample)
        scaling = [row for row in rows if row["input"].startswith("sample-")]
        if len(scaling) > 1:
            print(_scaling_note(scaling), flush=True)
        shared = _shared_warc(scratch / "shared-warc")
        if shared is not None:
            rows.append(_compare("shared-warc", shared[0], shared[1], scratch, tokenizer))
        else:
            print(f"e2e: {shared_data_folder() / 'warc'} not found; the shared WARC files are skipped")
    (Path(__file__).parent / "e2e.json").write_text(json.dumps(rows, indent=2))
    for row in rows:
        name = f"end to end, {row['input']} ({row['pages']:,} pages, {TASKS} tasks, {WORKERS} workers)"
        comparisons.append(
            Comparison(
                name,
                "pages/s",
                row["pages"] / row["ours_seconds"],
                row["pages"] / row["datatrove_seconds"],
                "datatrove equivalent",
                target=1.0,
            )
        )
        memory = row["ours_peak_mb"], row["datatrove_peak_mb"]
        comparisons.append(Comparison(f"{name} peak memory", "MB", *memory, "datatrove equivalent"))
    return comparisons


if __name__ == "__main__":
    sizes = tuple(int(arg) for arg in sys.argv[1:]) or PAGES
    for comparison in run(sizes):
        print(comparison.line())
    sys.exit(0)
