"""The exchange store: SQLite by default (one file, WAL), PostgreSQL by URL.

One table holds exchanges. Columns that are filtered on (id, request id, time, method,
route, status, host) are real, indexed columns; the rest of the exchange (headers,
timestamps, HTTP versions, the sanitizer's report) is one JSON document per row, and the
bodies are two binary columns, zstd-compressed above a size threshold.

Reads stream: `iter_exchanges()` pages through the table by primary key, so replaying,
exporting or generating tests from a million exchanges holds one page in memory.

One module because the tables, their migrations, the row encoding and the queries change
together: a new column or schema version touches all four, and a migration has to be read
against the tables it produces.
"""

from __future__ import annotations

import fnmatch
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any
from typing import Literal

import orjson
import sqlalchemy as sa
import zstandard
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.engine import make_url

from amber._model import Exchange
from amber._model import Redaction
from amber._model import Request
from amber._model import Response
from amber._urls import hide_password
from amber.errors import NotFound
from amber.errors import StoreCorrupt
from amber.errors import StoreError
from amber.errors import StoreUnavailable
from amber.errors import StoreVersionError

__all__ = [
    "SCHEMA_VERSION",
    "ExchangeQuery",
    "ExchangeStream",
    "ExchangeSummary",
    "StatsRow",
    "Store",
    "normalize_url",
    "open_store",
]

SCHEMA_VERSION = 3
PAGE_BYTES = 8 * 1024 * 1024
"""About the most body bytes a page of `iter_exchanges` holds (fewer rows when bodies are
large; at least one row)."""
COMPRESS_THRESHOLD = 4096
"""Bodies of this many bytes or more are stored zstd-compressed (when that saves space)."""

_FLAG_REQ_ZSTD = 1
_FLAG_RESP_ZSTD = 2

metadata = sa.MetaData()

