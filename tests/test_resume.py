"""Kill-and-resume identity on the whole default pipeline: a run killed in any pass, or with a task that
fails once, resumes to training data byte-identical to an uninterrupted run's."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from pipeline.config import parse_config
from pipeline.layout import RunLayout
from pipeline.plan import build_plan
from pipeline.runner import RunError, run
from tests.helpers.configs import files_under, small_default_config

ROOT = Path(__file__).resolve().parents[1]


def _config(sample: Path, out: Path, workers: int = 2) -> dict:
    inputs = [str(sample / "*.warc.gz")]
    config = small_default_config(inputs, "warc", out, 4, workers, vocab_size=1024, max_seq_len=256)
    for stage in config["stages"]:
        if stage["stage"] == "minhash_dedup":  # its sharded find passes, killed and resumed too
            stage["find_tasks"] = 3
    return config


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    from pipeline.sample import generate_sample

    folder = tmp_path_factory.mktemp("resume-sample")
    generate_sample(folder, pages=400, seed=21, files=8)
    return folder


@pytest.fixture(scope="module")
def clean(sample, tmp_path_factory):
    out = tmp_path_factory.mktemp("clean") / "out"
    result = run(parse_config(_config(sample, out)), show_progress=False)
    return out, result


@pytest.mark.slow
def test_a_run_killed_in_every_pass_resumes_to_identical_training_data(sample, clean, tmp_path):
    clean_out, clean_result = clean
    out = tmp_path / "out"
    config = _config(sample, out)
    passes = [plan.name for plan in build_plan(parse_config(config), RunLayout(out))]
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    command = [sys.executable, "-m", "pipeline.cli", "run", str(path), "--no-progress"]

    killed_in = []
    for name in passes:  # start, wait until this pass has begun, SIGKILL the whole process group
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        started = out / "logs" / name
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not started.exists() and process.poll() is None:
            time.sleep(0.01)
        if process.poll() is None:
            time.sleep(0.2)  # let its tasks get going
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            if not (started / "completions").exists() or len(list((started / "completions").iterdir())) < (
                json.loads((started / "executor.json").read_text()).get("world_size", 1)
                if (started / "executor.json").exists()
                else 1
            ):
                killed_in.append(name)
        assert process.returncode in (0, -signal.SIGKILL), f"the run failed in pass {name}"
    assert len(killed_in) >= len(passes) - 3, f"killed only in {killed_in} of {passes}"

    rerun = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert files_under(out / "mds") == files_under(clean_out / "mds")
    report = json.loads((out / "report.json").read_text())
    assert report["accounting"] == clean_result.accounting.to_dict()
    assert report["accounting"]["balanced"]


def test_a_task_that_fails_once_is_redone_and_the_output_is_identical(sample, clean, tmp_path, monkeypatch):
    from stages.normalize import TextNormalizer

    clean_out, clean_result = clean
    marker = tmp_path / "failed-once"
    original = TextNormalizer.run

    def flaky(self, data, rank=0, world_size=1):
        if rank == 2 and not marker.exists():
            marker.touch()
            raise OSError("transient: the storage went away")
        yield from original(self, data, rank, world_size)

    monkeypatch.setattr(TextNormalizer, "run", flaky)
    out = tmp_path / "out"
    config = parse_config(_config(sample, out, workers=1))  # one worker: tasks run in this process
    with pytest.raises(RunError, match="task\\(s\\) 2"):
        run(config, show_progress=False)
    assert marker.exists()
    result = run(config, show_progress=False)
    assert result.accounting.to_dict() == clean_result.accounting.to_dict()
    assert files_under(out / "mds") == files_under(clean_out / "mds")
