"""The capture writer: a bounded queue in front of a thread that sanitizes and stores.

mitmproxy's hooks only `submit()` a `RawFlow` (references to immutable bytes, no decoding,
no copying of bodies); everything costly happens here, off the proxy's event loop:
decoding, capping, sanitizing (`Pipeline`) and batched inserts into the store.

Failure policy (fail open for traffic, fail closed for data):
- queue full (by count or bytes): the new exchange is dropped and counted;
- sanitizing fails: the exchange is dropped and counted, never stored raw;
- store down: the current batch is retried with back-off while the queue absorbs new
  exchanges; once the queue is full, new ones are dropped and counted.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from typing import NamedTuple
from typing import Protocol

from amber._ingest import Pipeline
from amber._model import Exchange
from amber._model import Request
from amber._model import Response
from amber._model import content_encoding
from amber._model import decode_header_bytes
from amber._model import new_id
from amber._store import Store
from amber.errors import SanitizeError
from amber.errors import StoreError

__all__ = ["CaptureStats", "CaptureWriter", "RawFlow", "Writer", "raw_to_exchange"]

log = logging.getLogger("amber.capture")

RawHeaders = tuple[tuple[bytes, bytes], ...]


class RawFlow(NamedTuple):
    """What the hooks copy from a mitmproxy flow: references only, nothing decoded."""

    started: float
    req_end: float | None
    client: str | None
    method: bytes
    scheme: bytes
    host: str
    port: int
    path: bytes
    http_version: bytes
    req_headers: RawHeaders
    req_body: bytes | None
    authority: bytes  # HTTP/2 and HTTP/3 carry the Host header here
    status: int | None
    reason: bytes
    resp_version: bytes
    resp_headers: RawHeaders
    resp_body: bytes | None
    resp_start: float | None
    resp_end: float | None
    error: str | None
    tags: tuple[str, ...]

    @property
    def size(self) -> int:
        return len(self.req_body or b"") + len(self.resp_body or b"") + 512


def _headers(fields: RawHeaders) -> tuple[tuple[str, str], ...]:
    return tuple((decode_header_bytes(k), decode_header_bytes(v)) for k, v in fields)


def _host_header(raw: RawFlow, headers: tuple[tuple[str, str], ...]) -> str | None:
    """What the client sent as Host (mitmproxy's `Request.host_header`)."""
    host = next((v for k, v in headers if k.lower() == "host"), None)
    if raw.http_version in (b"HTTP/2.0", b"HTTP/3") and raw.authority:
        return decode_header_bytes(raw.authority)
    return host


def raw_to_exchange(raw: RawFlow) -> Exchange:
    """Build the (not yet sanitized, still content-encoded) exchange of a raw flow."""
    target = raw.path.decode("utf-8", "surrogateescape")
    path, _, query = target.partition("?")
    req_headers = _headers(raw.req_headers)
    request = Request(
        method=raw.method.decode("ascii", "replace"),
        scheme=raw.scheme.decode("ascii", "replace"),
        host=raw.host,
        port=raw.port,
        path=path or "/",
        query=query,
        http_version=raw.http_version.decode("utf-8", "surrogateescape"),
        headers=req_headers,
        body=raw.req_body or b"",
        content_encoding=content_encoding(req_headers),
        host_header=_host_header(raw, req_headers),
        timestamp_start=raw.started,
        timestamp_end=raw.req_end,
        body_truncated=raw.req_body is None,
    )
    response = None
    if raw.status is not None:
        resp_headers = _headers(raw.resp_headers)
        response = Response(
            status=raw.status,
            reason=raw.reason.decode("latin-1"),
            http_version=raw.resp_version.decode("utf-8", "surrogateescape"),
            headers=resp_headers,
            body=raw.resp_body or b"",
            content_encoding=content_encoding(resp_headers),
            timestamp_start=raw.resp_start,
            timestamp_end=raw.resp_end,
            body_truncated=raw.resp_body is None,
        )
    return Exchange(
        id=new_id(raw.started),
        request=request,
        response=response,
        error=raw.error,
        client_addr=raw.client,
        tags=raw.tags,
    )


@dataclass
class CaptureStats:
    """Counters of what happened to every exchange the hooks saw."""

    seen: int = 0
    filtered: int = 0
    sampled_out: int = 0
    queued: int = 0
    stored: int = 0
    dropped_queue_full: int = 0
    dropped_sanitize: int = 0
    dropped_store: int = 0
    hook_errors: int = 0
    store_failures: int = 0

    def summary(self) -> str:
        return (
            f"seen {self.seen}, stored {self.stored}, filtered {self.filtered}, "
            f"sampled out {self.sampled_out}, dropped: {self.dropped_queue_full} queue full, "
            f"{self.dropped_sanitize} sanitize failed, {self.dropped_store} store unavailable; "
            f"{self.hook_errors} hook errors"
        )


class CaptureWriter(Protocol):
    """What `CaptureAddon` needs of a writer: `Writer` (a thread) and `ProcessWriter` (a child
    process) both provide it, and a unit test can hand the addon a fake.

    The addon builds a writer, stops the one it replaces, then calls `start`; `submit` runs on
    mitmproxy's event loop for every kept flow, so it must neither block nor raise: it
    returns False, and counts the drop, when the writer cannot take the flow. `stop` writes
    everything accepted so far (or counts what it could not write) before it returns.
    """

    def start(self) -> None:
        """Begin taking flows. *Raises:* `RuntimeError` when the writer cannot run."""

    def submit(self, raw: RawFlow) -> bool:
        """Queue `raw` for writing; False (and counted in the stats) when it is dropped."""

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything submitted so far is written or dropped; False on timeout."""

    def stop(self, timeout: float = 30.0) -> None:
        """Stop accepting, write everything buffered, and release the writer's resources."""


class Writer:
    """Owns the queue and the writer thread. `submit` never blocks and never raises.

    With `owns_store`, `stop` also closes the store (the addon's writer opens its own);
    without it the caller keeps the store and closes it.
    """

    def __init__(
        self,
        store: Store,
        pipeline: Pipeline,
        *,
        max_items: int = 10_000,
        max_bytes: int = 256 * 1024 * 1024,
        batch_size: int = 200,
        flush_interval: float = 0.25,
        stats: CaptureStats | None = None,
        retry_initial: float = 0.5,
        retry_max: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        source: Any = None,
        on_release: Callable[[int], None] | None = None,
        on_flush: Callable[[CaptureStats], None] | None = None,
        owns_store: bool = False,
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
        self._clock = clock
        # `source` lets a writer process read from a multiprocessing queue instead
        self._queue: Any = source if source is not None else queue.SimpleQueue()
        self._on_release = on_release
        self._on_flush = on_flush
        self._pending_items = 0
        self._pending_bytes = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._idle = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="amber-writer", daemon=True)
        self._store_down_since: float | None = None

    def start(self) -> None:
        self._thread.start()

    # -- event-loop side ------------------------------------------------------------------

    def submit(self, raw: RawFlow) -> bool:
        """Queue `raw` for the writer; False (and counted) when the queue is full."""
        size = raw.size
        with self._lock:
            if (
                self._pending_items >= self.max_items
                or self._pending_bytes + size > self.max_bytes
                or self._stopping.is_set()
            ):
                self.stats.dropped_queue_full += 1
                return False
            self._pending_items += 1
            self._pending_bytes += size
            self.stats.queued += 1
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

    def _run(self) -> None:
        batch: list[Exchange] = []
        raws: list[RawFlow] = []
        last_flush = self._clock()
        sentinel = False
        while True:
            try:
                item = self._queue.get(timeout=self.flush_interval)
                if item is None:  # the stop sentinel: nothing is submitted after it
                    sentinel = True
                    self._stopping.set()
            except queue.Empty:
                item = None
            if item is not None:
                raws.append(item)
                self._process(item, batch)
            done = sentinel
            due = self._clock() - last_flush >= self.flush_interval
            if raws and (len(raws) >= self.batch_size or item is None or due or done):
                if batch:
                    self._flush(batch)
                for r in raws:
                    self._release(r)
                batch, raws = [], []
                last_flush = self._clock()
                if self._on_flush is not None:
                    self._on_flush(self.stats)
            if item is None or done:
                with self._idle:
                    self._idle.notify_all()
            if done:
                return

    def _process(self, raw: RawFlow, batch: list[Exchange]) -> None:
        try:
            batch.append(self.pipeline.process(raw_to_exchange(raw), encoded=True))
        except SanitizeError as e:
            self.stats.dropped_sanitize += 1
            log.warning("exchange dropped: sanitizing failed (%s)", type(e).__name__)
        except Exception as e:  # a bug in amber must not lead to storing raw data either
            self.stats.dropped_sanitize += 1
            log.error("exchange dropped: unexpected %s while sanitizing", type(e).__name__)

    def _flush(self, batch: list[Exchange]) -> None:
        delay = self.retry_initial
        while True:
            try:
                self.stats.stored += self.store.add_many(batch)
                if self._store_down_since is not None:
                    log.warning(
                        "store is back after %.1fs; writing resumed",
                        self._clock() - self._store_down_since,
                    )
                    self._store_down_since = None
                return
            except StoreError as e:
                self.stats.store_failures += 1
                if self._store_down_since is None:
                    self._store_down_since = self._clock()
                    log.error("store write failed (%s); buffering and retrying", e)
                if self._stopping.is_set() and self._stop_deadline_passed():
                    self.stats.dropped_store += len(batch)
                    log.error("stopping with the store unavailable: %d exchanges lost",
                              len(batch))
                    return
                time.sleep(delay)
                delay = min(delay * 2, self.retry_max)

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
