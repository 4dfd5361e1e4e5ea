"""The same config on Slurm, without a Slurm cluster: CI cannot run slurmctld, slurmd and munge (no
root services, no network to install slurm-wlm), so these tests check what is submitted and then play
the cluster's part: a fake `sbatch` records each batch script, and the test runs them in submission
order (every array index of a job, then the next job), with a fake `srun` that runs its command.
The output must be byte-identical to the local executor's."""

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import yaml

from pipeline.config import parse_config
from pipeline.runner import run
from tests.helpers.configs import files_under, small_default_config

ROOT = Path(__file__).resolve().parents[1]
FAKE_SBATCH = """#!/bin/bash
id=$((100 + $(ls "$FAKE_SLURM_JOBS" | wc -l)))
mkdir "$FAKE_SLURM_JOBS/$id"
cp "${@: -1}" "$FAKE_SLURM_JOBS/$id/script"
printf '%s\\n' "${@:1:$#-1}" > "$FAKE_SLURM_JOBS/$id/args"
echo "Submitted batch job $id"
"""
FAKE_SRUN = """#!/bin/bash
shift 3  # -l -n 1
exec "$@"
"""
FAKE_SCONTROL = """#!/bin/bash
echo localhost  # scontrol show hostnames: the one node
"""


def _slurm_config(sample: Path, out: Path) -> dict:
    config = small_default_config([str(sample / "*.warc.gz")], "warc", out, 4, 2, vocab_size=1024, max_seq_len=256)
    config["executor"] = {
        "kind": "slurm",
        "tasks": 4,
        "workers": 2,
        "partition": "cpu",
        "time": "01:00:00",
        "env_command": f"export PATH={Path(sys.executable).parent}:$PATH",
        "sbatch_args": {"account": "data-team"},
    }
    return config


def _cli(*arguments, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *arguments], capture_output=True, text=True, cwd=ROOT, env=env
    )


def test_dry_run_prints_the_batch_scripts_and_their_chain(small_sample, tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(_slurm_config(small_sample, tmp_path / "out")))
    completed = _cli("run", str(path), "--dry-run")
    assert completed.returncode == 0, completed.stderr
    assert not (tmp_path / "out").exists()
    jobs = re.findall(r"^--- job (\d+): (\S+)(?:, after afterok:(\d+))?$", completed.stdout, re.M)
    passes = [name for _, name, _ in jobs if not name.endswith("finish")]
    assert passes[0] == "corpus-prep-1-documents" and jobs[-1][1] == "corpus-prep-finish"
    main_jobs = {}
    for job_id, name, after in jobs:  # each pass waits for the previous pass's array, not its merge_stats
        if name not in main_jobs:
            main_jobs[name] = (job_id, after)
    ordered = list(main_jobs.values())
    assert all(after == previous_id for (_, after), (previous_id, _) in zip(ordered[1:], ordered[:-1], strict=True))
    assert "#SBATCH --array=0-3%2" in completed.stdout and "#SBATCH --account=data-team" in completed.stdout
    assert f"corpus-prep finish {tmp_path / 'out'}" in completed.stdout


def test_submitted_jobs_run_in_order_give_the_local_executors_output(small_sample, tmp_path):
    bin_dir, jobs_dir = tmp_path / "bin", tmp_path / "jobs"
    bin_dir.mkdir()
    jobs_dir.mkdir()
    for name, body in (("sbatch", FAKE_SBATCH), ("srun", FAKE_SRUN), ("scontrol", FAKE_SCONTROL)):
        (bin_dir / name).write_text(body)
        (bin_dir / name).chmod((bin_dir / name).stat().st_mode | stat.S_IEXEC)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_SLURM_JOBS": str(jobs_dir)}
    out = tmp_path / "out"
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(_slurm_config(small_sample, out)))

    submitted = _cli("run", str(path), env=env)
    assert submitted.returncode == 0, submitted.stderr
    assert "the last job writes the report" in submitted.stdout
    assert not (out / "report.json").exists()

    for job in sorted(jobs_dir.iterdir(), key=lambda p: int(p.name)):  # the cluster's part
        script = (job / "script").read_text()
        array = re.search(r"#SBATCH --array=0-(\d+)", script)
        for index in range(int(array.group(1)) + 1 if array else 1):
            ran = subprocess.run(
                ["bash", str(job / "script")],
                env={**env, "SLURM_ARRAY_TASK_ID": str(index), "RUN_OFFSET": "0", "SLURM_NODELIST": "localhost"},
                capture_output=True,
                text=True,
                cwd=ROOT,
            )
            assert ran.returncode == 0, ran.stderr[-2000:]

    local = run(parse_config(small_default_config(
        [str(small_sample / "*.warc.gz")], "warc", tmp_path / "local", 4, 2, vocab_size=1024, max_seq_len=256
    )), show_progress=False)  # fmt: skip
    report = json.loads((out / "report.json").read_text())
    assert report["accounting"] == local.accounting.to_dict()
    assert files_under(out / "mds") == files_under(tmp_path / "local" / "mds")
