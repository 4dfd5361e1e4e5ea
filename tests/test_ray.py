"""The same config on Ray (datatrove's RayPipelineExecutor on a local 2-CPU Ray cluster started by the
run): identical training data to the local executor's, and a failed task fails the run by name."""

from pathlib import Path

import pytest

from pipeline.config import parse_config
from pipeline.runner import RunError, run
from tests.helpers.configs import files_under, small_default_config
from tests.helpers.failures import assert_first_pass_failure_is_named

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module", autouse=True)
def ray_cluster():
    yield
    ray.shutdown()


def _config(sample: Path, out: Path, kind: str) -> dict:
    config = small_default_config([str(sample / "*.warc.gz")], "warc", out, 4, 2, vocab_size=1024, max_seq_len=256)
    config["executor"]["kind"] = kind
    return config


@pytest.mark.slow
def test_the_default_pipeline_on_ray_writes_the_same_training_data_as_locally(small_sample, tmp_path):
    local = run(parse_config(_config(small_sample, tmp_path / "local", "local")), show_progress=False)
    config = _config(small_sample, tmp_path / "ray", "ray")
    for stage in config["stages"]:
        if stage["stage"] == "minhash_dedup":  # on Ray, its find as three passes of 3 tasks (locally: one pass)
            stage["find_tasks"] = 3
    on_ray = run(parse_config(config), show_progress=False)
    assert ray.is_initialized()
    assert on_ray.accounting.to_dict() == local.accounting.to_dict()
    assert files_under(tmp_path / "ray" / "mds") == files_under(tmp_path / "local" / "mds")
    assert files_under(tmp_path / "ray" / "data") == files_under(tmp_path / "local" / "data")


def test_a_failed_task_on_ray_fails_the_run_naming_it_and_its_log(small_sample, tmp_path):
    assert_first_pass_failure_is_named(parse_config(_config(small_sample, tmp_path / "out", "ray")))


def test_a_task_larger_than_the_cluster_is_refused_instead_of_waiting_forever(small_sample, tmp_path):
    config = _config(small_sample, tmp_path / "out", "ray")
    config["executor"]["mem_per_cpu_gb"] = 100_000
    with pytest.raises(RunError, match="Ray would wait forever"):
        run(parse_config(config), show_progress=False)
