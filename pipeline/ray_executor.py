"""Running a pass on Ray through datatrove's RayPipelineExecutor.

Ray must be initialised first (datatrove does not): on the cluster named by `executor.address`, or a
local one started for the run with `workers` CPUs. Ray waits forever for resources no node has, so a
request larger than the cluster is refused here with the numbers. datatrove logs a failed task and
returns normally; the runner checks the completion markers and fails the run (see runner._run_pass).
"""

from __future__ import annotations

GIB = 1024**3


class RayResourcesError(RuntimeError):
    pass


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
    return RayPipelineExecutor(
        plan.steps,
        tasks=plan.tasks,
        workers=min(settings.workers, plan.tasks),
        logging_dir=plan.logging_dir,
        cpus_per_task=settings.cpus_per_task,
        mem_per_cpu_gb=settings.mem_per_cpu_gb,
    )
