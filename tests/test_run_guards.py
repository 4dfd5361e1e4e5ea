"""What the CLI does when a run cannot or must not go ahead: another run holds the folder, the input is
empty, the output folder cannot be written, an argument is malformed. Each case: the exit code, one
`error:` line saying what to do, no traceback, and the other run's output left intact."""

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.helpers.configs import files_under, small_default_config

ROOT = Path(__file__).resolve().parents[1]


def _cli(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *arguments], capture_output=True, text=True, cwd=ROOT, timeout=900
    )


def _write(config: dict, path: Path) -> str:
    path.write_text(yaml.safe_dump(config))
    return str(path)


def _quick_config(inputs: list[Path], out: Path, input_format: str = "warc") -> dict:
    return {
        "input": {"format": input_format, "paths": [str(p) for p in inputs]},
        "stages": [{"stage": "normalize"}, {"stage": "exact_dedup"}],
        "output": {"folder": str(out), "format": "jsonl"},
        "executor": {"tasks": 2, "workers": 2},
    }


def _assert_one_error_line(completed: subprocess.CompletedProcess, *phrases: str) -> str:
    assert completed.returncode == 2, completed.stderr[-2000:]
    assert "Traceback" not in completed.stderr
    errors = [line for line in completed.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, completed.stderr[-2000:]
    for phrase in phrases:
        assert phrase in errors[0], errors[0]
    return errors[0]


@pytest.mark.slow
def test_a_second_run_on_the_same_folder_is_refused_and_the_first_is_untouched(small_sample, default_run, tmp_path):
    lone, _ = default_run  # the same config run alone
    out = tmp_path / "out"
    inputs = [str(small_sample / "*.warc.gz")]
    config = _write(small_default_config(inputs, "warc", out, 2, 2, 1024, 256), tmp_path / "run.yaml")
    first = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "run", config, "--no-progress"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 300
    while not (out / "run.lock.owner").exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    second = _cli("run", config, "--no-progress")
    assert first.poll() is None, "the first run ended before the second tried: the test proves nothing"
    _assert_one_error_line(second, "in use by another run", f"pid {first.pid}", socket.gethostname())
    _, first_stderr = first.communicate(timeout=900)
    assert first.returncode == 0, first_stderr[-2000:]
    for folder in ("data", "mds"):
        assert files_under(out / folder) == files_under(lone / folder)
    assert json.loads((out / "report.json").read_text())["accounting"]["balanced"]
    assert not (out / "run.lock.owner").exists()
    rerun = _cli("run", config, "--no-progress")  # the lock went with the first run
    assert rerun.returncode == 0, rerun.stderr[-2000:]


def test_overwrite_starts_afresh_even_for_the_same_config(small_sample, tmp_path):
    out = tmp_path / "out"
    config = _write(_quick_config(sorted(small_sample.glob("*.warc.gz")), out), tmp_path / "run.yaml")
    assert _cli("run", config, "--no-progress").returncode == 0
    clean = files_under(out / "data")
    damaged = sorted((out / "data").iterdir())[0]
    damaged.write_bytes(damaged.read_bytes()[:100])  # a corrupt file that completion markers protect
    (out / "stray.txt").write_text("left by hand")
    again = _cli("run", config, "--no-progress", "--overwrite")
    assert again.returncode == 0, again.stderr[-2000:]
    assert files_under(out / "data") == clean
    assert not (out / "stray.txt").exists()


def test_empty_input_fails_unless_allowed(tmp_path):
    (tmp_path / "empty.jsonl").write_text("")
    config = _quick_config([tmp_path / "empty.jsonl"], tmp_path / "out", "jsonl")
    refused = _cli("run", _write(config, tmp_path / "run.yaml"), "--no-progress")
    _assert_one_error_line(refused, "read no document", "input.allow_empty")
    config["input"]["allow_empty"] = True
    config["output"]["folder"] = str(tmp_path / "allowed")
    allowed = _cli("run", _write(config, tmp_path / "allowed.yaml"), "--no-progress")
    assert allowed.returncode == 0, allowed.stderr[-2000:]
    assert json.loads((tmp_path / "allowed" / "report.json").read_text())["accounting"]["read"] == 0


def test_an_output_folder_that_cannot_be_created_is_one_error_line(small_sample, tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    config = _quick_config(sorted(small_sample.glob("*.warc.gz")), tmp_path / "a-file" / "out")
    failed = _cli("run", _write(config, tmp_path / "run.yaml"), "--no-progress")
    _assert_one_error_line(failed, str(tmp_path / "a-file"), "output folder")


def test_a_set_without_equals_is_a_usage_error():
    completed = _cli("run", "configs/default.yaml", "--set", "executor.tasks")
    assert completed.returncode == 2 and "Traceback" not in completed.stderr
    assert "'executor.tasks' is not KEY=VALUE" in completed.stderr
