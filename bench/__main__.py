"""`python -m bench` (or `make bench`): run every benchmark, print each comparison, write results.json."""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path

from bench import (
    cli_start,
    dedup_e2e,
    dedup_scale,
    e2e,
    html,
    language,
    minhash,
    normalize,
    pii,
    redis_memory,
    training_data,
    workers,
)

BENCHMARKS = {
    "cli_start": cli_start.run,
    "normalize": normalize.run,
    "training_data": training_data.run,
    "html": html.run,
    "language": language.run,
    "minhash": minhash.run,
    "dedup_e2e": dedup_e2e.run,
    "dedup_scale": dedup_scale.run,
    "redis_memory": redis_memory.run,
    "pii": pii.run,
    "workers": workers.run,
    "e2e": e2e.run,
}


def main(argv: list[str]) -> int:
    chosen = argv or list(BENCHMARKS)
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; available: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    results = []
    for name in chosen:
        for comparison in BENCHMARKS[name]():
            print(comparison.line(), flush=True)
            results.append(comparison.to_dict())
    machine = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count()}
    path = Path(__file__).parent / "results.json"
    path.write_text(json.dumps({"machine": machine, "results": results}, indent=2))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