meta_table = sa.Table(
    "amber_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

_BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

exchanges = sa.Table(
    "amber_exchanges",
    metadata,
    sa.Column("seq", _BigInt, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(32), nullable=False),
    sa.Column("request_id", sa.String(200)),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("method", sa.String(16), nullable=False),
    sa.Column("scheme", sa.String(8), nullable=False),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("port", sa.Integer, nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("query", sa.Text, nullable=False),
    sa.Column("route", sa.Text, nullable=False),
    sa.Column("status", sa.Integer),
    sa.Column("error", sa.Text),
    sa.Column("duration_ms", sa.Float),
    sa.Column("truncated", sa.Boolean, nullable=False),
    sa.Column("doc", sa.LargeBinary, nullable=False),
    sa.Column("flags", sa.Integer, nullable=False),
    sa.Column("req_body", sa.LargeBinary, nullable=False),
    sa.Column("resp_body", sa.LargeBinary),
    sa.Index("ix_amber_exchanges_id", "id", unique=True),
    sa.Index("ix_amber_exchanges_request_id", "request_id"),
    sa.Index("ix_amber_exchanges_started_at", "started_at"),
    # route and method lookups carry status, so a status filter needs no row fetches
    sa.Index("ix_amber_exchanges_route", "route", "started_at", "status"),
    sa.Index("ix_amber_exchanges_status", "status", "started_at"),
    sa.Index("ix_amber_exchanges_method", "method", "started_at", "status"),
)

_SUMMARY_COLUMNS = (
    exchanges.c.seq,
    exchanges.c.id,
    exchanges.c.request_id,
    exchanges.c.started_at,
    exchanges.c.method,
    exchanges.c.host,
    exchanges.c.path,
    exchanges.c.query,
    exchanges.c.route,
    exchanges.c.status,
    exchanges.c.error,
    exchanges.c.duration_ms,
    exchanges.c.truncated,
)

_INSERT_COLUMNS = tuple(c.name for c in exchanges.columns if c.name != "seq")
# `Store._exchange` unpacks rows positionally in this order:
assert tuple(c.name for c in exchanges.columns) == (
    "seq", "id", "request_id", "started_at", "method", "scheme", "host", "port", "path",
    "query", "route", "status", "error", "duration_ms", "truncated", "doc", "flags",
    "req_body", "resp_body",
)

# Replay and shadow runs (schema 2): one row per run.
runs = sa.Table(
    "amber_runs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),  # replay | shadow
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("finished_at", sa.Float),
    sa.Column("state", sa.String(16), nullable=False),  # running | completed | interrupted
    sa.Column("target", sa.Text, nullable=False),  # URLs with passwords hidden
    sa.Column("params", sa.LargeBinary, nullable=False),  # JSON: flags, filters, reason
    sa.Column("summary", sa.LargeBinary),  # JSON: counts (and the shadow report)
    sa.Index("ix_amber_runs_started_at", "started_at"),
)

# Schema 3: a run's results in chunks, one row per batch of results (a JSON array of
# `[exchange_id, sent_at, status, latency_ms, ok, error, detail]`, zstd-compressed). One row
# per result, as in schema 2, cost a replay a third of its throughput in index updates.
run_chunks = sa.Table(
    "amber_run_chunks",
    metadata,
    sa.Column("seq", _BigInt, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(32), nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Index("ix_amber_run_chunks_run", "run_id", "seq"),
)

# Schema 2's table, for the migration only (not created in new stores).
_legacy = sa.MetaData()
_legacy_run_results = sa.Table(
    "amber_run_results",
    _legacy,
    sa.Column("seq", _BigInt, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(32), nullable=False),
    sa.Column("exchange_id", sa.String(32), nullable=False),
    sa.Column("sent_at", sa.Float, nullable=False),
    sa.Column("status", sa.Integer),
    sa.Column("latency_ms", sa.Float),
    sa.Column("ok", sa.Boolean, nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("detail", sa.LargeBinary, nullable=False),
    sa.Index("ix_amber_run_results_run", "run_id", "seq"),
    sa.Index("ix_amber_run_results_exchange", "exchange_id"),
)


def pack_results(results: Sequence[Sequence[Any]]) -> bytes:
    """A run chunk's `data` from result rows (JSON-compatible sequences)."""
    return pack_encoded([orjson.dumps(r, default=str) for r in results])


def pack_encoded(rows: Sequence[bytes]) -> bytes:
    """A run chunk's `data` from result rows already encoded as JSON arrays."""
    return bytes(zstandard.ZstdCompressor(level=3).compress(b"[" + b",".join(rows) + b"]"))


def unpack_results(data: bytes) -> list[list[Any]]:
    """The result rows of a run chunk's `data`."""
    rows: list[list[Any]] = orjson.loads(unpack_json(data))
    return rows


def unpack_json(data: bytes) -> bytes:
    """A run chunk's `data` as the JSON text it holds (for leak scans)."""
    return bytes(zstandard.ZstdDecompressor().decompress(data))


def _migrate_1_to_2(conn: Connection) -> None:
    metadata.create_all(conn, tables=[runs])
    _legacy.create_all(conn)


def _migrate_2_to_3(conn: Connection, chunk: int = 500) -> None:
    """Results move from one row each into chunks, run by run, in their order."""
    metadata.create_all(conn, tables=[run_chunks])
    c = _legacy_run_results.c
    last = 0
    pending: list[list[Any]] = []
    run_id: str | None = None

    def flush() -> None:
        if pending:
            conn.execute(run_chunks.insert().values(run_id=run_id, count=len(pending),
                                                    data=pack_results(pending)))
            pending.clear()

    while True:
        rows = conn.execute(
            sa.select(_legacy_run_results).where(c.seq > last).order_by(c.seq).limit(5000)
        ).all()
        if not rows:
            break
        for row in rows:
            m = row._mapping
            if m["run_id"] != run_id or len(pending) >= chunk:
                flush()
                run_id = m["run_id"]
            pending.append([m["exchange_id"], m["sent_at"], m["status"], m["latency_ms"],
                            bool(m["ok"]), m["error"], orjson.loads(m["detail"])])
        last = rows[-1]._mapping["seq"]
    flush()
    _legacy_run_results.drop(conn)


# Migrations from version N to N+1, run in one transaction each. Add one per schema change.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {
    1: _migrate_1_to_2,
    2: _migrate_2_to_3,
}


@dataclass(frozen=True, slots=True)
class ExchangeSummary:
    """The columns `amber ls` shows, without bodies or headers."""

    id: str
    request_id: str | None
    started_at: float
    method: str
    host: str
    path: str
    query: str
    route: str
    status: int | None
    error: str | None
    duration_ms: float | None
    truncated: bool


@dataclass(frozen=True, slots=True)
class StatsRow:
    """Counts for one time bucket, method, route and status class."""

    bucket_start: float
    method: str
    route: str
    status_class: int  # 2 for 2xx ... 5 for 5xx; 0 for an upstream error (no response)
    count: int


@dataclass(slots=True)
class ExchangeQuery:
    """Filters shared by `ls`, `export`, `replay`, `stats` and test generation.

    `status` is either exact codes or classes: `status_classes=(5,)` matches 5xx.
    `path_glob` uses shell wildcards (`/api/*/orders`). Times are epoch seconds.
    """

    ids: Sequence[str] = ()
    statuses: Sequence[int] = ()
    status_classes: Sequence[int] = ()
    errors_only: bool = False
    methods: Sequence[str] = ()
    path_glob: str | None = None
    routes: Sequence[str] = ()
    hosts: Sequence[str] = ()
    request_id: str | None = None
    since: float | None = None
    until: float | None = None
    limit: int | None = None
    newest_first: bool = False
    extra: list[Any] = field(default_factory=list)

    def where(self) -> list[Any]:
        c = exchanges.c
        conds: list[Any] = list(self.extra)
        if self.ids:
            conds.append(c.id.in_(list(self.ids)))
        status_conds: list[Any] = []
        if self.statuses:
            status_conds.append(c.status.in_(list(self.statuses)))
        for klass in self.status_classes:
            status_conds.append(c.status.between(klass * 100, klass * 100 + 99))
        if self.errors_only:
            status_conds.append(c.error.is_not(None))
        if status_conds:
            conds.append(sa.or_(*status_conds))
        if self.methods:
            conds.append(c.method.in_([m.upper() for m in self.methods]))
        if self.routes:
            conds.append(c.route.in_(list(self.routes)))
        if self.hosts:
            conds.append(c.host.in_(list(self.hosts)))
        if self.request_id:
            conds.append(c.request_id == self.request_id)
        if self.since is not None:
            conds.append(c.started_at >= self.since)
        if self.until is not None:
            conds.append(c.started_at < self.until)
        if self.path_glob:
            conds.append(c.path.like(_glob_to_like(self.path_glob), escape="\\"))
        return conds

    def accepts_path(self, path: str) -> bool:
        """The exact glob check (LIKE in SQL is only a case-insensitive prefilter)."""
        return self.path_glob is None or fnmatch.fnmatchcase(path, self.path_glob)


def _glob_to_like(glob: str) -> str:
    out = []
    for ch in glob:
        if ch in "%_\\":
            out.append("\\" + ch)
        elif ch == "*":
            out.append("%")
        elif ch == "?":
            out.append("_")
        elif ch in "[]":
            out.append("_")  # character classes: a loose prefilter; fnmatch decides
        else:
            out.append(ch)
    return "".join(out)


def normalize_url(url: str) -> str:
    """Accept `postgres://`, `postgresql://` and bare file paths; pick the psycopg 3 driver."""
    if "://" not in url:
        return "sqlite:///" + url
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _prepare_sqlite_file(path: str) -> None:
    """Create the store's directory (0700) and file (0600) before SQLite opens it."""
    if path in ("", ":memory:") or path.startswith("file:"):
        return
    p = Path(path)
    if not p.parent.exists():
        p.parent.mkdir(parents=True, mode=0o700, exist_ok=True)
    if not p.exists():
        fd = os.open(p, os.O_CREAT | os.O_WRONLY, stat.S_IRUSR | stat.S_IWUSR)
        os.close(fd)


def _sqlite_pragmas(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # Checkpoints run in the store's own background thread (see `_Checkpointer`), not in
    # the middle of a writer's commit, which would stall it for the copy and the fsync.
    cur.execute("PRAGMA wal_autocheckpoint = 0")
    cur.execute("PRAGMA journal_size_limit = 67108864")
    cur.execute("PRAGMA busy_timeout = 10000")
    cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA synchronous = NORMAL")
    cur.execute("PRAGMA temp_store = MEMORY")
    cur.execute("PRAGMA cache_size = -64000")
    cur.close()


class _Checkpointer(threading.Thread):
    """Copies the WAL back into the database file off the writer's path.

    A PASSIVE checkpoint every `interval` seconds never blocks writers; when the WAL grows
    past `restart_pages` a RESTART checkpoint waits for the current writer and lets the WAL
    start over, so the file stays bounded under sustained writes.
    """

    def __init__(self, path: str, interval: float = 0.5, restart_pages: int = 16384) -> None:
        super().__init__(name="amber-wal-checkpoint", daemon=True)
        self.path = path
        self.interval = interval
        self.restart_pages = restart_pages
        self.stop_event = threading.Event()

    def run(self) -> None:
        try:
            # a short busy timeout: a checkpoint waiting on readers must never hold the
            # writer lock long enough to stall the capture writer behind it
            conn = sqlite3.connect(self.path, timeout=0.2, check_same_thread=False)
        except sqlite3.Error:
            return
        try:
            while not self.stop_event.wait(self.interval):
                self.checkpoint(conn)
        finally:
            self.checkpoint(conn, "TRUNCATE")
            conn.close()

    def checkpoint(self, conn: sqlite3.Connection,
                   mode: Literal["PASSIVE", "TRUNCATE"] = "PASSIVE") -> None:
        """One WAL checkpoint; a PASSIVE one that leaves a long log behind restarts it.
        `mode` goes into the PRAGMA's text, hence the closed set."""
        try:
            _busy, log_pages, _done = conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
            if mode == "PASSIVE" and log_pages > self.restart_pages:
                conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
        except sqlite3.Error:
            pass  # busy or locked: the next round tries again

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=30)


class Store:
    """An open exchange store. Thread-safe: each thread takes its own pooled connection.

    ```python
    >>> store = Store.open("sqlite:///tmp/amber.db")
    >>> store.add_many([exchange])
    >>> for ex in store.iter_exchanges(ExchangeQuery(status_classes=(5,))): ...
    ```
    """

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = url
        self._cctx = threading.local()
        self._checkpointer: _Checkpointer | None = None
        self._checkpointer_lock = threading.Lock()
        param = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        self._insert_sql = "INSERT INTO amber_exchanges ({}) VALUES ({})".format(
            ", ".join(_INSERT_COLUMNS), ", ".join([param] * len(_INSERT_COLUMNS))
        )

    # -- opening -----------------------------------------------------------------------

    @classmethod
    def open(cls, url: str, *, create: bool = True) -> Store:
        """Open (and create or migrate) the store at `url`.

        *Raises:* `StoreUnavailable` (cannot connect), `StoreCorrupt` (not an amber store or
        a damaged file), `StoreVersionError` (written by a newer amber).
        """
        url = normalize_url(url)
        shown = hide_password(url)
        try:
            parsed = make_url(url)
        except Exception as e:
            raise StoreUnavailable(
                f"store URL {shown!r} is not a database URL; use sqlite:///PATH or "
                "postgresql://USER@HOST/DB"
            ) from e
        kwargs: dict[str, Any] = {}
        if parsed.get_backend_name() == "sqlite":
            db = parsed.database or ""
            if not create and db and db != ":memory:" and not Path(db).exists():
                raise StoreUnavailable(f"no store at {db}; capture or import exchanges first")
            try:
                _prepare_sqlite_file(db)
            except OSError as e:
                raise StoreUnavailable(f"cannot create the store file {db}: {e.strerror}") from e
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 10}
        elif parsed.get_backend_name() == "postgresql":
            kwargs["connect_args"] = {"connect_timeout": 10}
            kwargs["pool_pre_ping"] = True
        try:
            engine = sa.create_engine(url, **kwargs)
        except Exception as e:  # missing driver, bad dialect
            raise StoreUnavailable(f"cannot open store {shown}: {e}") from e
        if parsed.get_backend_name() == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        store = cls(engine, url)
        store._init_schema(shown)
        return store

    def _init_schema(self, shown: str) -> None:
        try:
            with self.engine.begin() as conn:
                insp = sa.inspect(conn)
                tables = set(insp.get_table_names())
                if "amber_meta" not in tables:
                    foreign = tables - {"amber_exchanges"}
                    if foreign:
                        raise StoreCorrupt(
                            f"{shown} is not an amber store (it has tables "
                            f"{', '.join(sorted(foreign)[:5])}); point --store at a new file "
                            "or an empty database"
                        )
                    metadata.create_all(conn)
                    conn.execute(
                        meta_table.insert(),
                        [
                            {"key": "schema_version", "value": str(SCHEMA_VERSION)},
                            {"key": "created_at", "value": str(time.time())},
                        ],
                    )
                    return
                row = conn.execute(
                    sa.select(meta_table.c.value).where(meta_table.c.key == "schema_version")
                ).first()
            version = int(row[0]) if row else 0
        except StoreError:
            raise
        except sa.exc.OperationalError as e:
            raise StoreUnavailable(f"cannot open store {shown}: {_short(e)}") from e
        except sa.exc.DatabaseError as e:
            raise StoreCorrupt(
                f"{shown} is not a readable amber store ({_short(e)}); move it aside and "
                "start a new store, or restore it from a backup"
            ) from e
        except sa.exc.SQLAlchemyError as e:
            raise StoreUnavailable(f"cannot open store {shown}: {_short(e)}") from e
        if version > SCHEMA_VERSION:
            raise StoreVersionError(
                f"{shown} has store schema {version}, newer than this amber's "
                f"{SCHEMA_VERSION}: upgrade amber (pip install -U amber) to read it"
            )
        if version < SCHEMA_VERSION:
            self._migrate(version, shown)

    def _migrate(self, version: int, shown: str) -> None:
        while version < SCHEMA_VERSION:
            step = MIGRATIONS.get(version)
            if step is None:
                raise StoreVersionError(
                    f"{shown} has store schema {version}, which this amber cannot migrate; "
                    "export it with the amber that wrote it (amber export --format jsonl) "
                    "and import the file into a new store"
                )
            with self.engine.begin() as conn:
                step(conn)
                conn.execute(
                    meta_table.update()
                    .where(meta_table.c.key == "schema_version")
                    .values(value=str(version + 1))
                )
            version += 1

    def close(self) -> None:
        """Stop the checkpointer (folding the WAL back into the file) and close connections."""
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        self.engine.dispose()

    def _ensure_checkpointer(self) -> None:
        if self._checkpointer is not None or self.dialect != "sqlite":
            return
        db = self.engine.url.database or ""
        if not db or db == ":memory:":
            return
        with self._checkpointer_lock:
            if self._checkpointer is None:
                self._checkpointer = _Checkpointer(db)
                self._checkpointer.start()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    # -- writing -----------------------------------------------------------------------

    def _compressor(self) -> zstandard.ZstdCompressor:
        c: zstandard.ZstdCompressor | None = getattr(self._cctx, "c", None)
        if c is None:
            c = zstandard.ZstdCompressor(level=3)
            self._cctx.c = c
        return c

    def _pack_body(self, body: bytes) -> tuple[bytes, bool]:
        if len(body) >= COMPRESS_THRESHOLD:
            packed = self._compressor().compress(body)
            if len(packed) < len(body) * 0.9:
                return packed, True
        return body, False

    def _row(self, ex: Exchange) -> tuple[Any, ...]:
        req, resp = ex.request, ex.response
        doc: dict[str, Any] = {
            "rq": {
                "v": req.http_version,
                "h": req.headers,
                "ce": req.content_encoding,
                "hh": req.host_header,
                "ts": req.timestamp_start,
                "te": req.timestamp_end,
                "tr": req.body_truncated,
            },
            "ca": ex.client_addr,
            "tg": ex.tags,
            "rd": [(r.rule, r.location, r.action) for r in ex.redactions],
        }
        if ex.meta:
            doc["m"] = ex.meta
        flags = 0
        req_body, z = self._pack_body(req.body)
        if z:
            flags |= _FLAG_REQ_ZSTD
        resp_body: bytes | None = None
        if resp is not None:
            doc["rs"] = {
                "r": resp.reason,
                "v": resp.http_version,
                "h": resp.headers,
                "ce": resp.content_encoding,
                "ts": resp.timestamp_start,
                "te": resp.timestamp_end,
                "tr": resp.body_truncated,
            }
            resp_body, z = self._pack_body(resp.body)
            if z:
                flags |= _FLAG_RESP_ZSTD
        # in `_INSERT_COLUMNS` order: handed to the driver as is
        return (
            ex.id,
            ex.request_id[:200] if ex.request_id else None,
            req.timestamp_start,
            req.method,
            req.scheme,
            req.host,
            req.port,
            req.path,
            req.query,
            ex.route,
            resp.status if resp is not None else None,
            ex.error,
            ex.duration_ms,
            ex.truncated,
            orjson.dumps(doc),
            flags,
            req_body,
            resp_body,
        )

    def add(self, ex: Exchange) -> None:
        self.add_many([ex])

    def add_many(self, batch: Iterable[Exchange]) -> int:
        """Insert exchanges in one transaction. Returns how many were written.

        *Raises:* `StoreError` subclasses; the transaction is rolled back, nothing partial.
        """
        rows = [self._row(ex) for ex in batch]
        if not rows:
            return 0
        self._ensure_checkpointer()
        try:
            with self.engine.begin() as conn:
                # Positional parameters straight to the driver: SQLAlchemy's per-row bind
                # processing costs more than SQLite's own insert at capture rates.
                conn.exec_driver_sql(self._insert_sql, rows)
        except sa.exc.IntegrityError as e:
            raise StoreError(
                f"an exchange with one of these ids is already stored ({_short(e)}); "
                "ids are unique: re-import into a fresh store or skip duplicates"
            ) from e
        except sa.exc.OperationalError as e:
            raise StoreUnavailable(f"cannot write to the store: {_short(e)}") from e
        except sa.exc.SQLAlchemyError as e:
            raise StoreError(f"cannot write to the store: {_short(e)}") from e
        return len(rows)

    def existing_ids(self, ids: Sequence[str]) -> set[str]:
        """Which of `ids` are already stored (for idempotent imports)."""
        if not ids:
            return set()
        with self._read() as conn:
            rows = conn.execute(sa.select(exchanges.c.id).where(exchanges.c.id.in_(list(ids))))
            return {r[0] for r in rows}

    # -- reading -----------------------------------------------------------------------

    def _read(self) -> Connection:
        try:
            return self.engine.connect()
        except sa.exc.SQLAlchemyError as e:
            raise StoreUnavailable(f"cannot read the store: {_short(e)}") from e

    def _unpack_body(self, data: bytes | None, compressed: bool) -> bytes:
        if data is None:
            return b""
        if compressed:
            return self._decompressor().decompress(data)
        return data if type(data) is bytes else bytes(data)  # PostgreSQL gives memoryview

    def _decompressor(self) -> zstandard.ZstdDecompressor:
        d: zstandard.ZstdDecompressor | None = getattr(self._cctx, "d", None)
        if d is None:
            d = self._cctx.d = zstandard.ZstdDecompressor()
        return d

    def _exchange(self, row: sa.Row[Any]) -> Exchange:
        # Positional access: RowMapping lookups by name cost more than the rest of decoding.
        (_seq, id_, request_id, _started, method, scheme, host, port, path, query, route,
         status, error, _duration, _truncated, doc_bytes, flags, req_body, resp_body) = tuple(row)
        doc = orjson.loads(doc_bytes)
        rq = doc["rq"]
        if flags or type(req_body) is not bytes:
            req_body = self._unpack_body(req_body, bool(flags & _FLAG_REQ_ZSTD))
        req = Request(
            method, scheme, host, port, path, query, rq["v"],
            tuple([(k, v) for k, v in rq["h"]]), req_body,
            rq["ce"], rq["hh"], rq["ts"], rq["te"], rq["tr"],
        )
        resp = None
        rs = doc.get("rs")
        if rs is not None:
            if resp_body is None or flags or type(resp_body) is not bytes:
                resp_body = self._unpack_body(resp_body, bool(flags & _FLAG_RESP_ZSTD))
            resp = Response(
                status, rs["r"], rs["v"],
                tuple([(k, v) for k, v in rs["h"]]), resp_body,
                rs["ce"], rs["ts"], rs["te"], rs["tr"],
            )
        tags = doc.get("tg")
        rd = doc.get("rd")
        return Exchange(
            id_, req, resp, error, doc.get("ca"), request_id, route,
            tuple(tags) if tags else (),
            tuple([Redaction(*r) for r in rd]) if rd else (),
            doc.get("m") or {},
        )

    def get(self, key: str) -> Exchange:
        """The exchange with amber id `key`, else the latest with request id `key`, else the
        one whose amber id starts with `key` (at least 6 characters).

        *Raises:* `NotFound` with a hint when nothing (or more than one prefix) matches.
        """
        matches = self.lookup(key)
        if not matches:
            raise NotFound(
                f"no exchange with id or request id {key!r}; list candidates with "
                "`amber ls` (filters: --status, --route, --since)"
            )
        return matches[0]

    def lookup(self, key: str) -> list[Exchange]:
        """Exchanges matching `key` as for `get`, newest first (several share a request id)."""
        c = exchanges.c
        with self._read() as conn:
            rows = conn.execute(sa.select(exchanges).where(c.id == key.upper())).all()
            if not rows:
                rows = conn.execute(
                    sa.select(exchanges)
                    .where(c.request_id == key)
                    .order_by(c.started_at.desc())
                    .limit(50)
                ).all()
            if not rows and len(key) >= 6 and key.isalnum():
                prefix = key.upper()
                rows = conn.execute(
                    sa.select(exchanges)
                    .where(c.id >= prefix, c.id < prefix + "\x7f")
                    .limit(2)
                ).all()
                if len(rows) > 1:
                    raise NotFound(
                        f"id prefix {key!r} is ambiguous; give more characters of the id"
                    )
        return [self._exchange(r) for r in rows]

    def summaries(self, query: ExchangeQuery) -> list[ExchangeSummary]:
        """Summaries (no bodies) matching `query`, oldest first unless `newest_first`."""
        return list(self.iter_summaries(query))

    def iter_summaries(
        self, query: ExchangeQuery, page: int = 1000
    ) -> Iterator[ExchangeSummary]:
        yield from self._paged(query, _SUMMARY_COLUMNS, page, self._summary)

    def iter_exchanges(
        self, query: ExchangeQuery | None = None, page: int = 200
    ) -> ExchangeStream:
        """Stream full exchanges matching `query`, one page in memory at a time: at most `page`
        rows, fewer when their bodies pass `PAGE_BYTES`.

        The result is an iterator of `Exchange`; `ExchangeStream.rows()` and `.decode()` split
        reading from decoding, for a consumer that reads in one thread and decodes in another.
        """
        return ExchangeStream(self, query or ExchangeQuery(), page)

    def _summary(self, row: sa.Row[Any]) -> ExchangeSummary:
        m = row._mapping
        return ExchangeSummary(
            id=m["id"],
            request_id=m["request_id"],
            started_at=m["started_at"],
            method=m["method"],
            host=m["host"],
            path=m["path"],
            query=m["query"],
            route=m["route"],
            status=m["status"],
            error=m["error"],
            duration_ms=m["duration_ms"],
            truncated=bool(m["truncated"]),
        )

    def _paged(
        self,
        query: ExchangeQuery,
        columns: Sequence[Any],
        page: int,
        convert: Callable[[sa.Row[Any]], Any],
        page_bytes: int | None = None,
    ) -> Iterator[Any]:
        """Keyset pagination over (started_at, seq): no long-lived cursor, bounded memory.

        With `page_bytes` (full rows, sized by `_body_bytes`), the next page
        asks for as many rows as the last page's bodies suggest fit in `page_bytes`, at most
        `page`: a page of large bodies stays about that size instead of `page` times them.
        """
        c = exchanges.c
        max_page = page
        conds = query.where()
        remaining = query.limit
        last: tuple[float, int] | None = None
        desc = query.newest_first
        # positions of the columns paging needs (rows are read by position: cheaper)
        keys = list(sa.select(*columns).selected_columns.keys())
        i_seq, i_started, i_path = (keys.index(k) for k in ("seq", "started_at", "path"))
        while remaining is None or remaining > 0:
            stmt = sa.select(*columns)
            where = list(conds)
            if last is not None:
                t, s = last
                # `started_at >= t AND (...)`, not `started_at > t OR (...)`: the bound lets
                # SQLite seek the index; with the OR alone it scans from the first row
                # (each page costs more than the last: quadratic over a large store).
                if desc:
                    where += (c.started_at <= t, sa.or_(c.started_at < t, c.seq < s))
                else:
                    where += (c.started_at >= t, sa.or_(c.started_at > t, c.seq > s))
            if where:
                stmt = stmt.where(*where)
            order = (c.started_at.desc(), c.seq.desc()) if desc else (c.started_at, c.seq)
            n = page if remaining is None else min(page, remaining)
            stmt = stmt.order_by(*order).limit(n)
            try:
                with self._read() as conn:
                    rows = conn.execute(stmt).all()
            except sa.exc.SQLAlchemyError as e:
                raise StoreUnavailable(f"cannot read the store: {_short(e)}") from e
            if not rows:
                return
            if query.path_glob is None and remaining is None:
                yield from map(convert, rows)  # the common case: nothing to check per row
            else:
                for row in rows:
                    if not query.accepts_path(row[i_path]):
                        continue
                    if remaining is not None:
                        remaining -= 1
                    yield convert(row)
                    if remaining is not None and remaining <= 0:
                        return
            last_row = rows[-1]
            last = (last_row[i_started], last_row[i_seq])
            if len(rows) < n:
                return
            if page_bytes is not None:
                size = sum(map(_body_bytes, rows)) or 1
                page = max(1, min(max_page, int(len(rows) * page_bytes / size)))

    def count(self, query: ExchangeQuery | None = None) -> int:
        query = query or ExchangeQuery()
        stmt = sa.select(sa.func.count()).select_from(exchanges)
        conds = query.where()
        if conds:
            stmt = stmt.where(*conds)
        with self._read() as conn:
            return int(conn.execute(stmt).scalar_one())

    def stats(self, query: ExchangeQuery, bucket_seconds: int) -> list[StatsRow]:
        """Counts per time bucket, method, route and status class (0 = upstream error)."""
        c = exchanges.c
        if self.dialect == "sqlite":
            bucket = sa.cast(c.started_at / bucket_seconds, sa.Integer)
            klass = sa.cast(sa.func.coalesce(c.status, 0) / 100, sa.Integer)
        else:
            bucket = sa.cast(sa.func.floor(c.started_at / bucket_seconds), sa.BigInteger)
            klass = sa.cast(sa.func.floor(sa.func.coalesce(c.status, 0) / 100), sa.Integer)
        stmt = sa.select(bucket.label("b"), c.method, c.route, klass.label("k"), sa.func.count())
        conds = query.where()
        if conds:
            stmt = stmt.where(*conds)
        stmt = stmt.group_by(bucket, c.method, c.route, klass).order_by(bucket)
        with self._read() as conn:
            return [
                StatsRow(float(b) * bucket_seconds, m, r, int(k), int(n))
                for b, m, r, k, n in conn.execute(stmt)
            ]

    def time_range(self, query: ExchangeQuery | None = None) -> tuple[float, float] | None:
        c = exchanges.c
        stmt = sa.select(sa.func.min(c.started_at), sa.func.max(c.started_at))
        conds = (query or ExchangeQuery()).where()
        if conds:
            stmt = stmt.where(*conds)
        with self._read() as conn:
            lo, hi = conn.execute(stmt).one()
        return None if lo is None else (float(lo), float(hi))


def _short(e: BaseException) -> str:
    orig = getattr(e, "orig", None)
    text = str(orig if orig is not None else e).strip().splitlines()
    return text[0] if text else type(e).__name__


def open_store(url: str, *, create: bool = True) -> Store:
    """Open the store at `url` (see `Store.open`)."""
    return Store.open(url, create=create)


class ExchangeStream(Iterator[Exchange]):
    """The exchanges of a query, read from the store page by page as they are iterated.

    Iterating decodes each row as it is reached. A consumer can instead take the raw rows
    from `rows()` (reading is then all that happens there) and turn each into an `Exchange`
    with `decode(row)` where it suits it: the replayer reads in a thread but decodes on its
    event loop, because decoding in the thread holds the GIL at moments the loop needs it
    (measured: 0.87 of wrk's rate against 0.99). Use one way or the other, not both.
    """

    __slots__ = ("_it", "_page", "_query", "_store")

    def __init__(self, store: Store, query: ExchangeQuery, page: int) -> None:
        self._store = store
        self._query = query
        self._page = page
        self._it: Iterator[Exchange] | None = None

    def __iter__(self) -> ExchangeStream:
        return self

    def __next__(self) -> Exchange:
        if self._it is None:
            self._it = map(self._store._exchange, self.rows())
        return next(self._it)

    def rows(self) -> Iterator[Any]:
        """The matching rows, undecoded, in order (a page at a time)."""
        return self._store._paged(self._query, (exchanges,), self._page, _same,
                                  page_bytes=PAGE_BYTES)

    @staticmethod
    def row_size(row: Any) -> int:
        """About how many bytes a row from `rows()` holds (its bodies, as stored)."""
        return _body_bytes(row)

    def decode(self, row: Any) -> Exchange:
        """The `Exchange` of a row from `rows()`."""
        return self._store._exchange(row)


def _same(row: Any) -> Any:
    return row


def _body_bytes(row: Any) -> int:
    """The stored size of a full exchange row's bodies (its last two columns)."""
    return len(row[-1] or b"") + len(row[-2] or b"")
