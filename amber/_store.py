"""The exchange store: SQLite by default (one file, WAL), PostgreSQL by URL.

One table holds exchanges. Columns that are filtered on (id, request id, time, method,
route, status, host) are real, indexed columns; the rest of the exchange (headers,
timestamps, HTTP versions, the sanitizer's report) is one JSON document per row, and the
bodies are two binary columns, zstd-compressed above a size threshold.

Every string the model admits fits: text columns have no length limit, and a value a text
column cannot hold as it is (raw non-UTF-8 bytes kept by `surrogateescape`, NUL, or an
indexed value too long for a PostgreSQL index entry) is stored there in a printable form
(see `_stored_text`), exactly in the row's document, and the row is flagged `_FLAG_TEXT`.

Commands that only read open the store with `read_only=True`: a SQLite file is then read
through connections that cannot write it, its WAL or its `-shm` (see
`_connect_read_only`), and nothing is created or migrated. Every open looks at an existing
file's bytes before anything writes to it, so a file that is not an amber store is refused
untouched.

Reads stream: `iter_exchanges()` pages through the table by primary key, so replaying,
exporting or generating tests from a million exchanges holds one page in memory.

One module because the tables, their migrations, the row encoding and the queries change
together: a new column or schema version touches all four, and a migration has to be read
against the tables it produces.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import json
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
from urllib.parse import quote

import orjson
import sqlalchemy as sa
import zstandard
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from amber._model import Exchange
from amber._model import Redaction
from amber._model import Request
from amber._model import Response
from amber._model import loads_json
from amber._model import printable
from amber._urls import hide_password
from amber._urls import normalize_url
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
    "sqlite_tables",
]

SCHEMA_VERSION = 4
PAGE_BYTES = 8 * 1024 * 1024
"""About the most body bytes a page of `iter_exchanges` holds (fewer rows when bodies are
large; at least one row)."""
COMPRESS_THRESHOLD = 4096
"""Bodies of this many bytes or more are stored zstd-compressed (when that saves space)."""

_FLAG_REQ_ZSTD = 1
_FLAG_RESP_ZSTD = 2
_FLAG_TEXT = 4
"""The row's document is standard-library JSON (it may hold lone surrogates, which orjson
refuses) and its `x` object holds the exact value of each text column stored otherwise."""

INDEX_KEY_BYTES = 1000
"""The most UTF-8 bytes an indexed text column (id, request id, method, route) holds as is:
PostgreSQL refuses an index entry over about 2700 bytes."""

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
    # Schema 4: no length limits on text (a legal 17-character method overflowed
    # varchar(16) on PostgreSQL); `_stored_text` keeps indexed values within an index entry.
    sa.Column("id", sa.Text, nullable=False),
    sa.Column("request_id", sa.Text),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("method", sa.Text, nullable=False),
    sa.Column("scheme", sa.Text, nullable=False),
    sa.Column("host", sa.Text, nullable=False),
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
    exchanges.c.flags,
    # the document only where it holds exact text values (see `_FLAG_TEXT`)
    sa.case((exchanges.c.flags.op("&")(_FLAG_TEXT) != 0, exchanges.c.doc), else_=sa.null()).label(
        "text_doc"
    ),
)

# The text columns, in row order, and whether each is indexed (so capped, see `_stored_text`).
_TEXT_COLUMNS = ("id", "request_id", "method", "scheme", "host", "path", "query", "route", "error")
_INDEXED_TEXT = frozenset({"id", "request_id", "method", "route"})

_INSERT_COLUMNS = tuple(c.name for c in exchanges.columns if c.name != "seq")
# `Store._exchange` unpacks rows positionally in this order:
assert tuple(c.name for c in exchanges.columns) == (
    "seq",
    "id",
    "request_id",
    "started_at",
    "method",
    "scheme",
    "host",
    "port",
    "path",
    "query",
    "route",
    "status",
    "error",
    "duration_ms",
    "truncated",
    "doc",
    "flags",
    "req_body",
    "resp_body",
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
    """The result rows of a run chunk's `data` (lone-surrogate escapes, which a result of an
    exchange with raw non-UTF-8 bytes in its path may hold, read back as they were)."""
    rows: list[list[Any]] = loads_json(unpack_json(data))
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
            conn.execute(
                run_chunks.insert().values(
                    run_id=run_id, count=len(pending), data=pack_results(pending)
                )
            )
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
            pending.append(
                [
                    m["exchange_id"],
                    m["sent_at"],
                    m["status"],
                    m["latency_ms"],
                    bool(m["ok"]),
                    m["error"],
                    orjson.loads(m["detail"]),
                ]
            )
        last = rows[-1]._mapping["seq"]
    flush()
    _legacy_run_results.drop(conn)


def _migrate_3_to_4(conn: Connection) -> None:
    """Protocol text columns lose their length limits. SQLite never enforced them, so only
    PostgreSQL changes; varchar to text needs no table rewrite there. Rows written from
    schema 4 on may carry `_FLAG_TEXT`, which is why an older amber must not read them."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            "ALTER TABLE amber_exchanges "
            + ", ".join(
                f"ALTER COLUMN {name} TYPE TEXT"
                for name in ("id", "request_id", "method", "scheme", "host")
            )
        )


