"""Read-only opening writes nothing, and every open judges a file by its bytes first.

Files are compared byte for byte (sha256 of the database, its -wal and -shm, and their
mtimes) before and after; each test also shows that a writing open would change them, so
the comparison can fail.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa

from amber._store import SCHEMA_VERSION
from amber._store import ExchangeQuery
from amber._store import Store
from amber.errors import StoreCorrupt
from amber.errors import StoreError
from amber.errors import StoreUnavailable
from amber.errors import StoreVersionError
from tests.conftest import make_exchange

ROOT = Path(__file__).resolve().parents[2]
Snapshot = dict[str, tuple[str, int] | None]


def snapshot(db: Path) -> Snapshot:
    """sha256 and mtime of the database, its WAL and its -shm (None when absent), and the
    names of everything beside it."""
    out: Snapshot = {}
    for suffix in ("", "-wal", "-shm", "-journal"):
        p = Path(f"{db}{suffix}")
        out[suffix] = (
            (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            if p.exists()
            else None
        )
    out["dir"] = (",".join(sorted(os.listdir(db.parent))), 0)
    return out


def leave_wal(db: Path, n: int = 20) -> None:
    """A store whose writer died: `n` exchanges in a WAL that nobody checkpointed, its -shm
    left behind (the writer process ends with os._exit, as a kill -9 would end it)."""
    code = textwrap.dedent(f"""
        import os
        from amber._store import Store
        from tests.conftest import make_exchange
        store = Store.open({f"sqlite:///{db}"!r})
        store.add_many([make_exchange(i) for i in range({n})])
        os._exit(0)
    """)
    subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        check=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert Path(f"{db}-wal").stat().st_size > 0 and Path(f"{db}-shm").exists()


def read_everything(store: Store) -> int:
    exchanges = list(store.iter_exchanges())
    assert [s.id for s in store.summaries(ExchangeQuery())] == [e.id for e in exchanges]
    assert store.stats(ExchangeQuery(), 60)
    assert store.lookup(exchanges[0].id)
    return store.count()


def test_a_leftover_wal_is_read_and_left_as_it_was(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    leave_wal(db)
    before = snapshot(db)
    with Store.open(f"sqlite:///{db}", read_only=True) as store:
        assert read_everything(store) == 20  # the exchanges that are only in the WAL
    assert snapshot(db) == before
    Store.open(f"sqlite:///{db}").close()  # a writing open checkpoints and deletes the WAL
    assert snapshot(db) != before


def test_a_closed_store_is_read_without_creating_a_wal_or_shm(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    with Store.open(f"sqlite:///{db}") as store:
        store.add_many([make_exchange(i) for i in range(5)])
    before = snapshot(db)
    assert before["-wal"] is None and before["-shm"] is None
    with Store.open(f"sqlite:///{db}", read_only=True) as store:
        assert read_everything(store) == 5
    assert snapshot(db) == before
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)  # what a plain read-only open does
    con.execute("select count(*) from amber_exchanges").fetchone()
    con.close()
    assert snapshot(db) != before


class Writer:
    """Another process with the file open, as a running capture or application has it:
    `send(sql)` runs one statement there and commits."""

    def __init__(self, db: Path, setup: str = "") -> None:
        code = textwrap.dedent(f"""
            import sqlite3, sys
            con = sqlite3.connect({str(db)!r})
            con.execute("pragma journal_mode = wal")
            {setup}
            con.commit()
            for line in sys.stdin:
                con.execute(line)
                con.commit()
                print("ok", flush=True)
            con.close()
        """)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.send("select 1")

    def send(self, sql: str) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(sql + "\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline() == "ok\n"

    def close(self) -> None:
        self.proc.communicate(timeout=60)  # closes its stdin (it ends) and its stdout


def test_a_reader_sees_what_a_live_writer_just_committed(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    with Store.open(f"sqlite:///{db}") as store:
        store.add(make_exchange(0))
    writer = Writer(db)
    try:
        with Store.open(f"sqlite:///{db}", read_only=True) as reader:
            for n in range(1, 20):
                writer.send(f"update amber_meta set value = '{n}' where key = 'created_at'")
                with reader.engine.connect() as conn:
                    assert conn.exec_driver_sql(
                        "select value from amber_meta where key = 'created_at'"
                    ).scalar() == str(n)
            before = snapshot(db)
            assert reader.count() == 1
            assert snapshot(db) == before  # the live writer's -shm is read, not written
    finally:
        writer.close()


@pytest.mark.parametrize("journal_mode", ["delete", "truncate", "persist", "wal"])
@pytest.mark.parametrize("read_only", [False, True])
def test_an_applications_database_is_refused_untouched(
    tmp_path: Path, journal_mode: str, read_only: bool
) -> None:
    db = tmp_path / "app.db"
    con = sqlite3.connect(db)
    assert con.execute(f"pragma journal_mode = {journal_mode}").fetchone() == (journal_mode,)
    con.execute("create table users (id integer primary key, email text)")
    con.execute("insert into users (email) values ('a@example.com')")
    con.commit()
    con.close()
    before = snapshot(db)
    with pytest.raises(StoreCorrupt, match=r"not an amber store .*tables users.*untouched"):
        Store.open(f"sqlite:///{db}", read_only=read_only)
    assert snapshot(db) == before  # the header's journal-mode bytes included


def test_an_applications_database_with_a_live_wal_is_refused_untouched(tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    app = Writer(db, "con.execute('create table orders (id integer primary key)')")
    try:
        app.send("insert into orders default values")
        before = snapshot(db)
        assert before["-wal"] is not None and before["-shm"] is not None
        for read_only in (False, True):
            with pytest.raises(StoreCorrupt, match="tables orders"):
                Store.open(f"sqlite:///{db}", read_only=read_only)
        assert snapshot(db) == before
    finally:
        app.close()


@pytest.mark.parametrize("read_only", [False, True])
def test_a_file_that_is_not_sqlite_is_refused_untouched(tmp_path: Path, read_only: bool) -> None:
    db = tmp_path / "notes.db"
    db.write_bytes(b"not a database\n" * 100)
    before = snapshot(db)
    with pytest.raises(StoreCorrupt, match="not an SQLite database"):
        Store.open(f"sqlite:///{db}", read_only=read_only)
    assert snapshot(db) == before


def test_read_only_never_migrates_and_says_what_to_run(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    with Store.open(f"sqlite:///{db}") as store, store.engine.begin() as conn:
        store.add(make_exchange(1))
        conn.exec_driver_sql(
            f"update amber_meta set value='{SCHEMA_VERSION - 1}' where key='schema_version'"
        )
    before = snapshot(db)
    with pytest.raises(StoreVersionError, match=r"do not migrate: run `amber migrate --store"):
        Store.open(f"sqlite:///{db}", read_only=True)
    assert snapshot(db) == before
    Store.open(f"sqlite:///{db}").close()  # a writing open migrates
    with Store.open(f"sqlite:///{db}", read_only=True) as store:
        assert store.count() == 1


def test_a_wal_without_its_shm_is_not_read_by_writing_one(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    leave_wal(db, n=7)
    Path(f"{db}-shm").unlink()
    before = snapshot(db)
    with (
        pytest.raises(StoreUnavailable, match=r"no -shm index.*amber migrate --store"),
        Store.open(f"sqlite:///{db}", read_only=True) as store,
    ):
        store.count()
    assert snapshot(db) == before
    Store.open(f"sqlite:///{db}").close()  # what `amber migrate` does: recover, fold back
    with Store.open(f"sqlite:///{db}", read_only=True) as store:
        assert store.count() == 7


def test_read_only_stores_refuse_writes_and_missing_files(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    with pytest.raises(StoreUnavailable, match="no store at"):
        Store.open(url, read_only=True)
    assert not (tmp_path / "store.db").exists()
    Store.open(url).close()
    with Store.open(url, read_only=True) as store, pytest.raises(StoreError, match="read-only"):
        store.add(make_exchange(1))


def test_an_empty_file_is_no_store_to_read(tmp_path: Path) -> None:
    db = tmp_path / "empty.db"
    db.touch()
    with pytest.raises(StoreUnavailable, match="holds no amber store yet"):
        Store.open(f"sqlite:///{db}", read_only=True)
    assert db.stat().st_size == 0 and sorted(os.listdir(tmp_path)) == ["empty.db"]
    with Store.open(f"sqlite:///{db}") as store:  # a writing open makes it a store
        assert store.count() == 0


def test_a_missing_postgres_driver_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg raises ImportError
    with pytest.raises(
        StoreUnavailable,
        match=r"driver, psycopg, is not installed: pip install 'amber\[postgres\]'",
    ):
        Store.open("postgresql://amber:secret@127.0.0.1:1/amber", read_only=True)


@pytest.mark.postgres
def test_read_only_on_postgres_runs_read_only_transactions(pg_database: str) -> None:
    from tests.conftest import _reset_pg

    _reset_pg(pg_database)
    with pytest.raises(StoreUnavailable, match="holds no amber store yet"):
        Store.open(pg_database, read_only=True)
    with Store.open(pg_database) as store:
        store.add(make_exchange(1))
        with store.engine.connect() as conn:
            assert "amber_meta" in sa.inspect(conn).get_table_names()
    with Store.open(pg_database, read_only=True) as store:
        assert store.count() == 1
        with (
            pytest.raises(sa.exc.InternalError, match="read-only transaction"),
            store.engine.begin() as conn,
        ):
            conn.exec_driver_sql("delete from amber_exchanges")
    with Store.open(pg_database, read_only=True) as store:
        assert store.count() == 1
