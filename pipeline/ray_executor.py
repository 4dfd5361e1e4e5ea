"""Running a pass on Ray through datatrove's RayPipelineExecutor.

Ray must be initialised first (datatrove does not): on the cluster named by `executor.address`, or a
local one started for the run with `workers` CPUs. Ray waits forever for resources no node has, so a
request larger than the cluster is refused here with the numbers. datatrove logs a failed task and
returns normally; the runner checks the completion markers and fails the run (see runner._run_pass).
A dead or stuck worker would make datatrove wait forever, so every pass runs under a `Watchdog`
(pipeline/watchdog.py): `run_watched` ends the pass with the task's name instead.
"""

from __future__ import annotations

import os
import threading
import time

from pipeline.watchdog import Heartbeat, Watchdog

GIB = 1024**3
# After every task's completion marker exists, datatrove only removes its actors; longer than this means
# a worker that does not exit, and it would hold its CPU from the next pass's tasks.
RELEASE_GRACE_SECONDS = 120


class RayResourcesError(RuntimeError):
    pass


class RayPassFailed(RuntimeError):
    """The watchdog stopped a pass; the message names the task."""


def ensure_ray(settings) -> None:
    try:
        import ray
    except ImportError:
        raise RayResourcesError("executor kind ray needs Ray: pip install 'corpus-prep[ray]' (or ray>=2.40)") from None

    if ray.is_initialized():
        return
    if settings.address:
        ray.init(address=settings.address, log_to_driver=False)
    else:
        ray.init(num_cpus=settings.workers * settings.cpus_per_task, include_dashboard=False, log_to_driver=False)


def ray_executor(plan, settings):
    ensure_ray(settings)
    import ray
    from datatrove.executor import RayPipelineExecutor

    resources = ray.cluster_resources()
    needed_memory = settings.mem_per_cpu_gb * settings.cpus_per_task * GIB
    if resources.get("CPU", 0) < settings.cpus_per_task or resources.get("memory", 0) < needed_memory:
        raise RayResourcesError(
            f"a task asks for {settings.cpus_per_task} CPU(s) and {needed_memory / GIB:.1f} GiB, the Ray cluster "
            f"has {resources.get('CPU', 0):g} CPU(s) and {resources.get('memory', 0) / GIB:.1f} GiB in all: "
            "lower executor.cpus_per_task or executor.mem_per_cpu_gb (Ray would wait forever)"
        )
    heartbeat = Heartbeat(plan.logging_dir, Watchdog.interval_for(settings.heartbeat_timeout_s))
    return RayPipelineExecutor(
        [heartbeat, *plan.steps],
        tasks=plan.tasks,
        workers=min(settings.workers, plan.tasks),
        logging_dir=plan.logging_dir,
        cpus_per_task=settings.cpus_per_task,
        mem_per_cpu_gb=settings.mem_per_cpu_gb,
    )


def run_watched(executor, plan, settings) -> None:
    """executor.run() in a thread, watched: a task that stops beating or overruns fails the pass (and Ray,
    which holds the stuck worker, is shut down so the process can exit); errors of run() propagate."""
    import ray

    watchdog = Watchdog(plan.logging_dir, settings.heartbeat_timeout_s, settings.time_limit_s)
    outcome: dict[str, BaseException] = {}

    def target() -> None:
        try:
            executor.run()
        except BaseException as error:  # re-raised in the caller's thread
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True, name=f"ray-pass-{plan.name}")
    thread.start()
    all_completed_at = None
    while thread.is_alive():
        thread.join(1.0)
        problem = watchdog.problem()
        completions = os.path.join(plan.logging_dir, "completions")
        if problem is None and len(os.listdir(completions) if os.path.isdir(completions) else ()) >= plan.tasks:
            all_completed_at = all_completed_at or time.monotonic()
            if time.monotonic() - all_completed_at > RELEASE_GRACE_SECONDS:
                problem = f"every task completed but Ray did not release the workers within {RELEASE_GRACE_SECONDS} s"
        if problem is not None and thread.is_alive():
            ray.shutdown()  # ends the actors and their pool children; the run can exit
            raise RayPassFailed(problem)
    if "error" in outcome:
        raise outcome["error"]