# Migrations from version N to N+1, run in one transaction each. Add one per schema change.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {
    1: _migrate_1_to_2,
    2: _migrate_2_to_3,
    3: _migrate_3_to_4,
}


# -- text every backend can store ------------------------------------------------------


def _plain(value: str, indexed: bool) -> bool:
    """True when a text column can hold `value` as it is: ASCII (or UTF-8) without NUL,
    and within an index entry when the column is indexed. The common case is ASCII."""
    if value.isascii():
        return "\x00" not in value and (not indexed or len(value) <= INDEX_KEY_BYTES)
    if "\x00" in value:
        return False
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:  # lone surrogates: raw bytes kept by surrogateescape
        return False
    return not indexed or size <= INDEX_KEY_BYTES


def _stored_text(value: str, indexed: bool) -> str:
    """The form of a text value its column holds, the same for a row and for a filter.

    A plain value (see `_plain`) is itself. Any other is `printable(value)` (`\\xe9` for a
    raw byte, `\\x00` for NUL), valid UTF-8 on every backend; an indexed one longer than
    `INDEX_KEY_BYTES` is cut to a prefix plus `...#` and 16 hex digits of its SHA-256, so
    equal values still meet in the index. The exact value is in the row's document.
    """
    if _plain(value, indexed):
        return value
    text = printable(value)
    data = text.encode("utf-8")
    if indexed and len(data) > INDEX_KEY_BYTES:
        digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        head = data[: INDEX_KEY_BYTES - 24].decode("utf-8", "ignore")
        text = f"{head}...#{digest}"
    return text


def _stored_texts(values: Sequence[str | None]) -> tuple[list[str | None], dict[str, str]]:
    """The stored forms of a row's `_TEXT_COLUMNS` values, and the exact values of those
    stored otherwise (for the row's document)."""
    stored: list[str | None] = []
    exact: dict[str, str] = {}
    for name, value in zip(_TEXT_COLUMNS, values, strict=True):
        if value is None:
            stored.append(None)
            continue
        form = _stored_text(value, name in _INDEXED_TEXT)
        if form != value:
            exact[name] = value
        stored.append(form)
    return stored, exact


def _document(ex: Exchange) -> dict[str, Any]:
    """The row's JSON document: what has no column of its own (headers, timestamps, HTTP
    versions, tags, the sanitizer's report, meta)."""
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
    return doc


def _encode_texts(
    texts: Sequence[str | None], doc: dict[str, Any]
) -> tuple[Sequence[Any], bytes, bool]:
    """A row's text columns and document when the common case does not hold: the stored
    forms, the document (with the exact values where they differ), and whether the row
    needs `_FLAG_TEXT`. Plain non-ASCII text (`/caf\u00e9`) still needs no flag."""
    stored, exact = _stored_texts(texts)
    if not exact:
        try:
            return stored, orjson.dumps(doc), False
        except orjson.JSONEncodeError:  # lone surrogates in a header, a tag, meta...
            pass
    else:
        doc["x"] = exact
    return stored, _text_doc(doc, str(texts[0])), True


