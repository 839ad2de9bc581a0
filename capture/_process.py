"""`ProcessWriter`: the capture writer in a child process, off mitmproxy's interpreter.

mitmproxy runs its event loop on one core. A writer *thread* in the same process competes
with that loop for the GIL, so every microsecond spent sanitizing is a microsecond the proxy
does not forward traffic (measured: 0.62-0.67 of plain mitmdump's throughput). Here the hooks
only hand a `RawFlow` (bytes and tuples, no decoding) to a child process; decoding,
sanitizing and storing happen in that spawned child, which runs the same `Writer` loop.

The hand-off has no thread either (a `multiprocessing.Queue` would add a feeder thread that
wakes up and takes the GIL for every item): the hook pickles the flow and writes one
length-prefixed frame to a non-blocking pipe (enlarged to 1 MiB where the OS allows). When
the pipe is full, the rest of the frame waits in a backlog that the event loop drains when
the pipe becomes writable (`loop.add_writer`), so the proxy never blocks on the writer.

Bounds: the parent counts items and bytes in flight (submitted minus what the child reports
done: pipe, backlog and the child's batch alike) and drops, counting, above
`max_items`/`max_bytes`, exactly like the thread writer. The key reaches the child through
the spawn pipe, never through the environment or disk.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import multiprocessing
import os
import pickle
import queue
import select
import signal
import struct
import threading
import time
from collections.abc import Callable
from typing import Any

from amber.capture._writer import CaptureStats
from amber.capture._writer import RawFlow

__all__ = ["ProcessWriter"]

log = logging.getLogger("amber.capture")

_FRAME = struct.Struct("<I")  # payload length; 0 is the stop frame
_PIPE_SIZE = 1 << 20
_F_SETPIPE_SZ = 1031  # Linux fcntl; elsewhere the default pipe size is kept


class _FrameReader:
    """The child's end: `get(timeout)` like a queue; None at the stop frame or at EOF."""

    def __init__(self, fd: int, make: Callable[[Any], Any] = lambda x: x) -> None:
        self._fd = fd
        self._make = make
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
        item = self._make(pickle.loads(memoryview(buf)[4:4 + n]))
        del buf[:4 + n]
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


class _FrameSender:
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


# shared counters the child writes and the parent reads
_DONE_ITEMS, _DONE_BYTES, _STORED, _DROP_SANITIZE, _DROP_STORE, _STORE_FAILURES = range(6)


