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


def _kill_ray_worker(pid: int) -> bool:
    """Runs on the stuck task's node: SIGKILL its Ray actor process (checked to be a Ray worker first, in
    case the pid was reused)."""
    import signal

    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            if b"ray" not in f.read():
                return False
        os.kill(pid, signal.SIGKILL)
        return True
    except OSError:
        return False


def _stop(problem) -> None:
    """Kill the actor that runs the task, from a zero-CPU Ray task pinned to its node (Ray gives every node
    a `node:<ip>` resource): datatrove then sees the actor die and moves on."""
    import ray

    node = problem.record.get("node_ip")
    options = {"num_cpus": 0, **({"resources": {f"node:{node}": 0.001}} if node else {})}
    try:
        ray.get(ray.remote(**options)(_kill_ray_worker).remote(problem.record["actor_pid"]), timeout=60)
    except Exception:  # the node may be gone too; the pass fails either way
        pass


def run_watched(executor, plan, settings) -> None:
    """executor.run() in a thread, watched: a task that stops beating or overruns is stopped and fails the
    pass (RayPassFailed names it); errors of run() propagate."""
    watchdog = Watchdog(plan.logging_dir, settings.heartbeat_timeout_s, settings.time_limit_s)
    outcome: dict[str, BaseException] = {}

    def target() -> None:
        try:
            executor.run()
        except BaseException as error:  # re-raised in the caller's thread
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True, name=f"ray-pass-{plan.name}")
    thread.start()
    failure, give_up_at, all_completed_at = None, None, None
    while thread.is_alive():
        thread.join(1.0)
        if failure is None:
            problem = watchdog.problem()
            if problem is not None:
                failure = problem.reason
                watchdog.stop(problem)
                _stop(problem)
                give_up_at = time.monotonic() + RELEASE_GRACE_SECONDS  # for datatrove to notice and return
            elif not plan.incomplete_tasks():
                all_completed_at = all_completed_at or time.monotonic()
                if time.monotonic() - all_completed_at > RELEASE_GRACE_SECONDS:
                    failure = f"every task completed but Ray did not release the workers in {RELEASE_GRACE_SECONDS} s"
                    break
        elif time.monotonic() > give_up_at:
            break  # datatrove did not return after the actor died: report rather than wait
    if failure is not None:
        raise RayPassFailed(failure)
    if "error" in outcome:
        raise outcome["error"]