def _text_doc(doc: dict[str, Any], exchange_id: str) -> bytes:
    """A `_FLAG_TEXT` row's document: standard-library JSON, which writes lone surrogates
    as `\\udce9` escapes and reads them back as the same string.

    *Raises:* `StoreError` when the exchange holds a value JSON cannot represent (in its
    meta): that exchange cannot be stored, and the message names it, not its content.
    """
    try:
        return json.dumps(doc, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode(
            "ascii"
        )
    except (TypeError, ValueError) as e:
        raise StoreError(
            f"exchange {printable(exchange_id)} cannot be stored: it holds a value JSON "
            f"cannot represent ({type(e).__name__}); keep meta to JSON types"
        ) from e


def _load_text_doc(data: Any) -> dict[str, Any]:
    """A `_FLAG_TEXT` row's document (standard-library JSON; PostgreSQL gives memoryview)."""
    doc: dict[str, Any] = json.loads(bytes(data))
    return doc


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

    Text filters compare stored forms in SQL (`_stored_text`, so a value with raw bytes
    matches too); rows read back are then checked against the exact values (`accepts`).
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
            conds.append(c.id.in_([_stored_text(i, True) for i in self.ids]))
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
            conds.append(c.method.in_([_stored_text(m.upper(), True) for m in self.methods]))
        if self.routes:
            conds.append(c.route.in_([_stored_text(r, True) for r in self.routes]))
        if self.hosts:
            conds.append(c.host.in_([_stored_text(h, False) for h in self.hosts]))
        if self.request_id:
            conds.append(c.request_id == _stored_text(self.request_id, True))
        if self.since is not None:
            conds.append(c.started_at >= self.since)
        if self.until is not None:
            conds.append(c.started_at < self.until)
        if self.path_glob:
            conds.append(_path_prefilter(self.path_glob))
        return conds

    @property
    def filters_text(self) -> bool:
        """True when a row read back needs `accepts` (SQL compared stored text forms)."""
        return bool(
            self.ids
            or self.methods
            or self.routes
            or self.hosts
            or self.request_id
            or self.path_glob
        )

    @property
    def plain_values(self) -> bool:
        """True when every exact-match filter value is stored as it is (`_plain`): then SQL's
        match on a row without `_FLAG_TEXT` is exact (else it may be a look-alike: ordinary
        text that reads like the escaped form of a raw-byte value)."""
        return all(
            _plain(v, True)
            for v in (*self.ids, *self.methods, *self.routes, *self.hosts, self.request_id or "")
        )

    def accepts_path(self, path: str) -> bool:
        """The exact glob check (LIKE in SQL is only a case-insensitive prefilter)."""
        return self.path_glob is None or fnmatch.fnmatchcase(path, self.path_glob)

    def accepts(self, texts: dict[str, Any]) -> bool:
        """The exact check of the text filters against a row's `_TEXT_COLUMNS` values."""
        return (
            (not self.ids or texts["id"] in self.ids)
            and (not self.methods or texts["method"] in {m.upper() for m in self.methods})
            and (not self.routes or texts["route"] in self.routes)
            and (not self.hosts or texts["host"] in self.hosts)
            and (not self.request_id or texts["request_id"] == self.request_id)
            and self.accepts_path(texts["path"])
        )


def _path_prefilter(glob: str) -> Any:
    """SQL that keeps at least the rows whose path matches `glob` (`accepts` decides)."""
    like = exchanges.c.path.like(_glob_to_like(printable(glob)), escape="\\")
    if "?" in glob or "[" in glob:
        # one glob character can stand for an escape (`\\xe9`) in a stored path
        return sa.or_(like, exchanges.c.flags.op("&")(_FLAG_TEXT) != 0)
    return like


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


SQLITE_MAGIC = b"SQLite format 3\x00"


_READ_ATTEMPTS = 8  # reads of one statement before a store that keeps changing is reported


@dataclass(frozen=True)
class _FileState:
    """What a write into the SQLite file changes: its inode, size, times and 100-byte header
    (whose change counter and page count a checkpoint that copies page 1 rewrites)."""

    ino: int
    size: int
    mtime_ns: int
    ctime_ns: int
    header: bytes


def _file_state(path: str) -> _FileState | None:
    try:
        with open(path, "rb") as fp:
            st = os.fstat(fp.fileno())
            header = fp.read(100)
    except OSError:
        return None
    return _FileState(st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, header)


class _ImmutableConnection(sqlite3.Connection):
    """An `immutable=1` connection whose every statement is checked against the file it was
    opened on (see `_connect_read_only`): its cursors run a statement to the end, then keep
    its rows only if the file is as it was when the connection was opened and no WAL has
    appeared beside it. Otherwise (a writer started; its checkpoints may have copied pages
    into the file under the statement, giving torn b-trees: "database disk image is
    malformed", or wrong rows) the statement runs again on a new read-only connection, chosen
    anew (through the writer's WAL, or immutable on the changed file), and so do the
    statements after it."""

    path: str
    probe: bool  # as `_connect_read_only` was called, for the connections that follow it
    state: _FileState | None
    current: sqlite3.Connection | None  # where statements run once the file changed

    def unchanged(self) -> bool:
        return (
            self.state is not None
            and not os.path.exists(self.path + "-wal")
            and _file_state(self.path) == self.state
        )

    def run(self, sql: str, parameters: Any) -> tuple[list[Any], Any] | None:
        """The rows and description of `sql` read from the unchanged file, None if it
        changed (the rows are then discarded, and so is a database error they caused)."""
        if self.state is None or not self.unchanged():
            return None
        cur = sqlite3.Cursor(self)
        try:
            cur.execute(sql, parameters)
            rows = cur.fetchall()
        except sqlite3.DatabaseError:
            if self.unchanged():
                raise  # the file is as it was: a damaged store, reported as such
            return None
        finally:
            cur.close()
        if not self.unchanged():
            return None
        return rows, cur.description

    def execute_checked(self, sql: str, parameters: Any) -> tuple[list[Any], Any]:
        for _ in range(_READ_ATTEMPTS):
            target = self.current or self
            if isinstance(target, _ImmutableConnection):
                result = target.run(sql, parameters)
                if result is not None:
                    return result
                self.state = None  # this connection is done for: its page cache is stale
                if self.current is not None:
                    self.current.close()
                self.current = _connect_read_only(self.path, probe=self.probe)
            else:
                cur = target.execute(sql, parameters)
                try:
                    return cur.fetchall(), cur.description
                finally:
                    cur.close()
        raise sqlite3.OperationalError(
            f"the store file changed under {_READ_ATTEMPTS} reads in a row (writers keep "
            "starting and stopping); run this again"
        )

    def cursor(self, factory: Any = None) -> Any:
        return _CheckedCursor(self)

    def close(self) -> None:
        if self.current is not None:
            self.current.close()
            self.current = None
        super().close()


class _CheckedCursor(sqlite3.Cursor):
    """A cursor of an `_ImmutableConnection`: `execute` reads all rows of a statement through
    `execute_checked`, the fetch methods hand them out."""

    def __init__(self, conn: _ImmutableConnection) -> None:
        super().__init__(conn)
        self.owner = conn
        self.rows: list[Any] = []
        self.at = 0
        self.desc: Any = None

    def execute(self, sql: str, parameters: Any = (), /) -> _CheckedCursor:
        self.rows, self.desc = self.owner.execute_checked(sql, parameters)
        self.at = 0
        return self

    @property
    def description(self) -> Any:
        return self.desc

    def fetchone(self) -> Any:
        if self.at >= len(self.rows):
            return None
        self.at += 1
        return self.rows[self.at - 1]

    def fetchmany(self, size: int | None = None) -> list[Any]:
        n = self.arraysize if size is None else size
        out = self.rows[self.at : self.at + n]
        self.at += len(out)
        return out

    def fetchall(self) -> list[Any]:
        out = self.rows[self.at :]
        self.at = len(self.rows)
        return out

    def __iter__(self) -> _CheckedCursor:
        return self

    def __next__(self) -> Any:
        row = self.fetchone()
        if row is None:
            raise StopIteration
        return row


def _connect_read_only(path: str, *, probe: bool = False) -> sqlite3.Connection:
    """A connection that can write neither the SQLite file at `path`, nor its WAL, nor its
    `-shm`, nor create either of them. The mode is chosen anew for every connection:

    - a WAL-mode file with a WAL: `mode=ro&readonly_shm=1`. SQLite reads the WAL through
      the `-shm` index without writing it (when no writer keeps the index, after a crash,
      it rebuilds a private copy in memory), and a read-only connection never checkpoints
      or deletes the WAL;
    - a WAL-mode file without a WAL: `immutable=1`, through an `_ImmutableConnection`. Any
      other read-only open creates an empty `-wal` and a `-shm` and leaves them behind
      (owned by whoever ran the command). Without a WAL nobody is writing, but `immutable`
      also means SQLite takes no lock and never looks for changes, so a writer that starts
      during a statement goes unnoticed: its checkpoints (amber's every 0.5 s, TRUNCATE
      at close) copy pages into the file under the statement, which then reads a torn
      b-tree (malformed, or wrong rows silently). So each statement is checked: the file's
      inode, size, times and header are taken before the WAL is looked for, and compared
      after the statement read its last row, when no WAL may have appeared either (in WAL
      mode the file is only written by checkpoints, from a WAL); a statement that ran
      across a change is read again on a new connection (`_ImmutableConnection`). Its rows
      are held until then, which amber's statements bound (they read a page of rows).
      Why not the alternatives: the lock a checkpoint respects (read-lock 0) lives in the
      `-shm`, which does not exist and must not be created; an advisory lock would bind
      only amber's writers, not SQLite's own close-time checkpoint or another program's;
      and `mode=ro` creates the `-wal` and `-shm` a read-only command promises not to.
      What the check cannot see: a writer that opens, writes, checkpoints and deletes its
      WAL entirely within one statement, within one tick of the file-time clock after the
      previous write, without growing the file or touching its header;
    - a rollback-journal file (not amber's, or not yet): `mode=ro`, which only locks.

    A WAL without its `-shm` cannot be read without writing one: a read-only store says
    what to run instead; a `probe` (judging a file's tables before any write) reads the
    file alone, which holds the tables of any store that was ever checkpointed.
    """
    state = _file_state(path)  # before looking for a WAL: a later checkpoint changes it
    if state is None:
        try:
            open(path, "rb").close()
        except OSError as e:
            raise sqlite3.OperationalError(f"unable to open database file: {e.strerror}") from e
    head = state.header[:20] if state is not None else b""
    factory: type[sqlite3.Connection] = sqlite3.Connection
    if head[18:20] == b"\x02\x02":  # WAL mode (file format versions 2)
        has_shm = os.path.exists(path + "-shm")
        if os.path.exists(path + "-wal") and (has_shm or not probe):
            if not has_shm:
                raise StoreUnavailable(
                    f"{path} has a write-ahead log but no -shm index, which reading it would "
                    f"create: run `amber migrate --store {path}` (it folds the log into the "
                    "store), then run this again"
                )
            params = "mode=ro&readonly_shm=1"
        else:
            params = "mode=ro&immutable=1"
            factory = _ImmutableConnection
    else:
        params = "mode=ro"
    uri = f"file:{quote(os.path.abspath(path))}?{params}"
    conn = sqlite3.connect(uri, uri=True, timeout=10, check_same_thread=False, factory=factory)
    if isinstance(conn, _ImmutableConnection):
        conn.path, conn.probe, conn.state, conn.current = path, probe, state, None
    return conn


def _sqlite_tables(path: str, shown: str) -> set[str] | None:
    """The tables of the SQLite file at `path`, read without writing a byte to it or beside
    it; None when there is no file, no tables for an empty file.

    *Raises:* `StoreCorrupt` for a file that is not SQLite or is damaged (left untouched).
    """
    try:
        with open(path, "rb") as fp:
            head = fp.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        return None
    except OSError as e:
        raise StoreUnavailable(f"cannot read the store file {path}: {e.strerror}") from e
    if head and head != SQLITE_MAGIC:
        raise StoreCorrupt(
            f"{shown} is not a readable amber store: it is not an SQLite database, and amber "
            "left it untouched; point --store at an amber store or a new file"
        )
    if not head and not os.path.exists(path + "-wal"):
        return set()
    try:
        conn = _connect_read_only(path, probe=True)
        try:
            rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            return {name for (name,) in rows}
        finally:
            conn.close()
    except sqlite3.OperationalError as e:
        raise StoreUnavailable(f"cannot open store {shown}: {e}") from e
    except sqlite3.DatabaseError as e:
        raise StoreCorrupt(
            f"{shown} is not a readable amber store ({e}); move it aside and start a new "
            "store, or restore it from a backup"
        ) from e


def sqlite_tables(path: str) -> set[str] | None:
    """The tables of the SQLite file at `path`, read without writing a byte to it or beside
    it (what `Store.open` judges a file by); None when there is no such file.

    *Raises:* `StoreCorrupt` (not SQLite, or damaged), `StoreUnavailable` (unreadable).
    """
    return _sqlite_tables(path, path)


def _refuse_foreign(tables: set[str], shown: str) -> None:
    """Refuse a database that holds another application's tables (and no amber store)."""
    if "amber_meta" in tables:
        return
    foreign = tables - {"amber_exchanges"}
    if foreign:
        raise StoreCorrupt(
            f"{shown} is not an amber store but another application's database (tables "
            f"{', '.join(sorted(foreign)[:5])}), and amber left it untouched; point --store at "
            "a new file or an empty database"
        )


def _sqlite_engine(url: str, db: str, shown: str, *, create: bool, read_only: bool) -> Engine:
    """The engine of a SQLite store, once an existing file was judged by its bytes alone."""
    on_disk = db not in ("", ":memory:") and not db.startswith("file:")
    tables = _sqlite_tables(db, shown) if on_disk else set()
    if tables is None:
        if read_only or not create:
            raise StoreUnavailable(f"no store at {db}; capture or import exchanges first")
        try:
            _prepare_sqlite_file(db)
        except OSError as e:
            raise StoreUnavailable(f"cannot create the store file {db}: {e.strerror}") from e
    else:
        _refuse_foreign(tables, shown)
    if read_only:
        if not on_disk:
            raise StoreUnavailable(f"{shown} is not a file; a read-only store is a SQLite file")
        return sa.create_engine(
            "sqlite://", poolclass=NullPool, creator=lambda: _connect_read_only(db)
        )
    try:
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
    except Exception as e:  # a bad dialect
        raise StoreUnavailable(f"cannot open store {shown}: {e}") from e
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _server_engine(url: str, backend: str, shown: str, *, read_only: bool) -> Engine:
    """The engine of a database server's store (PostgreSQL)."""
    kwargs: dict[str, Any] = {}
    if backend == "postgresql":
        # A server frozen or cut off without a reset would leave a query waiting forever:
        # keepalive probes after 10 s of silence, and TCP_USER_TIMEOUT (30 s of unanswered
        # probes or unacknowledged data), make libpq fail it instead. A slow but live server
        # is unaffected: its kernel answers both.
        options: dict[str, Any] = {
            "connect_timeout": 10,
            "keepalives": 1,
            "keepalives_idle": 10,
            "keepalives_interval": 5,
            "keepalives_count": 3,
            "tcp_user_timeout": 30_000,
        }
        if read_only:
            options["options"] = "-c default_transaction_read_only=on"
        kwargs = {"connect_args": options, "pool_pre_ping": True}
    try:
        return sa.create_engine(url, **kwargs)
    except ImportError as e:
        if backend == "postgresql":
            raise StoreUnavailable(
                f"{shown} is a PostgreSQL store and its driver, psycopg, is not installed: "
                "pip install 'amber[postgres]'"
            ) from e
        raise StoreUnavailable(f"cannot open store {shown}: {e}") from e
    except Exception as e:  # a bad dialect
        raise StoreUnavailable(f"cannot open store {shown}: {e}") from e


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
            # writer lock long enough to stall the capture writer behind it; mode=rw: the
            # file must exist (this thread may start after it was deleted under the store,
            # and must not make a new empty one there)
            from urllib.parse import quote

            conn = sqlite3.connect(
                f"file:{quote(os.path.abspath(self.path))}?mode=rw",
                uri=True,
                timeout=0.2,
                check_same_thread=False,
            )
        except sqlite3.Error:
            return
        try:
            while not self.stop_event.wait(self.interval):
                self.checkpoint(conn)
        finally:
            self.checkpoint(conn, "TRUNCATE")
            conn.close()

    def checkpoint(
        self, conn: sqlite3.Connection, mode: Literal["PASSIVE", "TRUNCATE"] = "PASSIVE"
    ) -> None:
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

    def __init__(self, engine: Engine, url: str, *, read_only: bool = False) -> None:
        self.engine = engine
        self.url = url
        self.read_only = read_only
        self._cctx = threading.local()
        self._checkpointer: _Checkpointer | None = None
        self._checkpointer_lock = threading.Lock()
        param = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        self._insert_sql = "INSERT INTO amber_exchanges ({}) VALUES ({})".format(
            ", ".join(_INSERT_COLUMNS), ", ".join([param] * len(_INSERT_COLUMNS))
        )

    # -- opening -----------------------------------------------------------------------

    @classmethod
    def open(cls, url: str, *, create: bool = True, read_only: bool = False) -> Store:
        """Open (and create or migrate) the store at `url`.

        An existing SQLite file is judged by its bytes before anything writes to it: a file
        that is not SQLite, or another application's database, is refused untouched.
        With `read_only` nothing is written at all: SQLite is read through connections that
        cannot write the file, its WAL or its `-shm` (`_connect_read_only`), PostgreSQL in
        read-only transactions; nothing is created, and a store that needs a migration
        says what to run instead.

        *Raises:* `StoreUnavailable` (cannot connect, no driver, no store), `StoreCorrupt`
        (not an amber store or a damaged file), `StoreVersionError` (written by a newer
        amber, or in need of a migration that `read_only` does not run).
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
        backend = parsed.get_backend_name()
        if backend == "sqlite":
            engine = _sqlite_engine(
                url, parsed.database or "", shown, create=create, read_only=read_only
            )
        else:
            engine = _server_engine(url, backend, shown, read_only=read_only)
        store = cls(engine, url, read_only=read_only)
        try:
            store._init_schema(shown)
        except BaseException:
            engine.dispose()
            raise
        return store

    def _init_schema(self, shown: str) -> None:
        try:
            with self.engine.connect() if self.read_only else self.engine.begin() as conn:
                tables = set(sa.inspect(conn).get_table_names())
                if "amber_meta" not in tables:
                    self._create_schema(conn, tables, shown)
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

    def _create_schema(self, conn: Connection, tables: set[str], shown: str) -> None:
        """A new store's tables, in a database without amber's (refusing a foreign one)."""
        _refuse_foreign(tables, shown)
        if self.read_only:
            raise StoreUnavailable(
                f"{shown} holds no amber store yet (no amber tables); capture or import "
                "exchanges into it first"
            )
        metadata.create_all(conn)
        conn.execute(
            meta_table.insert(),
            [
                {"key": "schema_version", "value": str(SCHEMA_VERSION)},
                {"key": "created_at", "value": str(time.time())},
            ],
        )

    def _migrate(self, version: int, shown: str) -> None:
        if any(v not in MIGRATIONS for v in range(version, SCHEMA_VERSION)):
            raise StoreVersionError(
                f"{shown} has store schema {version}, which this amber cannot migrate; "
                "export it with the amber that wrote it (amber export --format jsonl) "
                "and import the file into a new store"
            )
        if self.read_only:
            raise StoreVersionError(
                f"{shown} has store schema {version} and this amber reads schema "
                f"{SCHEMA_VERSION}; read-only commands do not migrate: run `amber migrate "
                f"--store {shown}` (or any command that writes to it), then run this again"
            )
        while version < SCHEMA_VERSION:
            with self.engine.begin() as conn:
                MIGRATIONS[version](conn)
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
        if self._checkpointer is not None or self.dialect != "sqlite" or self.read_only:
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
        doc = _document(ex)
        flags = 0
        req_body, z = self._pack_body(req.body)
        if z:
            flags |= _FLAG_REQ_ZSTD
        resp_body: bytes | None = None
        if resp is not None:
            resp_body, z = self._pack_body(resp.body)
            if z:
                flags |= _FLAG_RESP_ZSTD
        texts: Sequence[Any]  # str | None, in `_TEXT_COLUMNS` order
        id_, rid, method, scheme, host, path, query, route, error = texts = (
            ex.id,
            ex.request_id or None,
            req.method,
            req.scheme,
            req.host,
            req.path,
            req.query,
            ex.route,
            ex.error,
        )
        # one check for the common case: every text column takes its value as it is
        joined = f"{id_}{rid}{method}{scheme}{host}{path}{query}{route}{error}"
        doc_bytes = None
        if (
            joined.isascii()
            and "\x00" not in joined
            and len(id_) <= INDEX_KEY_BYTES
            and len(method) <= INDEX_KEY_BYTES
            and len(route) <= INDEX_KEY_BYTES
            and (rid is None or len(rid) <= INDEX_KEY_BYTES)
        ):
            try:
                doc_bytes = orjson.dumps(doc)
            except orjson.JSONEncodeError:  # lone surrogates in a header, a tag, meta...
                doc_bytes = None
        if doc_bytes is None:
            texts, doc_bytes, special = _encode_texts(texts, doc)
            id_, rid, method, scheme, host, path, query, route, error = texts
            flags |= _FLAG_TEXT if special else 0
        # in `_INSERT_COLUMNS` order: handed to the driver as is
        return (
            id_,
            rid,
            req.timestamp_start,
            method,
            scheme,
            host,
            req.port,
            path,
            query,
            route,
            resp.status if resp is not None else None,
            error,
            ex.duration_ms,
            ex.truncated,
            doc_bytes,
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
        if self.read_only:
            raise StoreError(f"{hide_password(self.url)} was opened read-only; nothing written")
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
        stored = {_stored_text(i, True): i for i in ids}
        with self._read() as conn:
            rows = conn.execute(sa.select(exchanges.c.id).where(exchanges.c.id.in_(list(stored))))
            return {stored[r[0]] for r in rows}

    # -- reading -----------------------------------------------------------------------

    @contextlib.contextmanager
    def database_errors(self, doing: str = "read") -> Iterator[None]:
        """Within it, a database error becomes a `StoreError` that names the store and says
        what to do, as when it is opened: `StoreUnavailable` for an operational one (locked,
        gone, server down), `StoreCorrupt` for any other (SQLite's "database disk image is
        malformed" from a damaged page that opening did not read). Used by every read here
        and by the run log, so a damaged store never surfaces as a driver's traceback."""
        try:
            yield
        except sa.exc.OperationalError as e:
            shown = hide_password(self.url)
            raise StoreUnavailable(f"cannot {doing} the store {shown}: {_short(e)}") from e
        except sa.exc.DatabaseError as e:
            shown = hide_password(self.url)
            raise StoreCorrupt(
                f"{shown} is not a readable amber store ({_short(e)}); move it aside and "
                "start a new store, or restore it from a backup"
            ) from e
        except sa.exc.SQLAlchemyError as e:
            shown = hide_password(self.url)
            raise StoreUnavailable(f"cannot {doing} the store {shown}: {_short(e)}") from e

    @contextlib.contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.database_errors("read"), self.engine.connect() as conn:
            yield conn

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
        """The exchange a row holds. *Raises:* `StoreCorrupt` naming it when its stored
        document or a compressed body cannot be decoded (the file is sound, the row not)."""
        try:
            return self._decode(row)
        except (ValueError, LookupError, TypeError, zstandard.ZstdError) as e:
            raise StoreCorrupt(
                f"{hide_password(self.url)}: exchange {printable(str(tuple(row)[1]))} is damaged "
                f"({type(e).__name__} decoding it); restore the store from a backup, or "
                "leave that exchange out with filters (--since, --until, --route)"
            ) from e

    def _decode(self, row: sa.Row[Any]) -> Exchange:
        # Positional access: RowMapping lookups by name cost more than the rest of decoding.
        (
            _seq,
            id_,
            request_id,
            _started,
            method,
            scheme,
            host,
            port,
            path,
            query,
            route,
            status,
            error,
            _duration,
            _truncated,
            doc_bytes,
            flags,
            req_body,
            resp_body,
        ) = tuple(row)
        if flags & _FLAG_TEXT:
            doc = _load_text_doc(doc_bytes)
            x = doc.get("x")
            if x:
                id_, request_id, method, scheme, host, path, query, route, error = (
                    x.get(name, value)
                    for name, value in zip(
                        _TEXT_COLUMNS,
                        (id_, request_id, method, scheme, host, path, query, route, error),
                        strict=True,
                    )
                )
        else:
            doc = orjson.loads(doc_bytes)
        rq = doc["rq"]
        if flags or type(req_body) is not bytes:
            req_body = self._unpack_body(req_body, bool(flags & _FLAG_REQ_ZSTD))
        req = Request(
            method,
            scheme,
            host,
            port,
            path,
            query,
            rq["v"],
            tuple([(k, v) for k, v in rq["h"]]),
            req_body,
            rq["ce"],
            rq["hh"],
            rq["ts"],
            rq["te"],
            rq["tr"],
        )
        resp = None
        rs = doc.get("rs")
        if rs is not None:
            if resp_body is None or flags or type(resp_body) is not bytes:
                resp_body = self._unpack_body(resp_body, bool(flags & _FLAG_RESP_ZSTD))
            resp = Response(
                status,
                rs["r"],
                rs["v"],
                tuple([(k, v) for k, v in rs["h"]]),
                resp_body,
                rs["ce"],
                rs["ts"],
                rs["te"],
                rs["tr"],
            )
        tags = doc.get("tg")
        rd = doc.get("rd")
        return Exchange(
            id_,
            req,
            resp,
            error,
            doc.get("ca"),
            request_id,
            route,
            tuple(tags) if tags else (),
            tuple([_redaction(*r) for r in rd]) if rd else (),
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
            rows = conn.execute(
                sa.select(exchanges).where(c.id == _stored_text(key.upper(), True))
            ).all()
            found = [e for e in map(self._exchange, rows) if e.id == key.upper()]
            if found:
                return found
            rows = conn.execute(
                sa.select(exchanges)
                .where(c.request_id == _stored_text(key, True))
                .order_by(c.started_at.desc())
                .limit(50)
            ).all()
            found = [e for e in map(self._exchange, rows) if e.request_id == key]
            if found:
                return found
            rows = []
            if len(key) >= 6 and key.isalnum():
                prefix = key.upper()
                rows = conn.execute(
                    sa.select(exchanges).where(c.id >= prefix, c.id < prefix + "\x7f").limit(2)
                ).all()
                if len(rows) > 1:
                    raise NotFound(
                        f"id prefix {key!r} is ambiguous; give more characters of the id"
                    )
        return [self._exchange(r) for r in rows]

    def summaries(self, query: ExchangeQuery) -> list[ExchangeSummary]:
        """Summaries (no bodies) matching `query`, oldest first unless `newest_first`."""
        return list(self.iter_summaries(query))

    def iter_summaries(self, query: ExchangeQuery, page: int = 1000) -> Iterator[ExchangeSummary]:
        yield from self._paged(query, _SUMMARY_COLUMNS, page, self._summary)

    def iter_exchanges(self, query: ExchangeQuery | None = None, page: int = 200) -> ExchangeStream:
        """Stream full exchanges matching `query`, one page in memory at a time: at most `page`
        rows, fewer when their bodies pass `PAGE_BYTES`.

        The result is an iterator of `Exchange`; `ExchangeStream.rows()` and `.decode()` split
        reading from decoding, for a consumer that reads in one thread and decodes in another.
        """
        return ExchangeStream(self, query or ExchangeQuery(), page)

    def _summary(self, row: sa.Row[Any]) -> ExchangeSummary:
        m: Any = row._mapping
        if m["text_doc"] is not None:  # `_FLAG_TEXT`: exact values from the document
            m = {**m, **(_load_text_doc(m["text_doc"]).get("x") or {})}
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
        """Keyset pagination over (started_at, seq): no long-lived cursor, bounded memory
        (`_pages`, one item at a time)."""
        for rows in self._pages(query, columns, page, page_bytes):
            yield from map(convert, rows)

    def _pages(
        self,
        query: ExchangeQuery,
        columns: Sequence[Any],
        page: int,
        page_bytes: int | None = None,
    ) -> Iterator[list[Any]]:
        """The matching rows, a page (a list, never empty) at a time: keyset pagination over
        (started_at, seq), no long-lived cursor, bounded memory.

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
        i_seq, i_started = keys.index("seq"), keys.index("started_at")
        check = _row_check(query, keys)
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
            with self._read() as conn:
                rows = list(conn.execute(stmt).all())  # (a list already: a shallow copy)
            if not rows:
                return
            last_row = rows[-1]
            if check is None and remaining is None:
                yield rows  # the common case: nothing to check per row
            else:
                kept = [row for row in rows if check is None or check(row)]
                if remaining is not None:
                    kept = kept[:remaining]
                    remaining -= len(kept)
                if kept:
                    yield kept
                if remaining is not None and remaining <= 0:
                    return
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


def _row_check(query: ExchangeQuery, keys: list[str]) -> Callable[[Any], bool] | None:
    """The exact check a row read back needs, or None when SQL's filter was exact: with
    text filters, a plain row's path against the glob (LIKE only prefilters), a `_FLAG_TEXT`
    row's exact text values against every text filter (SQL compared their stored forms)."""
    if not query.filters_text:
        return None
    i_path, i_flags = keys.index("path"), keys.index("flags")
    i_doc = keys.index("text_doc" if "text_doc" in keys else "doc")
    positions = [(name, keys.index(name)) for name in _TEXT_COLUMNS if name in keys]
    plain = query.plain_values

    def check(row: Any) -> bool:
        flagged = row[i_flags] & _FLAG_TEXT
        if plain and not flagged:
            return query.accepts_path(row[i_path])
        texts = {name: row[i] for name, i in positions}
        if flagged:
            texts.update(_load_text_doc(row[i_doc]).get("x") or {})
        return query.accepts(texts)

    return check


def _short(e: BaseException) -> str:
    orig = getattr(e, "orig", None)
    text = str(orig if orig is not None else e).strip().splitlines()
    return text[0] if text else type(e).__name__


def open_store(url: str, *, create: bool = True, read_only: bool = False) -> Store:
    """Open the store at `url` (see `Store.open`)."""
    return Store.open(url, create=create, read_only=read_only)


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
        return self._store._paged(
            self._query, (exchanges,), self._page, _same, page_bytes=PAGE_BYTES
        )

    def pages(self) -> Iterator[list[Any]]:
        """The rows of `rows()` a page at a time: lists (never empty) of at most the
        stream's `page` rows, whose bodies weigh about `PAGE_BYTES` at most (a single
        larger row is a page of its own)."""
        return self._store._pages(self._query, (exchanges,), self._page, page_bytes=PAGE_BYTES)

    @staticmethod
    def row_size(row: Any) -> int:
        """About how many bytes a row from `rows()` holds (its bodies, as stored)."""
        return _body_bytes(row)

    def decode(self, row: Any) -> Exchange:
        """The `Exchange` of a row from `rows()`."""
        return self._store._exchange(row)


def _same(row: Any) -> Any:
    return row


_REDACTIONS: dict[tuple[Any, ...], Redaction] = {}
_REDACTIONS_CACHE = 4096


def _redaction(*fields: Any) -> Redaction:
    """The `Redaction` of a stored `[rule, location, action]`, shared: they are frozen, and a
    route's exchanges repeat the same few (a frozen dataclass costs ~0.5 us to make, a
    third of decoding a row's document; bounded, cleared when full)."""
    try:
        found = _REDACTIONS.get(fields)
    except TypeError:  # not what amber writes: made as it is
        return Redaction(*fields)
    if found is None:
        if len(_REDACTIONS) >= _REDACTIONS_CACHE:
            _REDACTIONS.clear()
        found = _REDACTIONS[fields] = Redaction(*fields)
    return found


def _body_bytes(row: Any) -> int:
    """The stored size of a full exchange row's bodies (its last two columns)."""
    return len(row[-1] or b"") + len(row[-2] or b"")
