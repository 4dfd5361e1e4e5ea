"""Running a config: prepare the output folder, run each pass on the executor, account, report.

Every pass keeps its datatrove logging folder inside the output folder, so rerunning the same config
skips the tasks that completed and redoes only the rest.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from datatrove.executor import LocalPipelineExecutor
from datatrove.utils.logging import logger

from pipeline.accounting import Accounting, account, merged_stats
from pipeline.config import RunConfig
from pipeline.layout import RunLayout
from pipeline.plan import BUDGET_COUNTER_LABEL, PassPlan, build_plan, final_documents_pass
from pipeline.progress import PassProgress
from pipeline.report import write_report
from pipeline.run_lock import is_lock_file, locked_output_folder
from pipeline.worker_imports import start_fork_server
from stages.base import ReportContext


class RunError(RuntimeError):
    """A run that cannot start or did not finish; the message says what to do."""


def console_warnings_only() -> None:
    logger.remove()
    logger.add(sys.stderr, level="WARNING")


class QuietLocalExecutor(LocalPipelineExecutor):
    """datatrove's local executor, with task logs in full in their files and only problems on the console.

    datatrove prints INFO lines from the task with local rank 0 and resets the console logger to INFO
    after each task; either would bury the progress bar.
    """

    def _run_for_rank(self, rank: int, local_rank: int = 0, node_rank: int = -1):
        try:
            return super()._run_for_rank(rank, local_rank + 1, node_rank)
        finally:
            console_warnings_only()


@dataclass
class RunResult:
    layout: RunLayout
    accounting: Accounting
    report: dict


def prepare_output(config: RunConfig, layout: RunLayout, overwrite: bool) -> None:
    """Refuse to mix two configs' outputs in one folder; the same config resumes; `overwrite` empties
    the folder (all but the lock this run holds) and starts afresh."""
    fingerprint = config.fingerprint()
    layout.root.mkdir(parents=True, exist_ok=True)
    contents = [path for path in layout.root.iterdir() if not is_lock_file(path)]
    if contents and not overwrite:
        previous = _previous_run(layout)
        if previous.get("fingerprint") != fingerprint:
            raise RunError(
                f"{layout.root} holds output of a different config "
                f"(fingerprint {previous.get('fingerprint', 'none')}, this config {fingerprint}). "
                "Pass --overwrite to replace it, or set output.folder to another folder."
            )
    if overwrite:
        for path in contents:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
    layout.run_file.write_text(
        json.dumps({"fingerprint": fingerprint, "config": config.model_dump(mode="json")}, indent=2)
    )


def _previous_run(layout: RunLayout) -> dict:
    try:
        return json.loads(layout.run_file.read_text())
    except FileNotFoundError:
        return {}
    except ValueError:
        raise RunError(f"{layout.run_file} is damaged: pass --overwrite to start this folder afresh") from None


def ensure_sample(config: RunConfig) -> None:
    sample = config.input.sample
    if sample is None or config.input.paths:
        return
    folder = Path(sample.folder)
    expected = [folder / f"crawl-{i:05d}.warc.gz" for i in range(sample.files)]
    marker = folder / "sample.json"
    settings = sample.model_dump()
    if marker.exists() and json.loads(marker.read_text()) == settings and all(p.exists() for p in expected):
        return
    from pipeline.sample import generate_sample

    print(f"generating the sample corpus: {sample.pages} pages into {folder}", file=sys.stderr)
    generate_sample(folder, pages=sample.pages, seed=sample.seed, files=sample.files)
    marker.write_text(json.dumps(settings))


def _pools_fork_from_server(settings) -> bool:
    """Whether the run's passes run in local worker pools, forked from the fork server (worker_imports)."""
    return settings.kind == "local" and settings.workers > 1


def _run_pass(plan: PassPlan, settings, show_progress: bool, label: str) -> None:
    progress = PassProgress(label, plan.logging_dir, plan.tasks, enabled=show_progress, documents=plan.documents)
    if settings.kind == "ray":
        _run_on_ray(plan, settings, progress)
        return
    workers = min(settings.workers, plan.tasks)
    if _pools_fork_from_server(settings) and workers == 1:
        # datatrove runs a lone worker's tasks in this process, which has not imported their libraries
        # (torch, under the MDS index merge: 2 s); a pool of two forks one from the fork server, which has.
        workers = 2
    executor = QuietLocalExecutor(plan.steps, tasks=plan.tasks, workers=workers, logging_dir=plan.logging_dir)
    try:
        with progress:
            executor.run()
    except Exception as error:  # a task raised: name every task that did not complete, and its log
        raise RunError(_failed_tasks_message(plan, executor, error)) from error


def _run_on_ray(plan: PassPlan, settings, progress: PassProgress) -> None:
    from pipeline.ray_executor import RayPassFailed, RayResourcesError, ray_executor, run_watched

    try:
        executor = ray_executor(plan, settings)
    except RayResourcesError as error:
        raise RunError(str(error)) from None
    try:
        with progress:
            run_watched(executor, plan, settings)
    except RayPassFailed as failure:
        raise RunError(
            f"pass {plan.name}: {failure}. Fix the cause and rerun the same command: completed tasks are skipped."
        ) from None
    except Exception as error:
        raise RunError(_failed_tasks_message(plan, executor, error)) from error
    # datatrove's Ray executor logs a failed task and returns normally: the completion markers decide.
    if executor.get_incomplete_ranks():
        raise RunError(_failed_tasks_message(plan, executor, None))


