"""How fast `corpus-prep --help` answers, beside a bare `python -c pass` (the interpreter's own start)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.harness import Comparison, best_seconds

ROOT = Path(__file__).resolve().parents[1]


def _start(*args: str):
    return lambda: subprocess.run([sys.executable, *args], cwd=ROOT, check=True, capture_output=True)


def run(repeats: int = 7) -> list[Comparison]:
    bare = _start("-c", "pass")
    comparisons = []
    for command in (["--help"], ["run", "--help"]):
        ours, baseline = best_seconds([_start("-m", "pipeline.cli", *command), bare], repeats)
        comparisons.append(
            Comparison(
                f"corpus-prep {' '.join(command)} (starts/s; issue 29: within 0.3 s)",
                "starts/s",
                1 / ours,
                1 / baseline,
                "python -c pass",
                floor=1 / 0.3,
            )
        )
    return comparisons
