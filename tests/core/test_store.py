from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from amber._store import SCHEMA_VERSION
from amber._store import ExchangeQuery
from amber._store import Store
from amber._store import normalize_url
from amber.errors import NotFound
from amber.errors import StoreCorrupt
from amber.errors import StoreError
from amber.errors import StoreUnavailable
from amber.errors import StoreVersionError
from tests.conftest import T0
from tests.conftest import make_exchange


def test_round_trip_keeps_everything(store: Store) -> None:
    binary = bytes(range(256)) * 40  # 10 KiB, compressed above the threshold? (incompressible)
    text = b'{"k": "' + b"a" * 20000 + b'"}'  # compressible: stored zstd
    ex = make_exchange(1, req_body=binary, body=text, query="a=1&a=2")
    store.add(ex)
    got = store.get(ex.id)
    assert got == ex
    assert got.request.headers.count(("Accept", "*/*")) == 1
    assert [v for k, v in got.response.headers if k == "Set-Cookie"] == ["a=1", "b=2"]  # type: ignore[union-attr]


def test_large_compressible_bodies_are_compressed_on_disk(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    with Store.open(url) as s:
        s.add(make_exchange(1, body=b"x" * 1_000_000))
    con = sqlite3.connect(tmp_path / "s.db")
    (size,) = con.execute("select length(resp_body) from amber_exchanges").fetchone()
    assert size < 10_000
    with Store.open(url) as s:
        assert s.get(s.summaries(ExchangeQuery())[0].id).response.body == b"x" * 1_000_000  # type: ignore[union-attr]


def test_error_exchange_without_response(store: Store) -> None:
    ex = make_exchange(2, status=None, error="connection refused by upstream")
    store.add(ex)
    got = store.get(ex.id)
    assert got.response is None and got.error == "connection refused by upstream"
    assert [s.id for s in store.summaries(ExchangeQuery(errors_only=True))] == [ex.id]


def test_lookup_by_request_id_prefix_and_unknown(store: Store) -> None:
    a = make_exchange(1, request_id="abc-123")
    b = make_exchange(2, request_id="abc-123")  # a retry carries the same request id
    store.add_many([a, b])
    assert [e.id for e in store.lookup("abc-123")] == [b.id, a.id]
    assert store.get(a.id[:12].lower()).id == a.id
    with pytest.raises(NotFound, match="amber ls"):
        store.get("nope-404")


def test_filters(store: Store) -> None:
    exs = [
        make_exchange(0, status=200),
        make_exchange(1, status=500, method="POST"),
        make_exchange(2, status=503, path="/health"),
        make_exchange(3, status=404, path="/api/v1/orders/7"),
        make_exchange(4, status=None, error="timeout"),
    ]
    store.add_many(exs)
    ids = lambda q: [s.id for s in store.summaries(q)]  # noqa: E731
    assert ids(ExchangeQuery(status_classes=(5,))) == [exs[1].id, exs[2].id]
    assert ids(ExchangeQuery(statuses=(404,))) == [exs[3].id]
    assert ids(ExchangeQuery(status_classes=(5,), errors_only=True)) == [
        exs[1].id,
        exs[2].id,
        exs[4].id,
    ]
    assert ids(ExchangeQuery(methods=("post",))) == [exs[1].id]
    assert ids(ExchangeQuery(path_glob="/api/*/orders/*")) == [exs[3].id]
    assert ids(ExchangeQuery(path_glob="/API/*")) == []  # globs are case-sensitive
    assert ids(ExchangeQuery(routes=("/api/v1/orders/{id}",))) == [exs[3].id]
    assert ids(ExchangeQuery(since=T0 + 1, until=T0 + 3)) == [exs[1].id, exs[2].id]
    assert ids(ExchangeQuery(limit=2, newest_first=True)) == [exs[4].id, exs[3].id]
    assert store.count(ExchangeQuery(status_classes=(5,))) == 2


def test_paging_streams_everything_in_order(store: Store) -> None:
    exs = [make_exchange(i, started=T0 + (i // 3)) for i in range(250)]  # ties on time
    store.add_many(exs)
    seen = [e.id for e in store.iter_exchanges(ExchangeQuery(), page=7)]
    assert sorted(seen) == sorted(e.id for e in exs) and len(seen) == 250
    newest = [s.id for s in store.iter_summaries(ExchangeQuery(newest_first=True), page=11)]
    assert newest == list(reversed([s.id for s in store.iter_summaries(ExchangeQuery())]))
    assert len(list(store.iter_summaries(ExchangeQuery(limit=30), page=7))) == 30


def test_paging_keeps_exact_order_across_ties_both_ways(store: Store) -> None:
    exs = [make_exchange(i, started=T0 + (i // 4)) for i in range(61)]  # ties span pages
    store.add_many(exs)
    ids = [e.id for e in exs]  # insertion order = (started_at, seq) order
    assert [e.id for e in store.iter_exchanges(ExchangeQuery(), page=3)] == ids
    newest = [e.id for e in store.iter_exchanges(ExchangeQuery(newest_first=True), page=5)]
    assert newest == ids[::-1]
    got = list(store.iter_exchanges(ExchangeQuery(limit=9), page=4))
    assert [e.id for e in got] == ids[:9] and got[3] == exs[3]
    globbed = store.iter_exchanges(ExchangeQuery(path_glob="/users/1*/orders"), page=2)
    assert [e.id for e in globbed] == [e.id for e in exs if e.request.path.startswith("/users/1")]


def test_paging_seeks_the_index_instead_of_scanning(store: Store) -> None:
    """Each page starts where the last ended: SQLite must search the index, not scan it
    from the first row (that made paging through a large store quadratic)."""
    if store.dialect != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    store.add_many([make_exchange(i, started=T0 + (i // 2)) for i in range(30)])
    statements: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "amber_exchanges" in statement and "ORDER BY" in statement:
            statements.append((statement, parameters))

    sa.event.listen(store.engine, "before_cursor_execute", record)
    try:
        assert len(list(store.iter_exchanges(ExchangeQuery(), page=8))) == 30
        assert len(list(store.iter_exchanges(ExchangeQuery(newest_first=True), page=8))) == 30
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", record)
    later = [(s, p) for s, p in statements if " WHERE " in s.replace("\n", " ")]
    assert len(later) >= 6
    with store.engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        for statement, parameters in later:
            plan = " ".join(
                str(r[-1]) for r in raw.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            )
            assert "SEARCH" in plan and "started_at" in plan, plan


def test_stats_buckets(store: Store) -> None:
    store.add_many([make_exchange(i, status=500 if i >= 60 else 200) for i in range(120)])
    rows = store.stats(ExchangeQuery(), 60)
    by = {(r.bucket_start, r.status_class): r.count for r in rows}
    b0 = int(T0 // 60) * 60
    assert sum(by.values()) == 120
    assert by[(float(b0), 2)] + by.get((float(b0 + 60), 2), 0) == 60
    assert store.time_range() == (T0, T0 + 119)


def test_duplicate_ids_fail_the_batch_atomically(store: Store) -> None:
    a = make_exchange(1)
    store.add(a)
    with pytest.raises(StoreError, match="already stored"):
        store.add_many([make_exchange(2), a])
    assert store.count() == 1  # the new exchange of the failed batch is not half-written


def test_sqlite_file_is_private_and_wal(tmp_path: Path) -> None:
    db = tmp_path / "sub" / "store.db"
    with Store.open(f"sqlite:///{db}") as s:
        s.add(make_exchange(1))
        with s.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(db.parent).st_mode) == 0o700


def test_corrupt_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    junk = b"this is not sqlite" * 1000
    db.write_bytes(junk)
    with pytest.raises(StoreCorrupt, match="not a readable amber store"):
        Store.open(f"sqlite:///{db}")
    assert db.read_bytes() == junk


def test_foreign_sqlite_database_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    con = sqlite3.connect(db)
    con.execute("create table users (id integer primary key)")
    con.commit()
    con.close()
    with pytest.raises(StoreCorrupt, match="not an amber store"):
        Store.open(f"sqlite:///{db}")
    assert sqlite3.connect(db).execute("select name from sqlite_master").fetchall() == [("users",)]


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    with Store.open(url) as s, s.engine.begin() as conn:
        conn.exec_driver_sql(
            f"update amber_meta set value='{SCHEMA_VERSION + 1}' where key='schema_version'"
        )
    with pytest.raises(StoreVersionError, match="upgrade amber"):
        Store.open(url)


def test_older_schema_is_migrated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from amber import _store

    url = f"sqlite:///{tmp_path / 's.db'}"
    with Store.open(url) as s:
        s.add(make_exchange(1))
        with s.engine.begin() as conn:
            conn.exec_driver_sql(
                f"update amber_meta set value='{SCHEMA_VERSION - 1}' where key='schema_version'"
            )
    ran = []
    monkeypatch.setitem(_store.MIGRATIONS, SCHEMA_VERSION - 1, lambda conn: ran.append(conn))
    with Store.open(url) as s:
        assert s.count() == 1
        with s.engine.connect() as conn:
            v = conn.execute(sa.text("select value from amber_meta where key='schema_version'"))
            assert v.scalar() == str(SCHEMA_VERSION)
    assert len(ran) == 1


def test_version_1_store_gains_the_run_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    with Store.open(url) as s:
        s.add(make_exchange(1))
        with s.engine.begin() as conn:
            conn.exec_driver_sql("drop table amber_run_chunks")
            conn.exec_driver_sql("drop table amber_runs")
            conn.exec_driver_sql("update amber_meta set value='1' where key='schema_version'")
    with Store.open(url) as s:
        assert s.count() == 1
        tables = set(sa.inspect(s.engine).get_table_names())
        assert {"amber_runs", "amber_run_chunks"} <= tables
        assert "amber_run_results" not in tables


def test_version_2_run_results_move_into_chunks_in_order(store_url: str) -> None:
    from amber import _store
    from amber._runs import RunLog

    url = store_url
    with Store.open(url) as s:
        log = RunLog(s)
        a, b = log.start("replay", "http://a", {}), log.start("shadow", "http://b", {})
        with s.engine.begin() as conn:  # a schema 2 store: one row per result
            conn.exec_driver_sql("drop table amber_run_chunks")
            _store._legacy.create_all(conn)
            rows = [
                {
                    "run_id": a if i % 3 else b,
                    "exchange_id": f"ex{i}",
                    "sent_at": 1.0 + i,
                    "status": 200 if i % 7 else None,
                    "latency_ms": 2.5,
                    "ok": i % 5 != 0,
                    "error": None if i % 7 else "timeout",
                    "detail": orjson.dumps({"differences": [], "path": f"/{i}"}),
                }
                for i in range(1234)
            ]
            conn.execute(_store._legacy_run_results.insert(), rows)
            conn.exec_driver_sql("update amber_meta set value='2' where key='schema_version'")
    with Store.open(url) as s:
        assert "amber_run_results" not in set(sa.inspect(s.engine).get_table_names())
        log = RunLog(s)
        for run, mine in (
            (a, [r for r in rows if r["run_id"] == a]),
            (b, [r for r in rows if r["run_id"] == b]),
        ):
            got = list(log.results(run, page=1))
            assert [(r.exchange_id, r.sent_at, r.status, r.ok, r.error, r.path) for r in got] == [
                (
                    m["exchange_id"],
                    m["sent_at"],
                    m["status"],
                    m["ok"],
                    m["error"],
                    orjson.loads(m["detail"])["path"],
                )
                for m in mine
            ]


def test_unmigratable_schema_says_what_to_do(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    with Store.open(url) as s, s.engine.begin() as conn:
        conn.exec_driver_sql("update amber_meta set value='0' where key='schema_version'")
    with pytest.raises(StoreVersionError, match="amber export --format jsonl"):
        Store.open(url)


def test_unreachable_postgres_is_a_clear_error() -> None:
    with pytest.raises(StoreUnavailable, match="cannot open store"):
        Store.open("postgresql://nobody:secret@127.0.0.1:1/none")


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://nobody:hunter2secret@127.0.0.1:1/none",
        "my-db://nobody:hunter2secret@host/none",  # not a database URL at all
    ],
)
def test_open_errors_hide_the_password(url: str) -> None:
    with pytest.raises(StoreUnavailable) as info:
        Store.open(url)
    assert "hunter2secret" not in str(info.value)


def test_missing_store_without_create(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable, match="capture or import"):
        Store.open(f"sqlite:///{tmp_path / 'missing.db'}", create=False)


def test_normalize_url() -> None:
    assert normalize_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("/tmp/x.db") == "sqlite:////tmp/x.db"
    assert normalize_url("sqlite:///x.db") == "sqlite:///x.db"


def test_concurrent_writers_and_readers(store: Store) -> None:
    import threading

    errors: list[BaseException] = []

    def write(base: int) -> None:
        try:
            for j in range(10):
                store.add_many([make_exchange(base * 1000 + j * 10 + k) for k in range(10)])
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        store.count()
    for t in threads:
        t.join()
    assert not errors
    assert store.count() == 400


def test_stream_rows_and_decode_split_what_iterating_does(store: Store) -> None:
    exs = [make_exchange(i, started=T0 + (i // 4)) for i in range(23)]
    store.add_many(exs)
    query = ExchangeQuery(path_glob="/users/1*/orders", newest_first=True)
    expected = list(store.iter_exchanges(query, page=3))
    assert expected and len(expected) < len(exs)
    stream = store.iter_exchanges(query, page=3)
    rows = list(stream.rows())  # filters and order apply to the rows already
    assert [stream.decode(r) for r in rows] == expected
    # still a plain iterator of exchanges for everyone else
    again = store.iter_exchanges(query, page=3)
    assert iter(again) is again and next(again) == expected[0]
    assert list(again) == expected[1:]


@pytest.mark.parametrize(
    "query",
    [
        ExchangeQuery(),
        ExchangeQuery(limit=10),
        ExchangeQuery(path_glob="/users/1*/orders", newest_first=True),
        ExchangeQuery(path_glob="/users/1*/orders", limit=4),
    ],
    ids=["all", "limit", "glob", "glob-limit"],
)
def test_stream_pages_hold_the_rows_in_order(store: Store, query: ExchangeQuery) -> None:
    """What the replayer's reader takes: the rows of `rows()`, a page (a non-empty list of
    at most `page` rows) at a time, filters checked and the limit kept across pages."""
    exs = [make_exchange(i, started=T0 + (i // 4)) for i in range(23)]
    store.add_many(exs)
    expected = list(store.iter_exchanges(query, page=3))
    stream = store.iter_exchanges(query, page=3)
    pages = list(stream.pages())
    assert all(0 < len(p) <= 3 for p in pages)
    assert [stream.decode(r) for p in pages for r in p] == expected


def test_decoded_redactions_are_equal_and_shared(store: Store) -> None:
    from amber._model import Redaction

    exs = [make_exchange(i) for i in range(3)]
    for ex in exs:
        ex.redactions = (
            Redaction("email", "response.body$.email", "pseudonym"),
            Redaction("authorization", "request.headers.authorization"),
        )
    store.add_many(exs)
    got = list(store.iter_exchanges(ExchangeQuery()))
    assert [e.redactions for e in got] == [e.redactions for e in exs]
    assert got[0].redactions[0] is got[2].redactions[0]  # frozen: one object per distinct one


def test_pages_of_large_bodies_hold_fewer_rows(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from amber import _store

    big = [make_exchange(i) for i in range(40)]
    for i, ex in enumerate(big):  # incompressible 100 KB bodies
        body = b"".join(hashlib.sha256(b"%d-%d" % (i, k)).digest() for k in range(3200))
        ex.request.body = body
    store.add_many(big)
    monkeypatch.setattr(_store, "PAGE_BYTES", 250_000)
    selects: list[str] = []
    sa.event.listen(
        store.engine,
        "before_cursor_execute",
        lambda conn, cur, stmt, *a: (
            selects.append(stmt) if "FROM amber_exchanges" in stmt else None
        ),
    )
    got = [e.id for e in store.iter_exchanges(ExchangeQuery(), page=20)]
    assert got == [e.id for e in big]
    # the first page takes 20 rows (2 MB); later ones two (200 KB) each: 12 queries, not 3
    assert len(selects) >= 11


def test_the_checkpoint_thread_never_creates_a_deleted_store_file(tmp_path: Path) -> None:
    """It starts with the first write and may run after the file was deleted under the
    store (capture counts that as store lost): it must not make a new empty file there."""
    from amber._store import _Checkpointer

    gone = tmp_path / "deleted.db"
    ck = _Checkpointer(str(gone), interval=0.01)
    ck.start()
    ck.join(timeout=30)
    assert not ck.is_alive() and not gone.exists()
    # an existing file is checkpointed as before
    with Store.open(f"sqlite:///{tmp_path / 'kept.db'}") as s:
        s.add(make_exchange())
    ck = _Checkpointer(str(tmp_path / "kept.db"), interval=0.01)
    ck.start()
    ck.stop()
    assert not ck.is_alive()
