"""Running a config on Slurm through datatrove's SlurmPipelineExecutor.

Each pass becomes ONE job array (one array element per datatrove task; above the cluster's
`max_array_size` an element runs several tasks, datatrove's `tasks_per_job`), so the next pass can wait
on it with a single `--dependency=afterok:<id>`: Slurm's afterok on an array job waits for every element.
Every pass job carries `--kill-on-invalid-dep=yes`: when a pass fails, Slurm cancels the passes after it
instead of leaving them pending forever. The last job, `corpus-prep finish <output folder>`, runs
`afterany` the last pass, so it runs whether the chain succeeded or not: it writes the accounting and
report, or names the failed pass, its tasks and their logs and exits non-zero.

Every `#SBATCH` value is one sbatch accepts (memory in whole megabytes: sbatch rejects `2.0G`), every
path is absolute and every job carries the user's `sbatch_args` and `--chdir`, the folder the run was
submitted from. `corpus-prep run --dry-run` prints the scripts instead of submitting them.
"""

from __future__ import annotations

import copy
import itertools
import math
import shlex
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

from datatrove.executor import SlurmPipelineExecutor

from pipeline.config import RunConfig
from pipeline.layout import RunLayout
from pipeline.plan import PassPlan, build_plan

FINISH_TIME = "01:00:00"
FINISH_MEM_MB = 4096


@dataclass
class Submission:
    """What was (or, in a dry run, would be) submitted: one script per job, in order."""

    jobs: list[dict] = field(default_factory=list)  # name, script, dependency, job id

    def describe(self) -> str:
        lines = []
        for job in self.jobs:
            after = f", after {job['dependency']}" if job["dependency"] else ""
            lines += [f"--- job {job['id']}: {job['name']}{after}", job["script"].rstrip(), ""]
        return "\n".join(lines)


def memory_mb(gigabytes: float) -> str:
    """sbatch's --mem-per-cpu takes an integer with a unit suffix: 2.0G is an error, 2048M is not."""
    return f"{math.ceil(gigabytes * 1024)}M"


def env_command(settings) -> str:
    """The user's activation line, else this interpreter's venv by absolute path (nodes start in $HOME)."""
    if settings.env_command:
        return settings.env_command
    if sys.prefix != sys.base_prefix:
        return f"source {shlex.quote(str(Path(sys.prefix) / 'bin' / 'activate'))}"
    return f"export PATH={shlex.quote(str(Path(sys.executable).parent))}:$PATH"


def common_sbatch_args(settings, submit_dir: Path) -> dict:
    """Directives every job of the run carries; the user's `sbatch_args` (account, ...) last, so they win."""
    return {"chdir": str(submit_dir), **({"qos": settings.qos} if settings.qos else {}), **settings.sbatch_args}


class OneArrayPerPass(SlurmPipelineExecutor):
    """datatrove's Slurm executor for one pass: one array job, integer memory, and no merge_stats job
    after it (`corpus-prep finish` merges every pass's stats itself)."""

    def launch_merge_stats(self):
        return None

    @classmethod
    def for_pass(cls, plan: PassPlan, settings, layout: RunLayout, submit_dir: Path) -> OneArrayPerPass:
        tasks_per_job = math.ceil(plan.tasks / settings.max_array_size)
        return cls(
            plan.steps,
            tasks=plan.tasks,
            time=settings.time,
            partition=settings.partition,
            cpus_per_task=settings.cpus_per_task,
            mem_per_cpu_gb=max(1, math.ceil(settings.mem_per_cpu_gb)),  # only reaches the tasks' environment
            workers=min(settings.workers, math.ceil(plan.tasks / tasks_per_job)),
            job_name=f"corpus-prep-{plan.name}",
            qos=settings.qos,
            env_command=env_command(settings),
            sbatch_args={
                "mem-per-cpu": memory_mb(settings.mem_per_cpu_gb),
                "kill-on-invalid-dep": "yes",
                **common_sbatch_args(settings, submit_dir),
            },
            max_array_size=settings.max_array_size,
            tasks_per_job=tasks_per_job,
            logging_dir=plan.logging_dir,
            slurm_logs_folder=str(layout.logs / "slurm" / plan.name),
        )


def _finish_script(last_pass, settings, layout: RunLayout, submit_dir: Path) -> str:
    finishing = copy.copy(last_pass)
    finishing.job_name = "corpus-prep-finish"
    log = str(layout.logs / "slurm" / "finish-%j.out")
    sbatch_args = {
        "job-name": "corpus-prep-finish",
        "partition": settings.partition,
        "time": FINISH_TIME,
        "cpus-per-task": 1,
        "mem-per-cpu": f"{FINISH_MEM_MB}M",
        "output": log,
        "error": log,
        **common_sbatch_args(settings, submit_dir),
    }
    return finishing.get_launch_file_contents(sbatch_args, f"corpus-prep finish {shlex.quote(str(layout.root))}")


def submit(config: RunConfig, passes: list[PassPlan], layout: RunLayout) -> Submission:
    """Submit every pass as a job array chained by afterok, then the finishing job (afterany)."""
    from datatrove.executor import slurm

    return _launch_chain(passes, config.executor, layout, Path.cwd(), slurm.launch_slurm_job)


def dry_run(config: RunConfig) -> Submission:
    """The scripts `submit` would send, built against a scratch copy of the run's folder."""
    real_root = Path(config.output.folder).resolve()
    job_ids = itertools.count(1000)
    with tempfile.TemporaryDirectory() as scratch:
        layout = RunLayout(Path(scratch) / real_root.name)
        submission = _launch_chain(
            build_plan(config, layout), config.executor, layout, Path.cwd(), lambda *_: str(next(job_ids))
        )
        for job in submission.jobs:  # show the paths the real run would use
            job["script"] = job["script"].replace(str(layout.root), str(real_root))
    return submission


def _launch_chain(passes: list[PassPlan], settings, layout: RunLayout, submit_dir: Path, launch) -> Submission:
    """Launch (through `launch`, sbatch's stand-in) the passes' chain and the finishing job, recording
    each script: datatrove calls its module's `launch_slurm_job` for every job it submits."""
    from datatrove.executor import slurm

    submission = Submission()

    def launch_and_record(contents, retriever, *args):
        job_id = launch(contents, retriever, *args)
        submission.jobs.append(_job(contents, args, job_id))
        return job_id

    last_job_id, executor = None, None
    with mock.patch.object(slurm, "launch_slurm_job", launch_and_record):
        for plan in passes:
            executor = OneArrayPerPass.for_pass(plan, settings, layout, submit_dir)
            # Chained by hand rather than through datatrove's `depends=`: a pass whose tasks all completed
            # (a resumed run) is skipped, and the next one must still wait for the last pass submitted.
            executor.depends_job_id = last_job_id
            executor.launch_job()
            if executor.job_id not in (None, -1):
                last_job_id = executor.job_id
        dependency = [f"--dependency=afterany:{last_job_id}"] if last_job_id else []
        finish_script = _finish_script(executor, settings, layout, submit_dir)
        launch_and_record(finish_script, executor.job_id_retriever, *dependency)
    return submission


def _job(contents: str, args: tuple, job_id: str) -> dict:
    name = next((line.split("=", 1)[1] for line in contents.splitlines() if line.startswith("#SBATCH --job-name=")), "")
    dependency = next((a.split("=", 1)[1] for a in args if str(a).startswith("--dependency=")), "")
    return {"id": str(job_id), "name": name, "script": contents, "dependency": dependency, "args": list(args)}
