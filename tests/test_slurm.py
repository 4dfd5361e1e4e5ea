"""The same config on Slurm. Always: the generated batch scripts and sbatch options follow sbatch's
documented grammar, the chain waits on whole passes, a failure ends in the finishing job. With a real
Slurm (the `slurm` marker: `tools/local-slurm start` brings up munged, slurmctld and slurmd on this
machine; .ci/run does that), sbatch itself checks every script, the default pipeline runs on it with
output byte-identical to the local executor's, and a failed pass is reported by the finishing job."""

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from pipeline.config import parse_config
from pipeline.layout import RunLayout
from pipeline.runner import prepare_output
from pipeline.slurm import dry_run
from tests.helpers.configs import files_under, small_default_config
from tests.helpers.sbatch_grammar import problems

ROOT = Path(__file__).resolve().parents[1]


def _slurm_config(sample: Path, out: Path, **executor) -> dict:
    config = small_default_config([str(sample / "*.warc.gz")], "warc", out, 2, 2, vocab_size=1024, max_seq_len=256)
    config["executor"] = {
        "kind": "slurm",
        "tasks": 2,
        "workers": 2,
        "partition": "cpu",
        "time": "00:30:00",
        "mem_per_cpu_gb": 1.5,  # 1536M: a fractional GB is what real sbatch rejected as "1.5G"
        "sbatch_args": {"account": "data-team"},
        **executor,
    }
    return config


def _cli(*arguments) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *arguments], capture_output=True, text=True, cwd=ROOT, timeout=600
    )


def _main_jobs(submission) -> list[dict]:
    return [job for job in submission.jobs if job["name"] != "corpus-prep-finish"]


def test_dry_run_prints_the_batch_scripts_and_their_chain(small_sample, tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(_slurm_config(small_sample, tmp_path / "out")))
    completed = _cli("run", str(path), "--dry-run")
    assert completed.returncode == 0, completed.stderr
    assert not (tmp_path / "out").exists()
    jobs = re.findall(r"^--- job (\d+): (\S+)(?:, after (\w+):(\d+))?$", completed.stdout, re.M)
    names = [name for _, name, _, _ in jobs]
    assert names[0] == "corpus-prep-1-documents" and names[-1] == "corpus-prep-finish"
    assert len(names) == len(set(names)), "one job per pass (no merge_stats jobs, no chunks)"
    for (previous_id, _, _, _), (_, name, kind, after) in zip(jobs, jobs[1:], strict=False):
        assert after == previous_id, f"{name} must wait for the job before it"
        assert kind == ("afterany" if name == "corpus-prep-finish" else "afterok")
    assert "#SBATCH --array=0-1%2" in completed.stdout and "#SBATCH --mem-per-cpu=1536M" in completed.stdout
    assert completed.stdout.count("#SBATCH --account=data-team") == len(jobs), "account on every job, finish too"
    assert completed.stdout.count(f"#SBATCH --chdir={ROOT}") == len(jobs)
    assert f"source {Path(sys.prefix) / 'bin' / 'activate'}" in completed.stdout
    assert f"corpus-prep finish {tmp_path / 'out'}" in completed.stdout


def test_every_generated_script_follows_sbatch_grammar(small_sample, tmp_path):
    config = _slurm_config(
        small_sample, tmp_path / "out", qos="high", sbatch_args={"account": "a1", "constraint": "cpu"}
    )
    submission = dry_run(parse_config(config))
    assert len(submission.jobs) >= 5
    for job in submission.jobs:
        assert problems(job["script"], job["args"]) == [], job["name"]


def test_the_grammar_check_rejects_what_sbatch_rejects():
    script = "#!/bin/bash\n#SBATCH --mem-per-cpu=2.0G\n#SBATCH --time=1:2:3:4\n#SBATCH --array=0-3%\necho\n"
    found = problems(script, ["--dependency=afterok:12:", "--export=ALL,RUN_OFFSET=0"])
    assert [p.split("=")[0] for p in found] == ["--mem-per-cpu", "--time", "--array", "--dependency"]


