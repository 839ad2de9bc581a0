"""The parent's end of the fork server (`python -m amber.testing._worker --serve`).

A verify, shrink or widen run in the app's own interpreter (`Reproducer(app_python=...)`)
is a fresh process, so that nothing one build configured carries over to the next. Started
anew per run, that process pays the interpreter's start-up and the app's imports every time
(1-3 s for Datasette or Django; a shrink makes 10-40 runs). The fork server pays them once:
it imports the app's module in the runs' environment, then forks a child per run, which
starts from that state, builds the app and answers (see `amber.testing._worker`). Each run is
still a fresh process as far as the app can tell: the build (the factory call), the
database connections and whatever the request does happen in the child and die with it.

The server declines (and runs fall back to a fresh child each) where a fork would not give
that: an import that failed, started a thread or opened the run's database; a platform
without `fork` (only Linux is used); `AMBER_VERIFY_FORK=0` in the environment. A run whose
environment differs from the server's (the SQL trace's snapshot copy) goes to a fresh child.

Nothing here touches disk: requests and raw answers cross pipes only, and the answer is
sanitized by the caller as before.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import sys
import time
from typing import Any

from amber.testing._worker import PROTOCOL

__all__ = ["ForkServer", "forking_supported"]


def forking_supported() -> bool:
    """Whether runs may go to a fork server here (Linux, and not turned off)."""
    return sys.platform.startswith("linux") and os.environ.get("AMBER_VERIFY_FORK", "1") != "0"


class ForkServer:
    """One fork server in the app's interpreter `python`, for runs with environment
    `env`. `start` says whether it is serving; `run` sends one request."""

    def __init__(self, python: str, env: dict[str, str], app: str, db: str | None) -> None:
        self.python = python
        self.env = dict(env)
        self._prelude = {"v": PROTOCOL, "env": self.env, "app": app, "db": db}
        self._proc: subprocess.Popen[bytes] | None = None
        self._buffer = b""
        self.lost = False
        """The server went away on its own (killed, crashed): not a run's timeout."""
        self.refused: str | None = None
        """Why the server declined (or could not start): runs go to fresh children."""

    def start(self, timeout: float) -> bool:
        """Start the server and wait for its prelude (`timeout` seconds at most)."""
        try:
            self._proc = subprocess.Popen(
                [self.python, "-m", "amber.testing._worker", "--serve"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,  # each run's own output comes with its answer
                start_new_session=True,  # one process group: a hung run is killed with it
                bufsize=0,
            )
        except OSError as e:
            self.refused = f"cannot start {self.python} ({e.strerror or e})"
            return False
        ready = self._exchange(self._prelude, timeout)
        if ready is None or ready.get("kind") != "ready":
            self.refused = str((ready or {}).get("why") or "no answer to the prelude")
            self.close()
            return False
        return True

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def run(self, request: dict[str, Any], timeout: float) -> dict[str, Any] | None:
        """The answer to `request`, or None when it took longer than `timeout` seconds or
        the server went away (`lost`); the server and the run are then killed, and a new
        server starts on the next run."""
        answer = self._exchange(request, timeout)
        if answer is None:
            self.close()
        return answer

    def _exchange(self, doc: dict[str, Any], timeout: float) -> dict[str, Any] | None:
        proc = self._proc
        if proc is None or proc.stdin is None or proc.stdout is None:
            return None
        try:
            proc.stdin.write(json.dumps(doc).encode("utf-8") + b"\n")
            proc.stdin.flush()
        except OSError:
            self.lost = True
            return None
        line = self._read_line(proc, time.monotonic() + timeout)
        if line is None:
            return None
        try:
            answer: dict[str, Any] = json.loads(line)
        except ValueError:
            self.lost = True
            return None
        return answer

    def _read_line(self, proc: subprocess.Popen[bytes], deadline: float) -> bytes | None:
        assert proc.stdout is not None
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    return None
                data = os.read(proc.stdout.fileno(), 1 << 20)
                if not data:
                    self.lost = True  # the server exited
                    return None
                self._buffer += data
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def close(self) -> None:
        """Stop the server and any run it forked (the whole process group)."""
        proc, self._proc = self._proc, None
        self._buffer = b""
        if proc is None:
            return
        with contextlib.suppress(OSError):
            if proc.stdin is not None:
                proc.stdin.close()
        if proc.poll() is None:  # (an exited one's pid may be another's by now)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
