"""`ProcessWriter`: the capture writer in a child process, off mitmproxy's interpreter.

mitmproxy runs its event loop on one core. A writer *thread* in the same process competes
with that loop for the GIL, so every microsecond spent sanitizing is a microsecond the proxy
does not forward traffic (measured: 0.62-0.67 of plain mitmdump's throughput). Here the hooks
only hand a `RawFlow` (bytes and tuples, no decoding) to a child process; decoding,
sanitizing and storing happen in that child, which runs the same `Writer` loop. Children
are forked from a fork server (a clean interpreter started once, with amber imported), never
from the proxy itself, whose threads and event loop a fork would copy.

The hand-off has no thread either (a `multiprocessing.Queue` would add a feeder thread that
wakes up and takes the GIL for every item): the hook pickles the flow and writes one
length-prefixed frame to a non-blocking pipe (enlarged to 1 MiB where the OS allows). When
the pipe is full, the rest of the frame waits in a backlog that the event loop drains when
the pipe becomes writable (`loop.add_writer`), so the proxy never blocks on the writer.

Bounds: the parent counts items and bytes in flight (submitted minus what the child reports
done: pipe, backlog and the child's batch alike) and drops, counting, above
`max_items`/`max_bytes`, exactly like the thread writer. The key reaches the child through
the pipe that starts the child, never through the environment or disk.

Supervision: a watchdog thread in the proxy waits on the child's sentinel, so it notices a
dead child at once (never on the event loop), and every 0.25 s copies the child's counters
into the stats. When the child dies it logs the cause once (exit code or signal), counts what
was in flight under `writer_restart` (exchanges the child stored just before it died are
looked up in the store by id, so none is counted twice), and starts a new child after a
back-off (0.1 s, doubling up to 5 s while children keep dying young). Flows offered while no
child runs are dropped and counted under `writer_restart` too.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import pickle
import signal
import threading
import time
from collections.abc import Sequence
from multiprocessing.connection import wait as wait_ready
from typing import Any

from amber._model import Exchange
from amber._store import Store
from amber.capture._pipe import FrameReader
from amber.capture._pipe import FrameSender
from amber.capture._stats import CaptureStats
from amber.capture._stats import DropReason
from amber.capture._stats import Outcome
from amber.capture._writer import HANG_AFTER
from amber.capture._writer import RawFlow

__all__ = ["ProcessWriter"]

log = logging.getLogger("amber.capture")

_SYNC_INTERVAL = 0.25  # seconds between copies of the child's counters into the stats
_RESTART_FIRST = 0.1  # back-off before restarting a dead child, doubled up to _RESTART_MAX
_RESTART_MAX = 5.0
_YOUNG = 30.0  # a child that dies sooner than this after its start doubles the back-off
_ID_LEN = 26  # an amber id (ULID)
# Children are forked from a fork server that has imported what they need (SQLAlchemy alone
# takes a third of a second), so a restart is quick; where there is none, spawned.
_START_METHOD = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
_PRELOAD = ["amber.capture._process", "amber._config"]


# The counters one child shares with the proxy, one int64 each, written by the child only.
# `_STORED` moves in one write per insert; `_COMMIT_TARGET` is what it will become when the
# insert in progress commits, and `_COMMIT_IDS` how many ids of that insert are in the id
# buffer: if the child dies in between, the proxy asks the store which of them made it.
# `_WRITING` is the number of the insert in progress (0 between inserts): the full queue's
# refusals during an insert that turns out hung are the store's doing.
_CHILD_DROPS: tuple[DropReason, ...] = (
    "sanitize_failed",
    "store_unavailable",
    "unstorable",
    "store_lost",
)
(
    _DONE_ITEMS,
    _DONE_BYTES,
    _STATE,
    _STORE_FAILURES,
    _STORED,
    _COMMIT_TARGET,
    _COMMIT_IDS,
    _WRITING,
) = range(8)
_DROP_AT = {reason: 8 + i for i, reason in enumerate(_CHILD_DROPS)}
_N_COUNTERS = 8 + len(_CHILD_DROPS)
_STATES: tuple[DropReason | None, ...] = (None, "store_unavailable", "store_lost")


class _CountingStore:
    """The child's store: publishes each insert's outcome in the shared counters, so that a
    proxy whose writer was killed knows exactly what was stored."""

    def __init__(self, store: Store, counters: Any, ids: Any) -> None:
        self._store = store
        self._counters = counters
        self._ids = ids
        self._inserts = 0

    def add_many(self, batch: Sequence[Exchange]) -> int:
        c = self._counters
        stored = c[_STORED]
        ids = b"".join(ex.id.encode("ascii") for ex in batch)
        fits = len(ids) == _ID_LEN * len(batch) and len(ids) <= len(self._ids)
        if fits:
            self._ids[: len(ids)] = ids
        c[_COMMIT_IDS] = len(batch) if fits else 0
        c[_COMMIT_TARGET] = stored + len(batch)
        self._inserts += 1
        c[_WRITING] = self._inserts
        try:
            n = self._store.add_many(batch)
        except BaseException:
            c[_COMMIT_TARGET] = stored
            raise
        finally:
            c[_WRITING] = 0
        c[_STORED] = stored + n
        return n

    def existing_ids(self, ids: Sequence[str]) -> set[str]:
        return self._store.existing_ids(ids)

    def found(self, n: int) -> None:
        """`n` exchanges of an insert that failed (its connection lost as it committed) are
        in the store after all: published as stored, as a successful insert would be."""
        c = self._counters
        c[_STORED] += n
        c[_COMMIT_TARGET] = c[_STORED]

    def close(self) -> None:
        self._store.close()


def _child_main(
    conn: Any,
    counters: Any,
    ids: Any,
    status: Any,
    store_url: str,
    config_path: str | None,
    key: bytes,
    body_cap: int,
    batch_size: int,
    hang_after: float,
) -> None:
    """The writer process: build the pipeline and store, then drain `source` until None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    # Lower priority than the proxy: when the cores are busy, forwarding traffic wins and
    # the bounded queue absorbs the difference.
    with contextlib.suppress(OSError):
        os.nice(10)
    from amber._config import find_config
    from amber._ingest import Pipeline
    from amber.capture._writer import Writer
    from amber.capture._writer import sqlite_file

    try:
        config = find_config(config_path)
        pipeline = Pipeline.from_config(config, key, body_cap=body_cap)
        store = Store.open(store_url)
    except Exception as e:
        status.send(f"{type(e).__name__}: {e}")
        status.close()
        return

    def release(size: int) -> None:
        counters[_DONE_ITEMS] += 1
        counters[_DONE_BYTES] += size

    def publish() -> None:
        counters[_STATE] = _STATES.index(writer.store_state)
        counters[_STORE_FAILURES] = writer.stats.store_failures
        for reason, at in _DROP_AT.items():
            counters[at] = writer.stats.dropped(reason)

    sink = _CountingStore(store, counters, ids)
    writer = Writer(
        sink,
        pipeline,
        max_items=2**62,
        max_bytes=2**62,
        batch_size=batch_size,
        hang_after=hang_after,
        source=FrameReader(conn.fileno(), _decode),
        on_release=release,
        on_progress=publish,
        on_found=sink.found,
        store_file=sqlite_file(store),
        reconnect=store.close,
    )
    status.send("")  # started
    status.close()
    try:
        writer._run()
    finally:
        publish()
        store.close()