def _failed_tasks_message(plan: PassPlan, executor, error: Exception | None) -> str:
    incomplete = executor.get_incomplete_ranks()
    started = [rank for rank in incomplete if plan.task_log(rank).exists()]
    cause = f" ({type(error).__name__})" if error else ""
    if started:
        where = f"Failed: task(s) {', '.join(map(str, started))}; see " + ", ".join(
            str(plan.task_log(rank)) for rank in started
        )
        if len(started) < len(incomplete):
            where += f"; {len(incomplete) - len(started)} more stopped before they started"
    else:
        where = f"No task of it started, so no task log was written; see {plan.logging_dir} and the message above"
    return (
        f"pass {plan.name}: {len(incomplete)} of {plan.tasks} task(s) did not complete{cause}. {where}. "
        "Fix the cause and rerun the same command: completed tasks are skipped."
    )


def run(config: RunConfig, overwrite: bool = False, show_progress: bool = True) -> RunResult:
    started = time.monotonic()
    if _pools_fork_from_server(config.executor):
        start_fork_server(config.stages)
    layout = RunLayout(Path(config.output.folder))
    ensure_sample(config)
    passes = build_plan(config, layout)  # before touching the output folder: a config error leaves it as it was
    with locked_output_folder(layout.root):
        prepare_output(config, layout, overwrite)
        console_warnings_only()  # task logs keep everything in their files
        for number, plan in enumerate(passes, start=1):
            _run_pass(plan, config.executor, show_progress, f"pass {number}/{len(passes)} {plan.name}")
        return finish(config, passes, layout, time.monotonic() - started)


def submit_to_slurm(config: RunConfig, overwrite: bool = False):
    """Prepare the output folder and submit the run's passes as chained Slurm jobs (pipeline.slurm)."""
    from pipeline.slurm import submit

    layout = RunLayout(Path(config.output.folder).resolve())  # the jobs start elsewhere
    ensure_sample(config)
    passes = build_plan(config, layout)
    with locked_output_folder(layout.root):
        prepare_output(config, layout, overwrite)
        return submit(config, passes, layout)


def finish_submitted(folder: str | Path) -> RunResult:
    """`corpus-prep finish`: the accounting and report of a run whose passes ran as Slurm jobs."""
    from pipeline.config import parse_config

    layout = RunLayout(Path(folder))
    if not layout.run_file.exists():
        raise RunError(f"{layout.run_file} not found: is {folder} a run's output folder?")
    config = parse_config(_previous_run(layout)["config"], str(layout.run_file))
    seconds = time.time() - layout.run_file.stat().st_mtime  # from submission: includes time in the queue
    with locked_output_folder(layout.root):
        return finish(config, build_plan(config, layout), layout, seconds)


def _stage_sections(config: RunConfig, layout: RunLayout) -> list:
    """Each stage type's report section, in the order the config first uses it."""
    truth = Path(config.input.sample.folder) / "ground_truth.jsonl" if config.input.sample else None
    folders_by_type: dict[type, list[Path]] = {}
    for index, stage in enumerate(config.stages, start=1):
        folders_by_type.setdefault(type(stage), []).append(layout.stage_work(index, stage.stage))
    sections = []
    for options, folders in folders_by_type.items():
        context = ReportContext(
            work_folders=folders,
            output_folder=layout.root,
            data_folder=layout.data,
            output_format=config.output.format,
            ground_truth=truth if truth is not None and not config.input.paths and truth.exists() else None,
        )
        section = options.report_section(context)
        if section is not None:
            sections.append(section)
    return sections


def finish(config: RunConfig, passes: list[PassPlan], layout: RunLayout, seconds: float) -> RunResult:
    """Accounting and report of a run whose passes all completed (here, or as Slurm jobs)."""
    for plan in passes:
        missing = plan.incomplete_tasks()
        if missing:
            started = [str(plan.task_log(rank)) for rank in missing if plan.task_log(rank).exists()]
            scheduler_logs = layout.logs / "slurm" / plan.name
            raise RunError(
                f"pass {plan.name}: task(s) {', '.join(map(str, missing))} of {plan.tasks} did not complete"
                + (f"; see {', '.join(started)}" if started else "; none of them started")
                + (f" and the scheduler's logs in {scheduler_logs}" if config.executor.kind == "slurm" else "")
                + ". Rerun the same command: completed tasks are skipped."
            )
    stats_by_pass = {plan.name: merged_stats(plan) for plan in passes}
    accounting = account(passes, stats_by_pass, str(layout.accounting))
    sections = []
    if config.budget is not None:
        from pipeline.budget.section import budget_section

        last = final_documents_pass(passes)
        counter_stats = stats_by_pass[last.name][last.labels.index(BUDGET_COUNTER_LABEL)]
        sections.append(budget_section(config.budget, counter_stats, layout.root))
    sections += _stage_sections(config, layout)
    report = write_report(
        layout.root,
        config.model_dump(mode="json"),
        passes,
        stats_by_pass,
        accounting,
        seconds,
        sections,
    )
    if not accounting.balanced:
        raise RunError(
            f"accounting identity broken: read {accounting.read} != kept {accounting.kept} + dropped "
            f"{accounting.dropped_total} + quarantined {accounting.quarantined_total}; see {layout.report_md}. "
            "This is a bug in a stage: please report it with the report."
        )
    if accounting.read == 0 and not config.input.allow_empty:
        raise RunError(
            f"the run read no document from {', '.join(config.input.resolved_paths())} "
            f"(format {config.input.format}): check input.paths and input.format, and the quarantined files "
            f"in {layout.report_md}; set input.allow_empty: true if an empty input is expected"
        )
    return RunResult(layout, accounting, report)
