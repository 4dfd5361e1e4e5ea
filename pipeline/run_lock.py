"""One run at a time per output folder.

Two runs writing one folder interleave their tasks' files and completion markers: the folder can end
with a corrupt shard that the markers then protect from being redone. The lock is an exclusive
`flock` (filelock) on `<folder>/run.lock`, held from preparing the folder to the report; a second run
is refused at once, told which host and process hold it. `flock` works on local disks and on NFSv4;
the Slurm path holds it while it prepares the folder and submits, not while the jobs run.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

LOCK_NAME = "run.lock"
OWNER_NAME = "run.lock.owner"  # beside the lock: filelock may truncate the lock file when it opens it


class FolderLocked(RuntimeError):
    """Another run holds the output folder."""


@contextmanager
def locked_output_folder(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(folder / LOCK_NAME, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise FolderLocked(
            f"{folder} is in use by another run ({_owner(folder)}). Wait for it to finish, or set "
            "output.folder to another folder; if that run is gone, rerun: its lock went with it."
        ) from None
    owner = folder / OWNER_NAME
    try:
        owner.write_text(json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "since": time.time()}))
        yield
    finally:
        owner.unlink(missing_ok=True)
        lock.release()


def _owner(folder: Path) -> str:
    try:
        owner = json.loads((folder / OWNER_NAME).read_text())
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(owner["since"]))
        return f"host {owner['host']}, pid {owner['pid']}, since {started}"
    except (OSError, ValueError, KeyError):
        return "its host and pid not recorded yet"


def is_lock_file(path: Path) -> bool:
    return path.name in (LOCK_NAME, OWNER_NAME)
