"""The corpus-prep engine: config, planner, runner, accounting, reports and the command line."""

import os

# loguru's default `diagnose` prints the values of local variables in tracebacks, which would put
# document text (and the personal data in it) into task logs. Set before datatrove imports loguru.
os.environ.setdefault("LOGURU_DIAGNOSE", "NO")