def _child_main(conn: Any, counters: Any, ready: Any, errors: Any, store_url: str,
                config_path: str | None, key: bytes, body_cap: int, batch_size: int) -> None:
    """The writer process: build the pipeline and store, then drain `source` until None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    # Lower priority than the proxy: when the cores are busy, forwarding traffic wins and
    # the bounded queue absorbs the difference.
    with contextlib.suppress(OSError):
        os.nice(10)
    from amber._config import find_config
    from amber._ingest import Pipeline
    from amber._store import Store
    from amber.capture._writer import Writer

    try:
        config = find_config(config_path)
        pipeline = Pipeline.from_config(config, key, body_cap=body_cap)
        store = Store.open(store_url)
    except Exception as e:
        errors.put(f"{type(e).__name__}: {e}")
        ready.set()
        return

    def release(size: int) -> None:
        counters[_DONE_ITEMS] += 1
        counters[_DONE_BYTES] += size

    def publish(stats: CaptureStats) -> None:
        counters[_STORED] = stats.stored
        counters[_DROP_SANITIZE] = stats.dropped_sanitize
        counters[_DROP_STORE] = stats.dropped_store
        counters[_STORE_FAILURES] = stats.store_failures

    source = _FrameReader(conn.fileno(), RawFlow._make)
    stats = CaptureStats()
    writer = Writer(store, pipeline, max_items=2**62, max_bytes=2**62, batch_size=batch_size,
                    stats=stats, source=source, on_release=release, on_flush=publish)
    errors.put("")  # started
    ready.set()
    try:
        writer._run()
    finally:
        publish(stats)
        store.close()


class ProcessWriter:
    """The `CaptureWriter` interface (`start`, `submit`, `flush`, `stop`) over a child
    process."""

    def __init__(
        self,
        store_url: str,
        config_path: str | None,
        key: bytes,
        body_cap: int,
        *,
        max_items: int = 10_000,
        max_bytes: int = 256 * 1024 * 1024,
        batch_size: int = 200,
        stats: CaptureStats | None = None,
    ) -> None:
        self.max_items = max_items
        self.max_bytes = max_bytes
        self.stats = stats or CaptureStats()
        ctx = multiprocessing.get_context("spawn")
        self._child_conn, self._conn = ctx.Pipe(duplex=False)
        self._sender = _FrameSender(self._conn.fileno())
        self._counters = ctx.RawArray("q", 6)
        self._ready = ctx.Event()
        self._errors = ctx.Queue()
        self._proc = ctx.Process(
            target=_child_main, name="amber-writer", daemon=True,
            args=(self._child_conn, self._counters, self._ready, self._errors, store_url,
                  config_path, key, body_cap, batch_size),
        )
        self._submitted_items = 0
        self._submitted_bytes = 0
        self._lock = threading.Lock()
        self._stopped = False

    def start(self, timeout: float = 60.0) -> None:
        """Start the child and wait until it has opened the store.

        *Raises:* `RuntimeError` with the child's error when it could not start.
        """
        self._proc.start()
        self._child_conn.close()  # the child has its own copy; EOF reaches it if we die
        if not self._ready.wait(timeout):
            self._proc.kill()
            raise RuntimeError("the amber writer process did not start")
        try:
            error = self._errors.get(timeout=timeout)
        except queue.Empty:
            error = "no word from the writer process"
        if not error:
            return
        self._proc.join(timeout=5)
        raise RuntimeError(f"the amber writer process failed: {error}")

    @property
    def pending(self) -> int:
        return self._submitted_items - int(self._counters[_DONE_ITEMS])

    def _sync(self) -> None:
        c = self._counters
        self.stats.stored = int(c[_STORED])
        self.stats.dropped_sanitize = int(c[_DROP_SANITIZE])
        self.stats.dropped_store = int(c[_DROP_STORE])
        self.stats.store_failures = int(c[_STORE_FAILURES])

    def submit(self, raw: RawFlow) -> bool:
        size = raw.size
        with self._lock:
            in_items = self._submitted_items - int(self._counters[_DONE_ITEMS])
            in_bytes = self._submitted_bytes - int(self._counters[_DONE_BYTES])
            if (self._stopped or in_items >= self.max_items
                    or in_bytes + size > self.max_bytes or self._sender.broken):
                self.stats.dropped_queue_full += 1
                return False
            self._submitted_items += 1
            self._submitted_bytes += size
            self.stats.queued += 1
            # a plain tuple pickles in half the time of the NamedTuple (no __reduce__ call)
            self._sender.send(pickle.dumps(tuple(raw), protocol=pickle.HIGHEST_PROTOCOL))
        return True

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until the child has handled everything submitted so far.

        Blocks the calling thread: call it from the event loop's thread (e.g. in `done`) or
        when no loop runs."""
        end = time.monotonic() + timeout
        with self._lock:
            self._sender.drain(timeout)
        while self.pending and time.monotonic() < end and self._proc.is_alive():
            time.sleep(0.01)
        self._sync()
        return self.pending == 0

    def stop(self, timeout: float = 30.0) -> None:
        """Stop accepting, let the child write everything buffered, and wait for it."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        if self._proc.is_alive():
            with self._lock:
                self._sender.drain(timeout)
                self._sender.send(b"")  # the stop frame
                self._sender.drain(timeout)
            self._proc.join(timeout=timeout)
            if self._proc.is_alive():
                log.error("amber writer process did not finish in %.0fs; stopping it", timeout)
                self._proc.terminate()
                self._proc.join(timeout=5)
        self._sync()
        lost = self.pending
        if lost > 0:
            self.stats.dropped_store += lost
        self._conn.close()
