"""Two processes on one SQLite store: a read-only reader and a writer that starts while
the reader is in the middle of a statement.

The reader pauses inside SQLite (a progress handler, called between virtual-machine steps
of the statement) and lets the writer run to the end: write, checkpoint into the file and
close. Readiness goes through the writer's stdin and stdout, never through sleeps. The store
has 512-byte pages and thousands of rows, so the writer's checkpoint rewrites b-tree pages
the reader has not read yet.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import amber._store
from amber._store import ExchangeQuery
from amber._store import Store
from amber.errors import StoreError
from amber.errors import StoreUnavailable
from tests.conftest import make_exchange

ROOT = Path(__file__).resolve().parents[2]
ROWS = 3000


def small_page_store(db: Path, rows: int = ROWS) -> None:
    """A closed store (no WAL) of 512-byte pages; its ids in (started_at, seq) order."""
    con = sqlite3.connect(db)
    con.execute("pragma page_size = 512")
    con.execute("pragma journal_mode = wal")
    con.close()
    with Store.open(f"sqlite:///{db}") as store:
        store.add_many([make_exchange(2 * i) for i in range(rows)])
    assert not Path(f"{db}-wal").exists()


class Writer:
    """An amber writer in another process, started by `go()`: it opens the store, adds
    `rows` exchanges whose times fall between the existing ones (pages split all along the
    indexes), closes the store (a TRUNCATE checkpoint copies every page into the file and
    the WAL is deleted) and reports back."""

    def __init__(self, db: Path, rows: int = ROWS) -> None:
        code = textwrap.dedent(f"""
            import sys
            from amber._store import Store
            from tests.conftest import make_exchange
            assert sys.stdin.readline() == "go\\n"
            store = Store.open({f"sqlite:///{db}"!r})
            store.add_many([make_exchange(2 * i + 1) for i in range({rows})])
            store.close()
            print("done", flush=True)
        """)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )

    def go(self) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline() == "done\n"
        self.proc.communicate(timeout=120)  # closes both pipes
        assert self.proc.returncode == 0


@pytest.fixture
def pause_reader(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Read-only connections get a progress handler; `armed.append(action)` makes the next
    statement's handler run `action` once, a few thousand VM steps into the statement."""
    armed: list[Any] = []
    connect = amber._store._connect_read_only

    def connect_paused(path: str, *, probe: bool = False) -> sqlite3.Connection:
        conn = connect(path, probe=probe)
        calls = [0]

        def handler() -> int:
            if armed:
                calls[0] += 1
                if calls[0] == 20:
                    armed.pop()()
            return 0

        conn.set_progress_handler(handler, 100)
        return conn

    monkeypatch.setattr(amber._store, "_connect_read_only", connect_paused)
    yield armed


def ids(db: Path) -> list[str]:
    with Store.open(f"sqlite:///{db}", read_only=True) as store:
        return [s.id for s in store.iter_summaries(ExchangeQuery())]


READS: dict[str, Any] = {
    "one statement": lambda s: [x.id for x in s.iter_summaries(ExchangeQuery(), page=10 * ROWS)],
    "count": lambda s: s.count(ExchangeQuery(hosts=("api.internal",))),
    "paged exchanges": lambda s: [x.id for x in s.iter_exchanges(page=500)],
    "stats": lambda s: s.stats(ExchangeQuery(), 3600),
}


@pytest.mark.parametrize("read", READS)
def test_a_writer_that_starts_during_a_read_only_statement(
    tmp_path: Path, pause_reader: list[Any], read: str
) -> None:
    db = tmp_path / "store.db"
    small_page_store(db)
    with Store.open(f"sqlite:///{db}", read_only=True) as reader:
        old = READS[read](reader)
        writer = Writer(db)
        pause_reader.append(writer.go)
        seen = READS[read](reader)
        assert not pause_reader  # the writer ran inside the statement
        new = READS[read](reader)
    assert new != old and ids(db) == sorted(ids(db)) and len(ids(db)) == 2 * ROWS
    # the statement that ran across the writer's checkpoint is read again: without that, a
    # torn b-tree ("database disk image is malformed", reported as a damaged store)
    assert seen == new
    # the reader created nothing: the writer's close removed its WAL and -shm
    assert sorted(os.listdir(tmp_path)) == ["store.db"]


def test_a_store_that_keeps_changing_is_reported_not_read_torn(
    tmp_path: Path, pause_reader: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "store.db"
    small_page_store(db)
    monkeypatch.setattr(amber._store, "_READ_ATTEMPTS", 1)
    with Store.open(f"sqlite:///{db}", read_only=True) as reader:
        writer = Writer(db)
        pause_reader.append(writer.go)
        with pytest.raises(
            StoreUnavailable, match="changed under 1 reads in a row.*run this again"
        ):
            reader.count(ExchangeQuery(hosts=("api.internal",)))


def test_a_damaged_store_is_still_reported_damaged(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    small_page_store(db, rows=300)
    data = bytearray(db.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 2048] = b"\xff" * 2048  # pages, not the header
    db.write_bytes(bytes(data))
    with (
        pytest.raises(StoreError, match="malformed|decode"),
        Store.open(f"sqlite:///{db}", read_only=True) as reader,
    ):
        list(reader.iter_exchanges())


def pause_writable(store: Store, armed: list[Any]) -> None:
    """The same progress-handler pause on a writing store's pooled connections."""

    def on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        calls = [0]

        def handler() -> int:
            if armed:
                calls[0] += 1
                if calls[0] == 20:
                    armed.pop()()
            return 0

        dbapi_conn.set_progress_handler(handler, 100)

    sa.event.listen(store.engine, "connect", on_connect)
    store.engine.dispose()  # connections made from now on get the handler


def test_two_writing_stores_in_two_processes(tmp_path: Path) -> None:
    """Normal connections need no check: a statement reads its snapshot (its read mark holds
    the other process's checkpoint back), and a store held open across another process's
    writes reads them (the benchmark's "malformed" came from elsewhere)."""
    db = tmp_path / "store.db"
    small_page_store(db)
    armed: list[Any] = []
    with Store.open(f"sqlite:///{db}") as holder:
        old = [s.id for s in holder.iter_summaries(ExchangeQuery(), page=10 * ROWS)]
        pause_writable(holder, armed)
        writer = Writer(db)
        armed.append(writer.go)
        seen = [s.id for s in holder.iter_summaries(ExchangeQuery(), page=10 * ROWS)]
        assert not armed
        assert seen == old  # the snapshot the statement started on
        after = [s.id for s in holder.iter_summaries(ExchangeQuery())]
        assert len(after) == 2 * ROWS and set(old) < set(after)
        Writer(db).go()  # a whole writer run while the store is open and idle
        assert holder.count() == 3 * ROWS
    assert ids(db)[: len(after)] != [] and len(ids(db)) == 3 * ROWS
