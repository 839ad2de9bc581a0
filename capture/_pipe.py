"""The pipe between the proxy and its writer process: length-prefixed frames (pickled by
`amber.capture._process`, the one module allowed to unpickle, which hands the reader its
`decode`).

`FrameSender` is the proxy's end, used from mitmproxy's event loop: it never blocks the loop
(frames that do not fit wait in a backlog the loop drains when the pipe is writable) and
needs no thread. `FrameReader` is the writer's end, read like a queue.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import queue
import select
import struct
import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["FrameReader", "FrameSender"]

_FRAME = struct.Struct("<I")  # payload length; 0 is the stop frame
_PIPE_SIZE = 1 << 20
_F_SETPIPE_SZ = 1031  # Linux fcntl; elsewhere the default pipe size is kept


class FrameReader:
    """The child's end: `get(timeout)` like a queue; None at the stop frame or at EOF."""

    def __init__(self, fd: int, decode: Callable[[memoryview], Any]) -> None:
        self._fd = fd
        self._decode = decode
        self._buf = bytearray()
        self._eof = False

    def _frame(self) -> tuple[bool, Any]:
        buf = self._buf
        if len(buf) < 4:
            return False, None
        (n,) = _FRAME.unpack_from(buf)
        if n == 0:
            del buf[:4]
            return True, None
        if len(buf) < 4 + n:
            return False, None
        item = self._decode(memoryview(buf)[4 : 4 + n])
        del buf[: 4 + n]
        return True, item

    def get(self, timeout: float | None = None) -> Any:
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            ready, item = self._frame()
            if ready:
                return item
            if self._eof:  # the parent went away: finish what was received
                return None
            wait = None if end is None else max(0.0, end - time.monotonic())
            r, _, _ = select.select([self._fd], [], [], wait)
            if not r:
                raise queue.Empty
            chunk = os.read(self._fd, _PIPE_SIZE)
            if chunk:
                self._buf += chunk
            else:
                self._eof = True


class FrameSender:
    """The parent's end, used from mitmproxy's event loop: frames collect for a few
    milliseconds and go into a non-blocking pipe in one write (fewer system calls, fewer
    wake-ups of the writer process); what does not fit waits in a backlog drained by the
    loop when the pipe is writable. Without a running loop (tests, shutdown) every frame is
    written at once, blocking if need be."""

    def __init__(self, fd: int, delay: float = 0.005, batch_bytes: int = 256 * 1024) -> None:
        self._fd = fd
        os.set_blocking(fd, False)
        with contextlib.suppress(OSError):
            import fcntl

            fcntl.fcntl(fd, _F_SETPIPE_SZ, _PIPE_SIZE)
        self._delay = delay
        self._batch_bytes = batch_bytes
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._timer: asyncio.TimerHandle | None = None
        self._backlog: collections.deque[memoryview] = collections.deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.RLock()
        self.broken = False

    def send(self, payload: bytes) -> None:
        with self._lock:
            if self.broken:  # the process it was for is gone: nothing to hold it for
                return
            self._pending.append(_FRAME.pack(len(payload)))
            self._pending.append(payload)
            self._pending_bytes += 4 + len(payload)
            if self._pending_bytes >= self._batch_bytes:
                self._flush()
            elif self._timer is None:
                try:
                    loop = asyncio.get_running_loop()
                except RuntimeError:
                    self._flush()
                    return
                self._timer = loop.call_later(self._delay, self._flush)

    def _flush(self) -> None:
        """Hand the collected frames to the pipe (or to the backlog behind it)."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if not self._pending:
                return
            data = b"".join(self._pending)
            self._pending.clear()
            self._pending_bytes = 0
            if self._backlog:
                self._backlog.append(memoryview(data))
                return
            n = self._write(data)
            if n < len(data):
                self._backlog.append(memoryview(data)[n:])
                self._arm()

    def _write(self, data: bytes | memoryview) -> int:
        if self.broken:
            return len(data)  # the child is gone; the in-flight count reports the loss
        try:
            return os.write(self._fd, data)
        except BlockingIOError:
            return 0
        except OSError:  # EPIPE: the writer process died
            self.broken = True
            self._backlog.clear()
            return len(data)

    def _pump(self) -> bool:
        """Write from the backlog until it is empty (True) or the pipe is full (False)."""
        backlog = self._backlog
        while backlog:
            head = backlog[0]
            n = self._write(head)
            if n < len(head):
                backlog[0] = head[n:]
                return False
            backlog.popleft()
        return True

    def _arm(self) -> None:
        if self._loop is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop in this thread (tests, shutdown): block
            self._drain(30.0)
            return
        loop.add_writer(self._fd, self._on_writable)
        self._loop = loop

    def _on_writable(self) -> None:
        with self._lock:
            if self._pump() and self._loop is not None:
                self._loop.remove_writer(self._fd)
                self._loop = None

    def drain(self, timeout: float = 30.0) -> bool:
        """Block until everything sent is in the pipe (for shutdown); False on timeout."""
        with self._lock:
            return self._drain(timeout)

    def _drain(self, timeout: float) -> bool:
        self._flush()
        if self._loop is not None:
            with contextlib.suppress(Exception):
                self._loop.remove_writer(self._fd)
            self._loop = None
        end = time.monotonic() + timeout
        while not self._pump():
            left = end - time.monotonic()
            if left <= 0:
                return False
            select.select([], [self._fd], [], min(left, 0.1))
        return True

    def close(self, then: Callable[[], None]) -> None:
        """Write nothing more (what is still buffered was for a process that is gone), then
        call `then` (which closes the pipe). When the event loop watches the pipe, both
        happen on the loop's thread, so the loop never watches a closed or reused fd."""
        with self._lock:
            self.broken = True
            self._pending.clear()
            self._pending_bytes = 0
            self._backlog.clear()
            loop, self._loop = self._loop, None
        if loop is not None:

            def on_loop() -> None:
                loop.remove_writer(self._fd)
                then()

            with contextlib.suppress(RuntimeError):  # the loop is closed: nothing watches
                loop.call_soon_threadsafe(on_loop)
                return
        then()
