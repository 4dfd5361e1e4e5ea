"""The default pipeline with 2 workers against 1 worker on the same input and task count, same run:
how well the passes use a second core (each side in its own process, from a cold start).

The sides alternate for `rounds` rounds and each keeps its fastest: the machines this runs on are
shared, and a neighbour's burst would otherwise land on one side only. 12,000 pages: a run has about
8 s of serial work whatever its size (starting up, planning, one-task passes, the report), which at a
few thousand pages is a third of a 2-worker run; real corpora are far larger.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bench.harness import Comparison

ROOT = Path(__file__).resolve().parents[1]


def _run(config: dict, folder: Path) -> tuple[float, dict[str, float]]:
    """Wall seconds of a fresh run, and the wall seconds of each of its passes."""
    workers = config["executor"]["workers"]
    output = folder / f"out-{workers}"
    shutil.rmtree(output, ignore_errors=True)
    config["output"]["folder"] = str(output)
    path = folder / f"workers-{workers}.yaml"
    path.write_text(yaml.safe_dump(config))
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "run", str(path), "--no-progress"],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - started
    profile = json.loads((output / "report.json").read_text())["profile"]
    return seconds, {row["pass"]: row["wall_seconds"] for row in profile["passes"]}


def run(pages: int = 12000, rounds: int = 2) -> list[Comparison]:
    from pipeline.sample import generate_sample

    best: dict[int, tuple[float, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        generate_sample(folder / "sample", pages=pages, seed=3, files=8)
        config = yaml.safe_load((ROOT / "configs" / "default.yaml").read_text())
        config["input"] = {"format": "warc", "paths": [str(folder / "sample" / "*.warc.gz")]}
        config.pop("budget", None)
        for _ in range(rounds):
            for workers in (1, 2):
                config["executor"] = {"kind": "local", "tasks": 4, "workers": workers}
                measured = _run(config, folder)
                if workers not in best or measured[0] < best[workers][0]:
                    best[workers] = measured
    for workers, (seconds, passes) in sorted(best.items()):
        walls = ", ".join(f"{name} {wall:.1f}" for name, wall in passes.items())
        outside = seconds - sum(passes.values())
        print(f"workers: {workers}, {pages} pages: {seconds:.1f} s; passes: {walls}; outside passes {outside:.1f}")
    two, one = pages / best[2][0], pages / best[1][0]
    return [Comparison("default pipeline, 2 workers", "pages/s", two, one, "1 worker", 1.7)]
