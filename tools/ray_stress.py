"""Ray hang hunt: repeat a clean run of a Ray config and a run whose first pool worker is killed mid-pass,
each under a hard timeout (a run that outlives it is a hang), and print one line per run and a summary.

    .venv/bin/python tools/ray_stress.py [--repeats 20] [--config configs/ray.yaml] [--timeout 900]

Not part of `make test` (20 default runs take most of an hour on 2 cores); CI runs the same two cases
once each on a small input (tests/test_ray.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEARTBEAT_TIMEOUT_S = 10


def _kill_first_beating_worker(heartbeats: Path, stop: threading.Event) -> None:
    while not stop.is_set():
        for beat in sorted(heartbeats.glob("0*")):
            try:
                os.kill(json.loads(beat.read_text())["pid"], signal.SIGKILL)
                return
            except (OSError, ValueError, KeyError):
                continue
        time.sleep(0.05)


def _attempt(config: str, out: Path, timeout: float, kill: bool) -> tuple[str, float]:
    """('ok' | 'failed as expected' | 'hang' | 'wrong: ...', seconds)."""
    shutil.rmtree(out, ignore_errors=True)
    command = [sys.executable, "-m", "pipeline.cli", "run", config, "--no-progress", "--set", f"output.folder={out}"]
    if kill:
        command += ["--set", f"executor.heartbeat_timeout_s={HEARTBEAT_TIMEOUT_S}"]
    stop = threading.Event()
    killer = threading.Thread(
        target=_kill_first_beating_worker, args=(out / "logs" / "1-documents" / "heartbeats", stop), daemon=True
    )
    if kill:
        killer.start()
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return "hang", time.monotonic() - started
    finally:
        stop.set()
    seconds = time.monotonic() - started
    if kill:
        named = process.returncode != 0 and "sent no heartbeat" in stderr and "task " in stderr
        return ("failed as expected" if named else f"wrong: exit {process.returncode}: {stderr[-300:]}"), seconds
    return ("ok" if process.returncode == 0 else f"wrong: exit {process.returncode}: {stderr[-300:]}"), seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--config", default="configs/ray.yaml")
    parser.add_argument("--timeout", type=float, default=900, help="seconds after which a run counts as a hang")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "ray-stress")
    args = parser.parse_args()
    outcomes: dict[str, list[str]] = {"clean": [], "killed worker": []}
    for repeat in range(1, args.repeats + 1):
        for case, kill in (("clean", False), ("killed worker", True)):
            outcome, seconds = _attempt(args.config, args.out / case.replace(" ", "-"), args.timeout, kill)
            outcomes[case].append(outcome)
            print(f"{repeat:3d} {case:14s} {outcome} in {seconds:.0f} s", flush=True)
    expected = {"clean": "ok", "killed worker": "failed as expected"}
    bad = 0
    for case, results in outcomes.items():
        good = results.count(expected[case])
        hangs = results.count("hang")
        bad += len(results) - good
        print(f"{case}: {good}/{len(results)} {expected[case]}, {hangs} hang(s)")
    shutil.rmtree(args.out, ignore_errors=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
