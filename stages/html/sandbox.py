"""Running an extractor in a child process, so a page that makes it hang can be stopped.

A Python-level alarm cannot interrupt an extractor busy in C or C++ (resiliparse takes minutes on a
page of 100,000 nested tags, and returns to Python only at the end), so the time limit is enforced
from outside: the parent sends each page to a long-lived child over a pipe and kills the child when
the answer is late. subprocess rather than multiprocessing, because datatrove's local executor runs
tasks in daemonic processes, which multiprocessing forbids to have children.

Protocol, both ways: a 1-byte status (0 ok, 1 error, 2 no text) and a 4-byte length, then UTF-8.
"""

from __future__ import annotations

import os
import select
import struct
import subprocess
import sys

_HEADER = struct.Struct("<BI")
OK, ERROR, EMPTY = 0, 1, 2


class ExtractionTimeout(Exception):
    pass


class ExtractionFailed(Exception):
    """The extractor raised in the child; the message carries its error type and message."""


READY = b"R"
STARTUP_LIMIT_S = 120


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


class ExtractorProcess:
    def __init__(self, extractor: str, time_limit_s: float):
        self.extractor = extractor
        self.time_limit_s = time_limit_s
        self._child: subprocess.Popen | None = None

    def _start(self) -> subprocess.Popen:
        environment = dict(
            os.environ, PYTHONPATH=os.pathsep.join(filter(None, [_root(), os.environ.get("PYTHONPATH")]))
        )
        child = subprocess.Popen(
            # -c, not -m: running the module as __main__ would import it twice (stages.html imports it)
            [sys.executable, "-c", f"from stages.html.sandbox import _serve; _serve({self.extractor!r})"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=environment,
        )
        # Start-up (importing the extractor) is not the page's time: wait for the child's ready byte first,
        # or a busy machine starting many workers at once would time out the first page of each.
        ready, _, _ = select.select([child.stdout], [], [], STARTUP_LIMIT_S)
        if not ready or child.stdout.read(1) != READY:
            child.kill()
            child.wait()
            raise ExtractionFailed(f"extractor process did not start within {STARTUP_LIMIT_S} s")
        return child

    def extract(self, html: str) -> str | None:
        if self._child is None or self._child.poll() is not None:
            self._child = self._start()
        payload = _encode(html)
        try:
            self._child.stdin.write(_HEADER.pack(OK, len(payload)) + payload)
            self._child.stdin.flush()
            status, body = self._read_answer()
        except ExtractionTimeout:
            self.close()
            raise
        except (BrokenPipeError, EOFError) as error:  # the child died (out of memory, say)
            self.close()
            raise ExtractionFailed(f"extractor process exited ({type(error).__name__})") from None
        if status == ERROR:
            raise ExtractionFailed(body)
        return None if status == EMPTY else body

    def _read_answer(self) -> tuple[int, str]:
        header = self._read_exactly(_HEADER.size, first=True)
        status, length = _HEADER.unpack(header)
        return status, self._read_exactly(length).decode("utf-8", "surrogatepass")

    def _read_exactly(self, size: int, first: bool = False) -> bytes:
        stream = self._child.stdout
        if first:  # the answer's first byte is what the time limit waits for
            ready, _, _ = select.select([stream], [], [], self.time_limit_s)
            if not ready:
                raise ExtractionTimeout(f"extraction took longer than {self.time_limit_s:g} s")
        data = stream.read(size)
        if len(data) < size:
            raise EOFError
        return data

    def close(self) -> None:
        if self._child is not None:
            self._child.kill()
            self._child.wait()
            for stream in (self._child.stdin, self._child.stdout):
                stream.close()
            self._child = None


def _root() -> str:
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _serve(extractor: str) -> None:
    from stages.html.extractors import EXTRACTORS

    extract = EXTRACTORS[extractor]
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    sink.write(READY)
    sink.flush()
    while True:
        header = source.read(_HEADER.size)
        if len(header) < _HEADER.size:
            return
        _, length = _HEADER.unpack(header)
        html = source.read(length).decode("utf-8", "surrogatepass")
        try:
            text = extract(html)
            status, body = (OK, _encode(text)) if text else (EMPTY, b"")
        except Exception as error:  # noqa: BLE001 - reported to the parent, which quarantines the page
            status, body = ERROR, _encode(f"{type(error).__name__}: {str(error)[:300]}")
        sink.write(_HEADER.pack(status, len(body)) + body)
        sink.flush()
