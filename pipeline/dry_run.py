"""`corpus-prep run --dry-run`: what a run would do, pass by pass, without writing its output folder."""

from __future__ import annotations

from pathlib import Path

from pipeline.config import RunConfig
from pipeline.layout import RunLayout
from pipeline.plan import build_plan, resolve_input_files


def describe_run(config: RunConfig) -> str:
    layout = RunLayout(Path(config.output.folder))
    passes = build_plan(config, layout)
    folder, files = resolve_input_files(config.input)
    executor = config.executor
    if executor.kind == "ray":
        where = f"ray ({executor.address or 'a local instance started for the run'})"
        per_task = f"{executor.cpus_per_task} CPU, {executor.mem_per_cpu_gb * executor.cpus_per_task:g} GiB per task"
    elif executor.kind == "slurm":
        where = f"slurm (partition {executor.partition}, {executor.time} per array task)"
        per_task = f"{executor.cpus_per_task} CPU, {executor.mem_per_cpu_gb * executor.cpus_per_task:g} GiB per task"
    else:
        where, per_task = "local", "1 process per task"
    lines = [
        f"run: {config.name}",
        f"input: {len(files)} {config.input.format} file(s) under {folder}",
        f"output: {layout.root} ({'exists: the run resumes or is refused' if layout.root.exists() else 'new'})",
        f"executor: {where}; {executor.tasks} tasks, {executor.workers} at a time; {per_task}",
        f"passes: {len(passes)}",
    ]
    for number, plan in enumerate(passes, start=1):
        kind = "documents" if plan.documents else "aggregation"
        # Without share_files, datatrove gives each input file to one task: the rest idle in the first pass.
        tasks = min(plan.tasks, len(files)) if number == 1 and not config.input.share_files else plan.tasks
        lines.append(f"  {number}. {plan.name} ({kind}): {plan.tasks} task(s)"
                     + (f", {tasks} with input files" if tasks != plan.tasks else ""))  # fmt: skip
        lines.append(f"     steps: {', '.join(plan.labels)}")
        lines.append(f"     logs: {plan.logging_dir}")
    return "\n".join(lines)
