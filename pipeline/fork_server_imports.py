"""Imported only by multiprocess's fork server (see pipeline.worker_imports): imports each module the
run named and, for a stage's options class, runs its `import_libraries()`, so that the pool workers
forked from the server start with them.

A failure here is ignored, and must be: an exception would stop the fork server, and with it every
pool. A worker then imports the module itself, in its task, where an error reaches the task's log.
"""

import importlib
import os

from pipeline.worker_imports import STAGES_VARIABLE

for _name in os.environ.get(STAGES_VARIABLE, "").split():
    _module, _, _class = _name.partition(":")
    try:
        _imported = importlib.import_module(_module)
        if _class:
            getattr(_imported, _class).import_libraries()
    except Exception:  # noqa: BLE001, S110 - see the module docstring
        pass
