"""The default pipeline with 2 workers against 1 worker on the same input and task count, same run:
how well the passes use a second core (each side in its own process, from a cold start)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bench.harness import Comparison

ROOT = Path(__file__).resolve().parents[1]


def _seconds(config: dict, folder: Path) -> float:
    path = folder / f"workers-{config['executor']['workers']}.yaml"
    path.write_text(yaml.safe_dump(config))
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "run", str(path), "--no-progress", "--overwrite"],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def run(pages: int = 4000) -> list[Comparison]:
    from pipeline.sample import generate_sample

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        generate_sample(folder / "sample", pages=pages, seed=3, files=8)
        config = yaml.safe_load((ROOT / "configs" / "default.yaml").read_text())
        config["input"] = {"format": "warc", "paths": [str(folder / "sample" / "*.warc.gz")]}
        config.pop("budget", None)
        times = {}
        for workers in (1, 2):
            config["output"]["folder"] = str(folder / f"out-{workers}")
            config["executor"] = {"kind": "local", "tasks": 4, "workers": workers}
            times[workers] = _seconds(config, folder)
    print(f"workers: {pages} pages, default pipeline, 4 tasks: 1 worker {times[1]:.1f} s, 2 workers {times[2]:.1f} s")
    return [Comparison("default pipeline, 2 workers", "pages/s", pages / times[2], pages / times[1], "1 worker", 1.7)]
