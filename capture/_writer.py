"""The capture writer: a bounded queue in front of a thread that sanitizes and stores.

mitmproxy's hooks only `submit()` a `RawFlow` (references to immutable bytes, no decoding,
no copying of bodies); everything costly happens here, off the proxy's event loop:
decoding, capping, sanitizing (`Pipeline`) and batched inserts into the store.

Failure policy (fail open for traffic, fail closed for data, never silently): every exchange
the writer is offered ends in exactly one counter of `CaptureStats`, under its true reason.
- queue full (by count or bytes): the new exchange is dropped (`queue_full`, or
  `store_unavailable` / `store_lost` when that is why the queue is full);
- sanitizing fails: the exchange is dropped (`sanitize_failed`), never stored raw;
- store down (`StoreUnavailable`: the database cannot be reached or written): the current
  batch is retried with back-off while the queue absorbs new exchanges; an insert whose
  connection was lost as it committed is found by its ids on the retry and counted stored;
- store hung (an insert that has not returned within `hang_after`: a frozen server, a
  network partition without a reset): said once, and the store counts as unavailable until
  the insert returns or fails, which then takes the path above;
- any other failure of an insert is about the batch's content: the batch is split in halves
  until each exchange the store refuses is alone; that one is dropped (`unstorable`, logged
  with its id, route and error class, never its content) and the writer goes on;
- the SQLite file deleted or replaced under the writer: nothing more is written into the
  unlinked file; batches are dropped (`store_lost`), reported once.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from collections.abc import Sequence
from typing import Any
from typing import Protocol

from amber._ingest import Pipeline
from amber._model import Exchange
from amber._model import printable
from amber._store import Store
from amber.capture._raw import RawFlow
from amber.capture._raw import raw_to_exchange
from amber.capture._stats import CaptureStats
from amber.capture._stats import DropReason
from amber.errors import SanitizeError
from amber.errors import StoreUnavailable

__all__ = [
    "CaptureWriter",
    "ExchangeSink",
    "RawFlow",
    "Writer",
    "raw_to_exchange",
    "sqlite_file",
]

log = logging.getLogger("amber.capture")

HANG_AFTER = 10.0
"""Seconds an insert may take before the store counts as hung. A healthy batch insert takes
milliseconds, and the longest a working store makes a write wait is SQLite's busy timeout and
PostgreSQL's connect timeout, both 10 s; a server frozen or cut off without a reset answers
never, and the blocked writer thread cannot say so itself."""

RETRY_MAX = 2.0
"""The longest wait between two retries of an unavailable store (from 0.5 s, doubling). A
retry is one insert attempt, cheap even when it fails; a longer wait only delays recording
once the store is back (with 10 s, recording resumed up to 10 s late)."""


class CaptureWriter(Protocol):
    """What `CaptureAddon` needs of a writer: `Writer` (a thread) and `ProcessWriter` (a child
    process) both provide it, and a unit test can hand the addon a fake.

    The addon builds a writer, stops the one it replaces, then calls `start`; `submit` runs on
    mitmproxy's event loop for every kept flow, so it must neither block nor raise: it counts
    the flow in the stats (in flight, or dropped under its reason) and returns False when the
    writer cannot take it. `stop` writes everything accepted so far (or counts what it could
    not write) before it returns.
    """

    def start(self) -> None:
        """Begin taking flows. *Raises:* `RuntimeError` when the writer cannot run."""

    def submit(self, raw: RawFlow) -> bool:
        """Queue `raw` for writing; False (and counted in the stats) when it is dropped."""

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything submitted so far is written or dropped; False on timeout."""

    def stop(self, timeout: float = 30.0) -> None:
        """Stop accepting, write everything buffered, and release the writer's resources."""


class ExchangeSink(Protocol):
    """What the writer inserts into: a `Store`, or a wrapper around one (the writer process
    wraps its store to tell the proxy what it stored, even if it is killed)."""

    def add_many(self, batch: Sequence[Exchange]) -> int:
        """Insert `batch` in one transaction; all or nothing."""

    def existing_ids(self, ids: Sequence[str]) -> set[str]:
        """Which of `ids` are stored (an insert cut off with its connection may have
        committed)."""

    def close(self) -> None:
        """Release the store."""


def sqlite_file(store: Store) -> str | None:
    """The file of a SQLite store (None for another database or an in-memory one)."""
    db = store.engine.url.database if store.dialect == "sqlite" else None
    return db if db and db != ":memory:" else None


