"""Where the shared evaluation data lives: `$CORPUS_PREP_DATA`, else `shared/data` beside the checkout.

Evaluations, benchmarks and tests read real labelled data from there when it exists and skip, saying
so, when it does not; nothing in a run depends on it.
"""

from __future__ import annotations

import os
from pathlib import Path


def shared_data_folder() -> Path:
    default = Path(__file__).resolve().parents[2] / "shared" / "data"
    return Path(os.environ.get("CORPUS_PREP_DATA", default))
