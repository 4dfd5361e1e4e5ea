"""The same config on Ray (datatrove's RayPipelineExecutor on a local 2-CPU Ray cluster started by the
run): identical training data to the local executor's, a failed task fails the run by name, and a task
whose worker is killed, or that overruns its time limit, fails the run by name instead of hanging it."""

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from pipeline.config import parse_config
from pipeline.ray_executor import RELEASE_GRACE_SECONDS
from pipeline.runner import RunError, run
from pipeline.sample import generate_sample
from tests.helpers.configs import files_under, small_default_config
from tests.helpers.failures import assert_first_pass_failure_is_named

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module", autouse=True)
def ray_cluster():
    yield
    ray.shutdown()


def _config(sample: Path, out: Path, kind: str) -> dict:
    # Two tasks: each Ray task costs an actor and a placement group, seconds on a 2-core machine.
    config = small_default_config([str(sample / "*.warc.gz")], "warc", out, 2, 2, vocab_size=1024, max_seq_len=256)
    config["executor"]["kind"] = kind
    return config


@pytest.mark.slow
def test_the_default_pipeline_on_ray_writes_the_same_training_data_as_locally(small_sample, default_run, tmp_path):
    local_out, local = default_run
    config = _config(small_sample, tmp_path / "ray", "ray")
    for stage in config["stages"]:
        if stage["stage"] == "minhash_dedup":  # on Ray, its find as three passes of 2 tasks (locally: one pass)
            stage["find_tasks"] = 2
    on_ray = run(parse_config(config), show_progress=False)
    assert ray.is_initialized()
    assert on_ray.accounting.to_dict() == local.accounting.to_dict()
    assert files_under(tmp_path / "ray" / "mds") == files_under(local_out / "mds")
    assert files_under(tmp_path / "ray" / "data") == files_under(local_out / "data")


def test_a_failed_task_on_ray_fails_the_run_naming_it_and_its_log(small_sample, tmp_path):
    assert_first_pass_failure_is_named(parse_config(_config(small_sample, tmp_path / "out", "ray")))


def test_a_task_larger_than_the_cluster_is_refused_instead_of_waiting_forever(small_sample, tmp_path):
    config = _config(small_sample, tmp_path / "out", "ray")
    config["executor"]["mem_per_cpu_gb"] = 100_000
    with pytest.raises(RunError, match="Ray would wait forever"):
        run(parse_config(config), show_progress=False)


@pytest.fixture(scope="module")
def long_sample(tmp_path_factory) -> Path:
    """Two files of 400 pages: first-pass tasks that run for seconds, long enough to be killed mid-way."""
    folder = tmp_path_factory.mktemp("long-sample")
    generate_sample(folder, pages=800, seed=3, files=2)
    return folder


def _watched_config(sample: Path, out: Path, **executor) -> dict:
    config = _config(sample, out, "ray")
    config["executor"].update(tasks=2, workers=2, heartbeat_timeout_s=6, **executor)
    return config


def _kill_the_first_worker_that_beats(heartbeats: Path, killed: dict) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for beat in sorted(heartbeats.glob("0*")):
            try:
                record = json.loads(beat.read_text())
            except (OSError, ValueError):
                continue
            os.kill(record["pid"], signal.SIGKILL)  # the pool child of the Ray actor, mid-task
            killed.update(task=int(beat.name), pid=record["pid"])
            return
        time.sleep(0.05)


def test_a_killed_pool_worker_fails_the_run_naming_its_task_instead_of_hanging(long_sample, tmp_path):
    out, killed = tmp_path / "out", {}
    killer = threading.Thread(
        target=_kill_the_first_worker_that_beats, args=(out / "logs" / "1-documents" / "heartbeats", killed)
    )
    killer.start()
    started = time.monotonic()
    with pytest.raises(RunError) as info:
        run(parse_config(_watched_config(long_sample, out)), show_progress=False)
    killer.join()
    message = str(info.value)
    assert killed, "no task of the first pass sent a heartbeat"
    assert f"pass 1-documents: task {killed['task']} sent no heartbeat for 6 s" in message, message
    assert f"pid {killed['pid']}" in message and "task_0000" in message
    # The pass ends once the other task finishes, or after the grace period: never a hang.
    assert time.monotonic() - started < 6 + RELEASE_GRACE_SECONDS + 60


def test_a_task_over_its_time_limit_fails_the_run_naming_it(long_sample, tmp_path):
    config = _watched_config(long_sample, tmp_path / "out", time_limit_s=1)
    with pytest.raises(RunError, match=r"pass 1-documents: task \d ran longer than executor.time_limit_s \(1 s\)"):
        run(parse_config(config), show_progress=False)