def test_more_tasks_than_the_array_limit_give_one_array_per_pass_and_whole_pass_dependencies(small_sample, tmp_path):
    config = _slurm_config(small_sample, tmp_path / "out", tasks=2500, workers=64, max_array_size=1001)
    submission = dry_run(parse_config(config))
    jobs = _main_jobs(submission)
    names = [job["name"] for job in jobs]
    assert len(names) == len(set(names)), "a pass is never split into chained chunks"
    by_id = {job["id"]: job for job in submission.jobs}
    for previous, job in zip(submission.jobs, submission.jobs[1:], strict=False):
        assert job["dependency"].split(":")[1] == previous["id"]
        assert by_id[job["dependency"].split(":")[1]] is previous  # the whole previous array, not a chunk
    first = jobs[0]["script"]
    assert "#SBATCH --array=0-833%64" in first  # 2500 tasks, 3 per array element: 834 elements
    for job in submission.jobs:
        assert problems(job["script"], job["args"]) == [], job["name"]


# -- against a real Slurm ------------------------------------------------------------------------------


def _slurm_is_up() -> bool:
    try:
        ping = subprocess.run(["scontrol", "ping"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "UP" in ping.stdout


slurm = pytest.mark.skipif(not _slurm_is_up(), reason="no Slurm controller answers (tools/local-slurm start)")


def _wait_for(job_id: str, seconds: float = 600) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        queued = subprocess.run(["squeue", "-h", "-j", job_id], capture_output=True, text=True)
        if queued.returncode == 0 and not queued.stdout.strip():
            return
        time.sleep(2)
    subprocess.run(["scancel", job_id])
    raise AssertionError(f"slurm job {job_id} did not end within {seconds} s")


def _submit(config: dict, tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    submitted = _cli("run", str(path))
    assert submitted.returncode == 0, submitted.stderr[-2000:]
    return dict((name, job_id) for job_id, name in re.findall(r"^submitted job (\d+): (\S+)", submitted.stdout, re.M))


@pytest.mark.slurm
@slurm
def test_real_sbatch_accepts_every_generated_script(small_sample, tmp_path):
    config = _slurm_config(small_sample, tmp_path / "out", tasks=2500, workers=64)
    config["executor"]["sbatch_args"] = {}  # a local cluster has no accounts to check
    for job in dry_run(parse_config(config)).jobs:
        script = tmp_path / "job.sh"
        script.write_text(job["script"])
        options = [a for a in job["args"] if not a.startswith("--dependency")]  # the ids are a dry run's
        checked = subprocess.run(["sbatch", "--test-only", *options, str(script)], capture_output=True, text=True)
        assert checked.returncode == 0, f"{job['name']}: {checked.stderr}"


@pytest.mark.slurm
@pytest.mark.slow
@slurm
def test_the_default_pipeline_on_slurm_writes_the_same_training_data_as_locally(small_sample, default_run, tmp_path):
    jobs = _submit(_slurm_config(small_sample, tmp_path / "out"), tmp_path)
    _wait_for(jobs["corpus-prep-finish"])
    finish_log = next((tmp_path / "out" / "logs" / "slurm").glob("finish-*.out")).read_text()
    assert "done: read 160" in finish_log, finish_log[-2000:]
    local_out, local = default_run
    assert files_under(tmp_path / "out" / "mds") == files_under(local_out / "mds")
    assert files_under(tmp_path / "out" / "data") == files_under(local_out / "data")
    report = (tmp_path / "out" / "report.json").read_text()
    assert str(local.accounting.kept) in report


@pytest.mark.slurm
@slurm
def test_a_failed_pass_on_slurm_cancels_the_rest_and_the_finishing_job_names_it(small_sample, tmp_path):
    out = tmp_path / "out"
    config = _slurm_config(small_sample, out)
    config["executor"]["sbatch_args"] = {}
    prepare_output(parse_config(config), RunLayout(out), overwrite=False)  # as `run` would: it resumes here
    (out / "work").write_text("not a folder")  # every task of the first pass fails to write
    jobs = _submit(config, tmp_path)
    _wait_for(jobs["corpus-prep-finish"], seconds=300)
    finish_log = next((out / "logs" / "slurm").glob("finish-*.out")).read_text()
    assert "error: pass 1-documents: task(s) 0, 1 of 2 did not complete" in finish_log, finish_log[-2000:]
    assert re.search(r"see \S+/logs/1-documents/logs/task_00000\.log", finish_log)
    assert not (out / "mds").exists() and not (out / "report.json").exists()
    ran = sorted(p.name for p in (out / "logs" / "slurm").iterdir() if p.is_dir() and any(p.glob("*.out")))
    assert ran == ["1-documents"], "the passes after the failed one were cancelled, never run"
