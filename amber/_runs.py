"""Replay and shadow runs kept in the store, so they can be listed and compared later.

A run is one row (`RunInfo`: kind, target, state, parameters, summary); its results are
`RunResult`s, stored in chunks as the JSON array `[exchange_id, sent_at, status, latency_ms,
ok, error, detail]` (`amber._store.run_chunks`). `RunResult.row` and `RunResult.from_row` are
the one place that array is written and read.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Literal
from typing import cast

import sqlalchemy as sa

from amber._model import dumps_json
from amber._model import loads_json
from amber._model import new_id
from amber._store import Store
from amber._store import pack_encoded
from amber._store import run_chunks
from amber._store import runs
from amber._store import unpack_json
from amber._store import unpack_results
from amber.errors import NotFound
from amber.errors import StoreUnavailable

__all__ = ["RunInfo", "RunKind", "RunLog", "RunResult", "RunState", "RunWriter", "encode_result"]

RunKind = Literal["replay", "shadow"]
RunState = Literal["running", "completed", "interrupted", "failed"]
"""`running` until the run ends; then `completed`, `interrupted` (Ctrl-C: what was answered
is kept) or `failed` (an error ended it; the results stored before it are kept)."""


@dataclass(slots=True)
class RunResult:
    """What happened to one exchange in a replay or a shadow run: one shape for both.

    The first fields say what was sent and what came back (in a shadow run, from the
    candidate). What the comparison found depends on the run:

    - replay: `checks` (which comparisons ran and passed), `differences` (the first ones, as
      `{"path", "kind", "expected", "actual"}` with values already sanitized), `more` (how
      many differences beyond those) and `ignored` (differences the noise rules explained);
    - shadow: `regression_paths` (fields where the candidate differed beyond the noise),
      `suppressed_paths` (where this request's noise explained it) and `noise_paths`
      (where the two baselines differed); `regression_paths` is None in replay results.

    Not frozen, so that building one per replayed exchange costs no more than a plain
    object (a frozen dataclass sets each field through `object.__setattr__`, about three
    times the cost); treat it as immutable.
    """

    exchange_id: str
    sent_at: float
    status: int | None
    latency_ms: float | None
    ok: bool
    error: str | None = None
    method: str = ""
    path: str = ""
    route: str = ""
    recorded_status: int | None = None
    checks: dict[str, bool] = field(default_factory=dict)
    differences: Sequence[dict[str, Any]] = ()
    more: int = 0
    ignored: int = 0
    regression_paths: Sequence[str] | None = None
    suppressed_paths: Sequence[str] = ()
    noise_paths: Sequence[str] = ()

    def detail(self) -> dict[str, Any]:
        """The stored `detail` object: a replay's comparison, then method, path, route and
        recorded status; for a shadow result, those four, then its three path lists."""
        if self.regression_paths is None:
            return {
                "checks": self.checks,
                "differences": self.differences,
                "more": self.more,
                "ignored": self.ignored,
                "method": self.method,
                "path": self.path,
                "route": self.route,
                "recorded_status": self.recorded_status,
            }
        return {
            "method": self.method,
            "path": self.path,
            "route": self.route,
            "recorded_status": self.recorded_status,
            "regression_paths": self.regression_paths,
            "suppressed_paths": self.suppressed_paths,
            "noise_paths": self.noise_paths,
        }

    def row(self) -> list[Any]:
        """The result as stored: `[exchange_id, sent_at, status, latency_ms, ok, error,
        detail]`."""
        return [
            self.exchange_id,
            self.sent_at,
            self.status,
            self.latency_ms,
            self.ok,
            self.error,
            self.detail(),
        ]

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> RunResult:
        """A stored result, as written by any amber since schema 2: `detail` may lack keys
        (`{}` for none), and shadow results before this record have no recorded status."""
        exchange_id, sent_at, status, latency_ms, ok, error, d = row
        d = d or {}
        common = (
            exchange_id,
            sent_at,
            status,
            latency_ms,
            ok,
            error,
            d.get("method") or "",
            d.get("path") or "",
            d.get("route") or "",
            d.get("recorded_status"),
        )
        if d.get("regression_paths") is not None:
            return cls(
                *common,
                regression_paths=d["regression_paths"],
                suppressed_paths=d.get("suppressed_paths") or [],
                noise_paths=d.get("noise_paths") or [],
            )
        return cls(
            *common,
            checks=d.get("checks") or {},
            differences=d.get("differences") or [],
            more=d.get("more") or 0,
            ignored=d.get("ignored") or 0,
        )


def encode_result(r: RunResult) -> bytes:
    """One result as stored in a chunk: its `row` as JSON (see `amber._store.run_chunks`).

    `dumps_json`, because a path may hold raw non-UTF-8 bytes (surrogate-escaped, as the
    store keeps them), which orjson alone refuses; `RunLog.results` reads them back."""
    return dumps_json(r.row(), default=str)


@dataclass(frozen=True, slots=True)
class RunInfo:
    """One run: what it was, against what, how it ended and its summary counts."""

    id: str
    kind: RunKind
    started_at: float
    finished_at: float | None
    state: RunState
    target: str
    params: dict[str, Any]
    summary: dict[str, Any] | None


class RunLog:
    """Writes and reads runs through an open `Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def start(self, kind: RunKind, target: str, params: dict[str, Any]) -> str:
        run_id = new_id()
        with self.store.database_errors("write"), self.store.engine.begin() as conn:
            conn.execute(
                runs.insert().values(
                    id=run_id,
                    kind=kind,
                    started_at=time.time(),
                    state="running",
                    target=target,
                    params=dumps_json(params, default=str),
                )
            )
        return run_id

    def add(self, run_id: str, results: Iterable[RunResult], chunk: int = 500) -> int:
        """Store `results` of `run_id` (after those added before); returns how many."""
        rows = [encode_result(r) for r in results]
        for i in range(0, len(rows), chunk):
            part = rows[i : i + chunk]
            self._insert_packed(run_id, len(part), pack_encoded(part))
        return len(rows)

    def _insert_packed(self, run_id: str, count: int, data: bytes) -> None:
        if count:
            try:
                with self.store.engine.begin() as conn:
                    conn.execute(run_chunks.insert().values(run_id=run_id, count=count, data=data))
            except sa.exc.SQLAlchemyError as e:
                raise StoreUnavailable(
                    f"cannot store the run's results ({type(e).__name__}: "
                    f"{str(e).splitlines()[0][:200]}); the results so far are kept"
                ) from e

    def writer(
        self, run_id: str, *, batch: int = 500, depth: int = 4, interval: float = 1.0
    ) -> RunWriter:
        """A `RunWriter` for `run_id`'s results (close it when the run ends)."""
        return RunWriter(self, run_id, batch=batch, depth=depth, interval=interval)

    def finish(self, run_id: str, state: RunState, summary: dict[str, Any]) -> None:
        with self.store.database_errors("write"), self.store.engine.begin() as conn:
            conn.execute(
                runs.update()
                .where(runs.c.id == run_id)
                .values(
                    state=state,
                    finished_at=time.time(),
                    summary=dumps_json(summary, default=str),
                )
            )

    def _info(self, row: sa.Row[Any]) -> RunInfo:
        m = row._mapping
        return RunInfo(
            id=m["id"],
            kind=cast(RunKind, m["kind"]),
            started_at=m["started_at"],
            finished_at=m["finished_at"],
            state=cast(RunState, m["state"]),
            target=m["target"],
            params=loads_json(m["params"]),
            summary=loads_json(m["summary"]) if m["summary"] else None,
        )

    def list(self, limit: int | None = 20) -> list[RunInfo]:
        """The latest runs first; `limit=None` for all of them."""
        with self.store.database_errors(), self.store.engine.connect() as conn:
            rows = conn.execute(
                sa.select(runs).order_by(runs.c.started_at.desc()).limit(limit)
            ).all()
        return [self._info(r) for r in rows]

    def get(self, run_id: str) -> RunInfo:
        with self.store.database_errors(), self.store.engine.connect() as conn:
            row = conn.execute(sa.select(runs).where(runs.c.id == run_id.upper())).first()
            if row is None:
                row = conn.execute(
                    sa.select(runs).where(runs.c.id.like(run_id.upper() + "%")).limit(2)
                ).first()
        if row is None:
            raise NotFound(f"no run {run_id!r}; list runs with `amber runs`")
        return self._info(row)

    def results(self, run_id: str, page: int = 20) -> Iterator[RunResult]:
        """Stream a run's results in the order they were recorded (`page` chunks of results
        read at a time)."""
        for data in self._chunks(run_id, page):
            for row in unpack_results(data):
                yield RunResult.from_row(row)

    def results_json(self, run_id: str) -> Iterator[bytes]:
        """A run's results as stored: JSON arrays of result rows, one per chunk (what
        `amber scan` reads: the chunks are compressed in the store file)."""
        return (unpack_json(data) for data in self._chunks(run_id, 20))

    def _chunks(self, run_id: str, page: int) -> Iterator[bytes]:
        last = 0
        c = run_chunks.c
        while True:
            with self.store.database_errors(), self.store.engine.connect() as conn:
                rows = conn.execute(
                    sa.select(c.seq, c.data)
                    .where(c.run_id == run_id, c.seq > last)
                    .order_by(c.seq)
                    .limit(page)
                ).all()
            if not rows:
                return
            for seq, data in rows:
                yield data
                last = seq


class RunWriter:
    """Stores one run's results from a background thread, a chunk at a time.

    A replay's event loop must not wait for the store (an insert takes milliseconds, during
    which no response would be read), so `add`, on the loop, only appends the result; a
    chunk goes to the thread when it holds `batch` results or is `interval` seconds old,
    through a queue of at most `depth` chunks: memory stays bounded, and `add` blocks only
    when the store falls that far behind. A failed insert is raised by the next `add` or by
    `close`, so a run does not go on with its results unsaved.
    """

    def __init__(
        self, log: RunLog, run_id: str, *, batch: int = 500, depth: int = 4, interval: float = 1.0
    ) -> None:
        self.run_id = run_id
        self._log = log
        self._batch = batch
        self._interval = interval
        self._since = time.monotonic()
        self._rows: list[bytes] = []
        self._queue: queue.Queue[list[bytes] | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="amber-run-writer", daemon=True)
        self._thread.start()

    def add(self, result: RunResult) -> None:
        """Queue one result (called per exchange on a replay's loop). *Raises:* the store's
        error when an earlier batch failed."""
        if self._error is not None:
            raise self._error.with_traceback(None)
        rows = self._rows
        # encoded here, a row at a time: the whole chunk at once in the writer thread would
        # hold the GIL for a millisecond, and the loop with it
        rows.append(encode_result(result))
        now = time.monotonic()
        if len(rows) >= self._batch or now - self._since >= self._interval:
            self._queue.put(rows)
            self._rows = []
            self._since = now

    def close(self) -> None:
        """Store what is left and stop the thread. *Raises:* the first insert's error."""
        if not self._closed:
            self._closed = True
            if self._rows and self._error is None:
                self._queue.put(self._rows)
            self._rows = []
            self._queue.put(None)
            self._thread.join()
        if self._error is not None:
            raise self._error.with_traceback(None)

    def _run(self) -> None:
        while True:
            rows = self._queue.get()
            if rows is None:
                return
            if self._error is not None:
                continue  # keep draining, so `add` never blocks on a dead writer
            try:
                self._log._insert_packed(self.run_id, len(rows), pack_encoded(rows))
            except BaseException as e:  # raised on the caller's side
                self._error = e