class _StoreFile:
    """Tells whether a store's file is still the one opened: SQLite goes on writing into a
    file that was deleted (or renamed away) through its open descriptors, into the void."""

    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(path)  # the file opened, whatever the cwd becomes
        self._identity = self._stat()

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_dev, st.st_ino

    def lost(self) -> bool:
        return self._stat() != self._identity


def _error_class(error: BaseException) -> str:
    """The class of an insert's error, and of its cause: never the message, which can quote
    the value (`UnicodeEncodeError` does)."""
    cause = error.__cause__
    name = type(error).__name__
    return f"{name} from {type(cause).__name__}" if cause is not None else name


class Writer:
    """Owns the queue and the writer thread. `submit` never blocks and never raises.

    With `owns_store`, `stop` also closes the store (the addon's writer opens its own);
    without it the caller keeps the store and closes it. `store_file` is the SQLite file to
    watch (a deleted or replaced file is reported, not written into) and `reconnect` drops
    the store's pooled connections after a failed write (a SQLite connection opened while the
    file could not be written stays read-only, and a retry on it would fail forever); by
    default both come from `store` when it is a `Store`.

    With a `source` (the writer process reads its pipe), exchanges enter the stats when they
    are read; `on_progress` runs after each batch and whenever the store goes down, hangs or
    comes back (never twice at once), so that a writer process can publish its counters;
    `on_found(n)` runs when `n` exchanges of an insert cut off with its connection are found
    stored, so that it can count them stored as its sink would have.

    An insert that has not returned after `hang_after` seconds is reported by a watch
    thread, which marks the store unavailable until the insert returns or fails.
    """

    def __init__(
        self,
        store: ExchangeSink,
        pipeline: Pipeline,
        *,
        max_items: int = 10_000,
        max_bytes: int = 256 * 1024 * 1024,
        batch_size: int = 200,
        flush_interval: float = 0.25,
        stats: CaptureStats | None = None,
        retry_initial: float = 0.5,
        retry_max: float = RETRY_MAX,
        hang_after: float = HANG_AFTER,
        clock: Callable[[], float] = time.monotonic,
        source: Any = None,
        on_release: Callable[[int], None] | None = None,
        on_progress: Callable[[], None] | None = None,
        on_found: Callable[[int], None] | None = None,
        owns_store: bool = False,
        store_file: str | None = None,
        reconnect: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self._owns_store = owns_store
        self.pipeline = pipeline
        self.max_items = max_items
        self.max_bytes = max_bytes
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.stats = stats or CaptureStats()
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self.hang_after = hang_after
        self._clock = clock
        # `source` lets a writer process read from its pipe instead
        self._queue: Any = source if source is not None else queue.SimpleQueue()
        self._enter_on_read = source is not None
        self._on_release = on_release
        self._on_progress = on_progress
        self._progress_lock = threading.Lock()
        self._on_found = on_found
        self._pending_items = 0
        self._pending_bytes = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._idle = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="amber-writer", daemon=True)
        self._store_down_since: float | None = None
        # The watch: when the insert in progress began (None between inserts), when the one
        # that hung began (None unless one hangs), and whether the writer loop has ended.
        self._writing = threading.Condition()
        self._write_began: float | None = None
        self._hung_since: float | None = None
        self._watch_done = False
        self._full_while_writing = 0  # queue_full refusals during the insert in progress
        if isinstance(store, Store):
            store_file = store_file or sqlite_file(store)
            reconnect = reconnect or store.close
        self._reconnect = reconnect
        self._file = _StoreFile(store_file) if store_file else None
        self._file_lost = False

    def start(self) -> None:
        self._thread.start()

    @property
    def store_state(self) -> DropReason | None:
        """Why the store takes nothing now (`store_unavailable`, `store_lost`), or None."""
        if self._file_lost:
            return "store_lost"
        down = self._store_down_since is not None or self._hung_since is not None
        return "store_unavailable" if down else None

    # -- event-loop side ------------------------------------------------------------------

    def submit(self, raw: RawFlow) -> bool:
        """Queue `raw` for the writer; False (and counted) when it is dropped."""
        size = raw.size
        with self._lock:
            reason: DropReason | None = None
            if self._stopping.is_set():
                reason = "no_writer"
            elif (
                self._pending_items >= self.max_items or self._pending_bytes + size > self.max_bytes
            ):
                reason = self.store_state or "queue_full"
                if reason == "queue_full" and self._write_began is not None:
                    self._full_while_writing += 1  # store_unavailable if the insert hangs
            else:
                self._pending_items += 1
                self._pending_bytes += size
                self.stats.enter()
            if reason is not None:
                self.stats.count(reason)
                return False
        self._queue.put(raw)
        return True

    @property
    def pending(self) -> int:
        return self._pending_items

    # -- writer thread ------------------------------------------------------------------

    def _release(self, raw: RawFlow) -> None:
        size = raw.size
        with self._lock:
            self._pending_items -= 1
            self._pending_bytes -= size
        if self._on_release is not None:
            self._on_release(size)

    def _next(self) -> tuple[RawFlow | None, bool]:
        """The next flow (None when none came within the flush interval), and whether the
        stop sentinel was reached: nothing is submitted after it."""
        try:
            item = self._queue.get(timeout=self.flush_interval)
        except queue.Empty:
            return None, False
        if item is None:
            self._stopping.set()
            return None, True
        if self._enter_on_read:
            self.stats.enter()
        return item, False

    def _run(self) -> None:
        watch = threading.Thread(target=self._watch_writes, name="amber-writer-watch", daemon=True)
        watch.start()
        try:
            self._loop()
        finally:
            with self._writing:
                self._watch_done = True
                self._writing.notify_all()

    def _loop(self) -> None:
        batch: list[Exchange] = []
        raws: list[RawFlow] = []
        last_flush = self._clock()
        while True:
            item, done = self._next()
            if item is not None:
                raws.append(item)
                self._process(item, batch)
            due = self._clock() - last_flush >= self.flush_interval
            if raws and (len(raws) >= self.batch_size or item is None or due or done):
                self._write(batch, raws)
                batch, raws = [], []
                last_flush = self._clock()
            if item is None or done:
                with self._idle:
                    self._idle.notify_all()
            if done:
                return

    def _write(self, batch: list[Exchange], raws: list[RawFlow]) -> None:
        """Store a batch, publish the counters, then free the batch's room in the queue (in
        that order: a flow's room is freed only once its fate is counted)."""
        if batch:
            self._store_batch(batch)
        self._progress()
        for r in raws:
            self._release(r)

    def _process(self, raw: RawFlow, batch: list[Exchange]) -> None:
        try:
            batch.append(self.pipeline.process(raw_to_exchange(raw), encoded=True))
        except SanitizeError as e:
            self.stats.settle("sanitize_failed")
            log.warning("exchange dropped: sanitizing failed (%s)", type(e).__name__)
        except Exception as e:  # a bug in amber must not lead to storing raw data either
            self.stats.settle("sanitize_failed")
            log.error("exchange dropped: unexpected %s while sanitizing", type(e).__name__)

    def _store_batch(self, batch: list[Exchange]) -> None:
        """Insert `batch`; a part the store refuses for its content is split in halves until
        each refused exchange is alone, and only that one is dropped."""
        if self._file is not None and (self._file_lost or self._file.lost()):
            self._lose_file(len(batch))
            return
        parts = [batch]
        while parts:
            part = parts.pop()
            error = self._insert(part)
            if error is None:
                continue
            if len(part) > 1:
                mid = len(part) // 2
                parts += (part[mid:], part[:mid])  # the first half is tried first
                continue
            self.stats.settle("unstorable")
            log.warning(
                "exchange %s (route %s) dropped as unstorable: the store refused it with %s; "
                "the writer goes on",
                part[0].id,
                printable(part[0].route or "-"),
                _error_class(error),
            )

    def _insert(self, part: list[Exchange]) -> Exception | None:
        """Insert `part`, retrying with back-off while the store is unavailable. Returns the
        error when the store refused the part for another reason (its content), else None:
        stored, or (stopping with the store still down) dropped and counted."""
        delay = self.retry_initial
        cut = False  # an attempt lost the store: it may have committed before the reply
        while True:
            try:
                stored = self._add(part)
            except StoreUnavailable as e:
                cut = True
                self._store_down(e)
                if self._stopping.is_set() and self._stop_deadline_passed():
                    self.stats.settle("store_unavailable", len(part))
                    log.error("stopping with the store unavailable: %d exchanges lost", len(part))
                    return None
                time.sleep(delay)
                delay = min(delay * 2, self.retry_max)
                continue
            except Exception as e:  # anything else is about what this part holds
                self._hung_since = None  # the store answered
                if not (cut and self._found(part)):
                    return e
                stored = len(part)
            self.stats.settle("stored", stored)
            self._store_back()
            return None

    def _add(self, part: list[Exchange]) -> int:  # add_many, watched
        with self._lock:
            self._full_while_writing = 0
        with self._writing:
            self._write_began = self._clock()
            self._writing.notify_all()
        try:
            return self.store.add_many(part)
        finally:
            with self._writing:
                self._write_began = None

    def _found(self, part: list[Exchange]) -> bool:
        """Whether `part`, retried after its insert lost the store, was committed by that
        insert after all (PostgreSQL committed, the reply was lost): the retry then fails on
        its ids, which are stored, not unstorable."""
        try:
            found = self.store.existing_ids([ex.id for ex in part])
        except Exception as e:
            log.error(
                "cannot look up a retried insert's ids in the store (%s); taking the "
                "retry's error as the exchanges' own",
                _error_class(e),
            )
            return False
        if len(found) < len(part):
            return False
        if self._on_found is not None:
            self._on_found(len(part))
        log.warning(
            "%d exchanges whose insert lost its connection were committed after "
            "all: counted as stored",
            len(part),
        )
        return True

    def _store_back(self) -> None:
        """An insert returned: end an outage or a hang, saying so once."""
        since = self._hung_since if self._store_down_since is None else self._store_down_since
        if since is None:
            return
        self._store_down_since = None
        self._hung_since = None
        log.warning("store is back after %.1fs; writing resumed", self._clock() - since)
        self._progress()

    def _store_down(self, error: StoreUnavailable) -> None:
        """An insert failed with the store unavailable: mark it so first (a full queue's
        refusals are counted under that reason from now on), then count and say it, and
        close the store's connections for the retry (closing can take a while)."""
        first = self._store_down_since is None
        if first:
            hung = self._hung_since
            self._store_down_since = hung if hung is not None else self._clock()
        self._hung_since = None
        self.stats.note("store_failures")
        self._progress()
        if first:
            log.error("store write failed (%s); buffering and retrying", error)
        if self._reconnect is not None:
            self._reconnect()

    def _watch_writes(self) -> None:
        """The watch thread: report each insert that passes `hang_after`, once; the full
        queue's refusals since it began are recounted as `store_unavailable`."""
        while self._await_hang():
            log.error(
                "store write has not returned for %g s: counting new drops as store_unavailable",
                self.hang_after,
            )
            self._progress()

    def _await_hang(self) -> bool:
        """Wait until the insert in progress passes `hang_after` and mark the store hung
        (True), or until the writer loop ends (False)."""
        with self._writing:
            while not self._watch_done:
                began = self._write_began
                left = None
                if began is not None and self._hung_since is None:
                    left = began + self.hang_after - self._clock()
                    if left <= 0:
                        with self._lock:  # the queue was full because the insert hung
                            self._hung_since = began
                            refused, self._full_while_writing = self._full_while_writing, 0
                        self.stats.recount("queue_full", "store_unavailable", refused)
                        return True
                self._writing.wait(left)
        return False

    def _progress(self) -> None:  # from the writer or the watch thread, one at a time
        if self._on_progress is not None:
            with self._progress_lock:
                self._on_progress()

    def _lose_file(self, n: int) -> None:
        """The store's file is gone: count `n` exchanges as lost with it; say so once."""
        if not self._file_lost and self._file is not None:
            self._file_lost = True
            log.error(
                "the store file %s was deleted or replaced while capturing: exchanges are "
                "dropped (counted as store lost) until capture is restarted",
                self._file.path,
            )
            self._progress()
        self.stats.settle("store_lost", n)

    _stop_deadline: float | None = None

    def _stop_deadline_passed(self) -> bool:
        return self._stop_deadline is not None and self._clock() >= self._stop_deadline

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far is stored (or dropped). For tests and `done`."""
        end = self._clock() + timeout
        with self._idle:
            while self._pending_items and self._clock() < end:
                self._idle.wait(timeout=0.05)
        return self._pending_items == 0

    def stop(self, timeout: float = 30.0) -> None:
        """Stop accepting, write everything buffered, end the thread, and close the store if
        the writer owns it."""
        self._stop_deadline = self._clock() + timeout
        self._stopping.set()
        self._queue.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout=timeout + 1)
        if self._owns_store:
            self.store.close()
