"""`ProcessWriter`: the capture writer in a child process, off mitmproxy's interpreter.

mitmproxy runs its event loop on one core. A writer *thread* in the same process competes
with that loop for the GIL, so every microsecond spent sanitizing is a microsecond the proxy
does not forward traffic (measured: 0.62-0.67 of plain mitmdump's throughput). Here the hooks
only hand a `RawFlow` (bytes and tuples, no decoding) to a multiprocessing queue, whose
feeder thread pickles it; decoding, sanitizing and storing happen in a spawned child that
runs the same `Writer` loop.

Bounds: the parent counts items and bytes in flight (submitted minus what the child reports
done) and drops, counting, above `max_items`/`max_bytes`, exactly like the thread writer.
The key reaches the child through the spawn pipe, never through the environment or disk.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import queue
import signal
import threading
import time
from typing import Any

from amber.capture._writer import CaptureStats
from amber.capture._writer import RawFlow

__all__ = ["ProcessWriter"]

log = logging.getLogger("amber.capture")

# shared counters the child writes and the parent reads
_DONE_ITEMS, _DONE_BYTES, _STORED, _DROP_SANITIZE, _DROP_STORE, _STORE_FAILURES = range(6)


def _child_main(source: Any, counters: Any, ready: Any, errors: Any, store_url: str,
                config_path: str | None, key: bytes, body_cap: int, batch_size: int) -> None:
    """The writer process: build the pipeline and store, then drain `source` until None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    # Lower priority than the proxy: when the cores are busy, forwarding traffic wins and
    # the bounded queue absorbs the difference.
    with contextlib.suppress(OSError):
        os.nice(10)
    from amber._config import find_config
    from amber._store import Store
    from amber.capture._pipeline import Pipeline
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
    """The `Writer` interface (`start`, `submit`, `flush`, `stop`) over a child process."""

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
        self._queue = ctx.Queue()
        self._counters = ctx.RawArray("q", 6)
        self._ready = ctx.Event()
        self._errors = ctx.Queue()
        self._proc = ctx.Process(
            target=_child_main, name="amber-writer", daemon=True,
            args=(self._queue, self._counters, self._ready, self._errors, store_url,
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
                    or in_bytes + size > self.max_bytes or not self._proc.is_alive()):
                self.stats.dropped_queue_full += 1
                return False
            self._submitted_items += 1
            self._submitted_bytes += size
            self.stats.queued += 1
        self._queue.put(raw)
        return True

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until the child has handled everything submitted so far."""
        end = time.monotonic() + timeout
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
            self._queue.put(None)
            self._proc.join(timeout=timeout)
            if self._proc.is_alive():
                log.error("amber writer process did not finish in %.0fs; stopping it", timeout)
                self._proc.terminate()
                self._proc.join(timeout=5)
        self._sync()
        lost = self.pending
        if lost > 0:
            self.stats.dropped_store += lost
        self._queue.close()
        self._queue.join_thread()
