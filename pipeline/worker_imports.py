"""Pool workers that start with their libraries already imported.

datatrove's local executor starts a new pool of worker processes for every pass, forked from
multiprocess's fork server, and each worker imports what its steps need before its first document:
presidio and spaCy, the MDS writer and torch under it. On a 2-core machine that is 2-4 s per worker
and pass, in every pass. The fork server lives as long as the run, so the run starts it first thing,
naming the run's stages: the server imports their modules and libraries (`StageOptions.
import_libraries`) while the main process plans, and every worker of every pass forks with them loaded.
"""

from __future__ import annotations

import os

STAGES_VARIABLE = "CORPUS_PREP_WORKER_STAGES"  # read by pipeline.fork_server_imports in the fork server
ALWAYS = ("pipeline.plan",)  # the readers, writers and progress steps every pass has


def start_fork_server(stages: list) -> None:
    """Start multiprocess's fork server, importing what `stages` (StageOptions) run, in the background."""
    import multiprocess.forkserver

    names = [*ALWAYS, *(f"{type(stage).__module__}:{type(stage).__qualname__}" for stage in stages)]
    previous = os.environ.get(STAGES_VARIABLE)
    os.environ[STAGES_VARIABLE] = " ".join(dict.fromkeys(names))  # the server inherits it when it starts
    try:
        multiprocess.forkserver.set_forkserver_preload(["pipeline.fork_server_imports"])
        multiprocess.forkserver.ensure_running()
    finally:
        if previous is None:
            del os.environ[STAGES_VARIABLE]
        else:
            os.environ[STAGES_VARIABLE] = previous