def _decode(frame: memoryview) -> RawFlow:
    """A frame from the proxy back into its flow (the child unpickles only its parent's)."""
    return RawFlow._make(pickle.loads(frame))


def _exit_cause(code: int | None) -> str:
    if code is not None and code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


class _Child:
    """One writer process, the pipe to it and the counters it shares: replaced whole when
    the process dies. The parent side is used under `ProcessWriter._lock`."""

    def __init__(self, ctx: Any, args: tuple[Any, ...], batch_size: int) -> None:
        child_conn, self.conn = ctx.Pipe(duplex=False)
        self.sender = FrameSender(self.conn.fileno())
        self.counters = ctx.RawArray("q", _N_COUNTERS)
        self.ids = ctx.RawArray("c", _ID_LEN * batch_size)
        # The child's first word ("" when started, else its error) comes over a pipe of its
        # own: an Event and a Queue hold semaphores, and CPython 3.12 raised
        # ReentrantCallError when the garbage collector finalized one mid resource-tracker call
        self._status, status_child = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(
            target=_child_main,
            name="amber-writer",
            daemon=True,
            args=(child_conn, self.counters, self.ids, status_child, *args),
        )
        self._child_conn = child_conn
        self._status_child = status_child
        self.submitted_items = 0
        self.submitted_bytes = 0
        self.synced: dict[Outcome, int] = dict.fromkeys(("stored", *_CHILD_DROPS), 0)
        self.failures = 0  # the child's failed store writes, as last synced
        self.started_at = 0.0  # 0 until started
        self.finished = False  # its losses are settled: nothing of it is in flight any more
        self.full_insert = 0  # the insert in progress when the queue was last full...
        self.full_refused = 0  # ...and how many the full queue refused during it

    def refused_full(self) -> None:
        """The full queue refused a flow (`queue_full`): remember during which insert."""
        writing = int(self.counters[_WRITING])
        if writing != self.full_insert:
            self.full_insert, self.full_refused = writing, 0
        if writing:
            self.full_refused += 1

    def start(self, timeout: float) -> None:
        """Start the process and wait until it has opened the store.

        *Raises:* `RuntimeError` with the child's error when it could not start.
        """
        self.started_at = time.monotonic()
        self.proc.start()
        self._child_conn.close()  # the child has its own copy; EOF reaches it if we die
        self._status_child.close()
        end = time.monotonic() + timeout
        while not self._status.poll(0.05):
            if not self.proc.is_alive() and not self._status.poll(0):
                raise RuntimeError(
                    "the amber writer process ended before it started ("
                    f"{_exit_cause(self.proc.exitcode)})"
                )
            if time.monotonic() > end:
                self.proc.kill()
                raise RuntimeError("the amber writer process did not start")
        try:
            error = self._status.recv()
        except (EOFError, OSError):
            error = "no word from the writer process"
        if not error:
            return
        self.proc.join(timeout=5)
        raise RuntimeError(f"the amber writer process failed: {error}")

    def settled(self) -> int:
        """How many submitted flows the child has stored or dropped (by its counters)."""
        c = self.counters
        return int(c[_STORED]) + sum(int(c[at]) for at in _DROP_AT.values())

    def in_flight(self, size: int = 0) -> tuple[int, int]:
        """Items and bytes (plus `size`) between the hook and the child's last batch."""
        c = self.counters
        return (
            self.submitted_items - int(c[_DONE_ITEMS]),
            self.submitted_bytes - int(c[_DONE_BYTES]) + size,
        )

    @property
    def store_state(self) -> DropReason | None:
        return _STATES[int(self.counters[_STATE])]

    def uncertain_ids(self) -> list[str]:
        """The ids of an insert the child began and may have committed before it died."""
        c = self.counters
        n = int(c[_COMMIT_TARGET]) - int(c[_STORED])
        if n <= 0 or int(c[_COMMIT_IDS]) != n:
            return []
        raw = bytes(self.ids[: n * _ID_LEN])
        return [raw[i : i + _ID_LEN].decode("ascii") for i in range(0, len(raw), _ID_LEN)]

    def close(self) -> None:
        self.sender.close(self.conn.close)
        self._child_conn.close()
        self._status_child.close()
        self._status.close()


