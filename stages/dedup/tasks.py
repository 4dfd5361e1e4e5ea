"""How many tasks a dedup find pass runs: its unit of memory.

A find task holds one shard of the rows (about 1/tasks of them), so the default grows with the
corpus: one task per `INPUT_BYTES_PER_TASK` of input (about 25k documents of 1.3 KB of JSONL; fewer for
HTML, which is mostly markup). A corpus under that size gets one task, and minhash_dedup then runs
its whole find in one pass (a pass costs seconds of fixed time; parallelism would not repay it). What
is found does not depend on the count (see partitioned.py); only memory per task and parallelism do.
"""

from __future__ import annotations

import math

from stages.base import StageContext

INPUT_BYTES_PER_TASK = 32 << 20
MAX_TASKS = 4096


def find_tasks(context: StageContext, configured: int | None) -> int:
    if configured is not None:
        return configured
    by_size = math.ceil(context.input_bytes / INPUT_BYTES_PER_TASK)
    return max(1, min(MAX_TASKS, by_size))
