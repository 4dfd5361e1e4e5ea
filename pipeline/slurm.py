"""Running a config on Slurm through datatrove's SlurmPipelineExecutor.

Each pass becomes a job array (one array task per datatrove task) that starts only after the previous
pass's array succeeded (`--dependency=afterok`), so dedup's and the shuffle's passes see every task's
output. A last one-CPU job, `corpus-prep finish <output folder>`, checks the completion markers and
writes the accounting and the report once everything ran. `corpus-prep run` returns once the chain is
submitted; `--dry-run` prints the batch scripts and the chain instead of submitting.
"""

from __future__ import annotations

import copy
import itertools
import shlex
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

from pipeline.config import RunConfig
from pipeline.layout import RunLayout
from pipeline.plan import PassPlan, build_plan


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


def _executors(passes: list[PassPlan], settings, layout: RunLayout) -> list:
    from datatrove.executor import SlurmPipelineExecutor

    executors, previous = [], None
    for plan in passes:
        executor = SlurmPipelineExecutor(
            plan.steps,
            tasks=plan.tasks,
            time=settings.time,
            partition=settings.partition,
            cpus_per_task=settings.cpus_per_task,
            mem_per_cpu_gb=settings.mem_per_cpu_gb,
            workers=min(settings.workers, plan.tasks),
            job_name=f"corpus-prep-{plan.name}",
            qos=settings.qos,
            env_command=settings.env_command,
            sbatch_args=dict(settings.sbatch_args),
            depends=previous,
            logging_dir=plan.logging_dir,
            slurm_logs_folder=str(layout.logs / "slurm" / plan.name),
        )
        executors.append(executor)
        previous = executor
    return executors


def _finish_script(last, layout: RunLayout) -> str:
    finishing = copy.copy(last)
    finishing.job_name = "corpus-prep-finish"
    sbatch_args = {
        "job-name": "corpus-prep-finish",
        "partition": last.partition,
        "time": "01:00:00",
        "cpus-per-task": 1,
        "mem-per-cpu": "4G",
        "output": str(layout.logs / "slurm" / "finish-%j.out"),
        "error": str(layout.logs / "slurm" / "finish-%j.out"),
        **({"qos": last.qos} if last.qos else {}),
    }
    return finishing.get_launch_file_contents(sbatch_args, f"corpus-prep finish {shlex.quote(str(layout.root))}")


def submit(config: RunConfig, passes: list[PassPlan], layout: RunLayout) -> Submission:
    """Submit every pass as a job array chained by afterok, then the finishing job."""
    from datatrove.executor import slurm

    return _launch_chain(passes, config.executor, layout, slurm.launch_slurm_job)


def dry_run(config: RunConfig) -> Submission:
    """The scripts `submit` would send, built against a scratch copy of the run's folder."""
    real_root = Path(config.output.folder)
    job_ids = itertools.count(1000)
    with tempfile.TemporaryDirectory() as scratch:
        layout = RunLayout(Path(scratch) / real_root.name)
        submission = _launch_chain(build_plan(config, layout), config.executor, layout, lambda *_: str(next(job_ids)))
        for job in submission.jobs:  # show the paths the real run would use
            job["script"] = job["script"].replace(str(layout.root), str(real_root))
    return submission


def _launch_chain(passes: list[PassPlan], settings, layout: RunLayout, launch) -> Submission:
    """Launch (through `launch`, sbatch's stand-in) the passes' chain and the finishing job, recording
    each script: datatrove calls its module's `launch_slurm_job` for every job it submits."""
    from datatrove.executor import slurm

    submission = Submission()

    def launch_and_record(contents, retriever, *args):
        job_id = launch(contents, retriever, *args)
        submission.jobs.append(_job(contents, args, job_id))
        return job_id

    with mock.patch.object(slurm, "launch_slurm_job", launch_and_record):
        executors = _executors(passes, settings, layout)
        executors[-1].launch_job()
        last = executors[-1]
        dependency = [f"--dependency=afterok:{last.job_id}"] if last.job_id not in (None, -1) else []
        launch_and_record(_finish_script(last, layout), last.job_id_retriever, *dependency)
    return submission


def _job(contents: str, args: tuple, job_id: str) -> dict:
    name = next((line.split("=", 1)[1] for line in contents.splitlines() if line.startswith("#SBATCH --job-name=")), "")
    dependency = next((a.split("=", 1)[1] for a in args if str(a).startswith("--dependency=")), "")
    return {"id": str(job_id), "name": name, "script": contents, "dependency": dependency}