class ProcessWriter:
    """The `CaptureWriter` interface (`start`, `submit`, `flush`, `stop`) over a supervised
    child process. A hung store does not kill the child: its writer's watch marks the store
    unavailable (after `hang_after` seconds) and publishes it, so a full queue's refusals are
    counted `store_unavailable`."""

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
        hang_after: float = HANG_AFTER,
    ) -> None:
        self.max_items = max_items
        self.max_bytes = max_bytes
        self.stats = stats or CaptureStats()
        self._store_url = store_url
        self._ctx = multiprocessing.get_context(_START_METHOD)
        if _START_METHOD == "forkserver":
            self._ctx.set_forkserver_preload(_PRELOAD)
        self._args = (store_url, config_path, key, body_cap, batch_size, hang_after)
        self._batch_size = batch_size
        self._child = self._new_child()
        self._lock = threading.Lock()  # submit (the loop) against the watchdog's swaps
        self._sync_lock = threading.Lock()
        self._down = False  # the child died and its successor is not running yet
        self._stopped = False
        self._stopping = threading.Event()
        self._watchdog = threading.Thread(
            target=self._watch, name="amber-writer-watchdog", daemon=True
        )
        self._restart_delay = 0.0  # the back-off of the last restart (0: none yet)

    def _new_child(self) -> _Child:
        return _Child(self._ctx, self._args, self._batch_size)

    def start(self, timeout: float = 60.0) -> None:
        """Start the child, wait until it has opened the store, and start supervising it.

        *Raises:* `RuntimeError` with the child's error when it could not start.
        """
        self._child.start(timeout)
        self._watchdog.start()

    @property
    def pending(self) -> int:
        """Flows submitted to the current child and not yet stored or dropped by it (none once
        its losses are settled: it died, or was stopped)."""
        child = self._child
        return 0 if child.finished else child.submitted_items - child.settled()

    def submit(self, raw: RawFlow) -> bool:
        size = raw.size
        with self._lock:
            reason = self._refusal(size)
            if reason == "queue_full":
                self._child.refused_full()
            if reason is None:
                # a plain tuple pickles in half the time of the NamedTuple (no __reduce__);
                # pickling raises (if ever) before anything is counted
                payload = pickle.dumps(tuple(raw), protocol=pickle.HIGHEST_PROTOCOL)
                child = self._child
                child.submitted_items += 1
                child.submitted_bytes += size
                self.stats.enter()
                child.sender.send(payload)
                return True
            self.stats.count(reason)  # under the lock: the watchdog may recount it
        return False

    def _refusal(self, size: int) -> DropReason | None:
        """Why a flow of `size` bytes cannot be taken now, or None."""
        child = self._child
        if self._stopped:
            return "no_writer"
        if self._down or child.sender.broken:
            return "writer_restart"
        items, nbytes = child.in_flight(size)
        if items >= self.max_items or nbytes > self.max_bytes:
            return child.store_state or "queue_full"
        return None

    # -- supervision (the watchdog thread) --------------------------------------------------

    def _sync(self, child: _Child) -> None:
        """Settle in the stats what `child` stored or dropped since the last call."""
        c = child.counters
        counts: list[tuple[Outcome, int]] = [("stored", int(c[_STORED]))]
        counts += [(reason, int(c[at])) for reason, at in _DROP_AT.items()]
        failures = int(c[_STORE_FAILURES])
        with self._sync_lock:
            for outcome, value in counts:
                if value > child.synced[outcome]:
                    self.stats.settle(outcome, value - child.synced[outcome])
                    child.synced[outcome] = value
            if failures > child.failures:
                self.stats.note("store_failures", failures - child.failures)
                child.failures = failures

    def _watch(self) -> None:
        """Keep the stats in step with the child, and restart it when it dies."""
        while not self._stopping.is_set():
            child = self._child
            died = bool(wait_ready([child.proc.sentinel], timeout=_SYNC_INTERVAL))
            self._sync(child)
            self._recount_hung(child)
            if died and not self._stopping.is_set():
                self._restart(child)

    def _recount_hung(self, child: _Child) -> None:
        """The full queue's refusals during an insert still in progress while the child says
        the store is unavailable (that insert hangs) were the store's doing: recounted."""
        with self._lock:
            if (
                child.full_refused
                and child.store_state == "store_unavailable"
                and int(child.counters[_WRITING]) == child.full_insert
            ):
                self.stats.recount("queue_full", "store_unavailable", child.full_refused)
                child.full_refused = 0

    def _restart(self, dead: _Child) -> None:
        """Count what died with `dead`, say why once, and start its successor after the
        back-off (retried, doubling the back-off, until one starts or the writer stops)."""
        with self._lock:
            self._down = True  # from here on, submit counts writer_restart
        died_at = time.monotonic()
        lost = self._settle_lost(dead, "writer_restart")
        young = died_at - dead.started_at < _YOUNG
        last = self._restart_delay
        delay = min(last * 2, _RESTART_MAX) if young and last else _RESTART_FIRST
        if dead.proc.exitcode is None:
            dead.proc.join(timeout=1)
        log.error(
            "amber: the writer process died (%s); %d exchanges in flight lost; "
            "restarting it in %.1fs",
            _exit_cause(dead.proc.exitcode),
            lost,
            delay,
        )
        dead.close()
        self.stats.note("writer_restarts")
        failures = 0
        while not self._stopping.wait(delay):
            child = self._new_child()
            try:
                child.start(timeout=60)
            except RuntimeError as e:
                child.close()
                if not failures:
                    log.error("amber: the writer process cannot restart (%s); retrying", e)
                failures += 1
                delay = min(delay * 2, _RESTART_MAX)
                continue
            with self._lock:
                self._child, self._down = child, False
            self._restart_delay = delay
            log.warning(
                "amber: writer process restarted; recording resumed %.1fs after it died",
                time.monotonic() - died_at,
            )
            return

    def _settle_lost(self, child: _Child, reason: DropReason) -> int:
        """Settle every flow submitted to the finished `child` that it did not report:
        stored if the store has it (an insert it committed as it died), else lost under
        `reason`. Returns how many were lost; settles nothing the second time."""
        self._sync(child)
        with self._sync_lock:
            if child.finished:
                return 0
            child.finished = True
            unreported = child.submitted_items - sum(child.synced.values())
            found = min(self._stored_ids(child.uncertain_ids()), unreported)
            if found:
                self.stats.settle("stored", found)
            if unreported - found:
                self.stats.settle(reason, unreported - found)
        return unreported - found

    def _stored_ids(self, ids: list[str]) -> int:
        """How many of `ids` the store holds (0 when it cannot be asked)."""
        if not ids:
            return 0
        try:
            with Store.open(self._store_url, create=False) as store:
                return len(store.existing_ids(ids))
        except Exception as e:
            log.error(
                "amber: cannot check the store for the writer's last insert (%s); counted as lost",
                type(e).__name__,
            )
            return 0

    # -- flush and stop ----------------------------------------------------------------------

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until the child has handled everything submitted so far.

        Blocks the calling thread: call it from the event loop's thread (e.g. in `done`) or
        when no loop runs."""
        end = time.monotonic() + timeout
        child = self._child
        with self._lock:
            child.sender.drain(timeout)
        while self.pending and time.monotonic() < end and child.proc.is_alive():
            time.sleep(0.01)
        self._sync(child)
        return self.pending == 0

    def stop(self, timeout: float = 30.0) -> None:
        """Stop accepting, let the child write everything buffered, and wait for it."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        self._stopping.set()
        if self._watchdog.is_alive():
            self._watchdog.join()
        child = self._child
        # what the child did not report is lost with it: it died, or was never started
        reason: DropReason = "writer_restart" if child.started_at else "no_writer"
        if child.proc.is_alive():
            with self._lock:
                child.sender.drain(timeout)
                child.sender.send(b"")  # the stop frame
                child.sender.drain(timeout)
            child.proc.join(timeout=timeout)
            if child.proc.is_alive():
                log.error("amber writer process did not finish in %.0fs; stopping it", timeout)
                reason = child.store_state or "stop_timeout"
                child.proc.terminate()
                child.proc.join(timeout=5)
        self._settle_lost(child, reason)
        child.close()
