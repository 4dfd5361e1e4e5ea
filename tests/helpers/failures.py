"""Making every task of a run's first pass fail, and checking the run says which tasks and where."""

import re
from pathlib import Path

import pytest

from pipeline.layout import RunLayout
from pipeline.runner import RunError, prepare_output, run


def assert_first_pass_failure_is_named(config) -> list[Path]:
    """Runs `config` with a file where the first pass writes its documents; returns the named task logs."""
    out = Path(config.output.folder)
    prepare_output(config, RunLayout(out), overwrite=False)
    (out / "work").write_text("not a folder")  # every task of the first pass fails to write
    with pytest.raises(RunError) as info:
        run(config, show_progress=False)
    message = str(info.value)
    assert "pass 1-documents" in message and "did not complete" in message
    logs = [Path(log.rstrip(",;")) for log in re.findall(r"\S+/task_\d{5}\.log", message)]
    assert logs and all(log.exists() for log in logs)
    return logs
