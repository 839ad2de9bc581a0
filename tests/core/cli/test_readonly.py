"""Commands that only read never change a store, and no command touches a file that is not
an amber store: byte-compared (sha256 and mtime of the file, its -wal and -shm) before and
after. `amber scan` goes on past what it cannot scan and says what that was."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest

from amber._store import SCHEMA_VERSION
from amber._store import ExchangeQuery
from amber._store import Store
from tests.conftest import make_exchange
from tests.core.cli.conftest import Run
from tests.core.test_store_readonly import leave_wal
from tests.core.test_store_readonly import snapshot

GH = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"


def first_id(db: Path) -> str:
    with Store.open(f"sqlite:///{db}", read_only=True) as store:
        return store.summaries(ExchangeQuery(limit=1))[0].id


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


READS = [
    ["ls"],
    ["ls", "--json"],
    ["show", "{id}"],
    ["show", "{id}", "--json"],
    ["stats"],
    ["stats", "--json"],
    ["export", "-o", "{tmp}/out.har"],
    ["export", "--format", "jsonl", "-o", "{tmp}/out.jsonl"],
    ["export", "--format", "curl"],
    ["scan", "{db}"],
    ["scan", "{dir}"],
    ["gen-test", "{id}", "--out", "{tmp}/tests"],
    ["runs"],
    ["runs", "--json"],
]


@pytest.mark.parametrize("argv", READS, ids=lambda a: " ".join(a))
def test_read_only_commands_leave_a_store_with_a_leftover_wal_unchanged(
    env: Path, amber: Run, tmp_path_factory: pytest.TempPathFactory, argv: list[str]
) -> None:
    db = env / "store" / "store.db"
    db.parent.mkdir()
    leave_wal(db, n=12)
    ex_id = first_id(db)
    out_dir = tmp_path_factory.mktemp("out")
    before = snapshot(db)
    args = [a.format(id=ex_id, tmp=out_dir, db=db, dir=db.parent) for a in argv]
    store = [] if argv[0] == "scan" else ["--store", f"sqlite:///{db}"]
    code, out, err = amber(*args, *store)
    # make_exchange's Set-Cookie values are raw (capture masks them): scan finds them
    assert code == (1 if argv[0] == "scan" else 0), err
    assert snapshot(db) == before
    if argv[0] == "ls":
        assert out.count("\n") >= 12  # the exchanges that are only in the WAL were read


FOREIGN_COMMANDS = [
    ["ls"],
    ["show", "01ARZ3NDEKTSV4RRFFQ69G5FAV"],
    ["stats"],
    ["export"],
    ["import", "{jsonl}"],
    ["migrate"],
]


@pytest.mark.parametrize("journal_mode", ["delete", "wal"])
@pytest.mark.parametrize("argv", FOREIGN_COMMANDS, ids=lambda a: a[0])
def test_no_command_touches_an_applications_database(
    env: Path, amber: Run, argv: list[str], journal_mode: str
) -> None:
    db = env / "app.db"
    con = sqlite3.connect(db)
    con.execute(f"pragma journal_mode = {journal_mode}")
    con.execute("create table users (id integer primary key, email text)")
    con.commit()
    con.close()
    jsonl = env / "in.jsonl"
    jsonl.write_bytes(b"")
    before = snapshot(db)
    code, _, err = amber(*[a.format(jsonl=jsonl) for a in argv], "--store", f"sqlite:///{db}")
    assert code == 1
    line = one_error_line(err)
    assert "not an amber store but another application's database (tables users)" in line
    assert "untouched" in line and "point --store at a new file" in line
    assert snapshot(db) == before


def test_scan_reads_an_applications_database_as_bytes_and_leaves_it(env: Path, amber: Run) -> None:
    db = env / "app.db"
    con = sqlite3.connect(db)
    con.execute("pragma journal_mode = wal")
    con.execute("create table users (id integer primary key, token text)")
    con.execute("insert into users (token) values (?)", (GH,))
    con.commit()
    con.close()
    before = snapshot(db)
    code, out, err = amber("scan", str(db))
    assert code == 1 and "github" in out.lower() and GH not in out  # its bytes hold it all
    assert "not an amber store (scanned as bytes)" in err
    assert snapshot(db) == before


@pytest.mark.parametrize("argv", [["ls"], ["import", "{jsonl}"], ["stats"]], ids=lambda a: a[0])
def test_a_file_that_is_not_sqlite_is_refused_untouched(
    env: Path, amber: Run, argv: list[str]
) -> None:
    notes = env / "notes.txt"
    notes.write_text("my notes\n" * 50)
    before = snapshot(notes)
    code, _, err = amber(*[a.format(jsonl=notes) for a in argv], "--store", str(notes))
    assert code == 1
    assert "not an SQLite database" in one_error_line(err)
    assert snapshot(notes) == before


def test_a_store_that_needs_migrating_is_read_after_amber_migrate(env: Path, amber: Run) -> None:
    db = env / "store.db"
    with Store.open(f"sqlite:///{db}") as store, store.engine.begin() as conn:
        store.add(make_exchange(1))
        conn.exec_driver_sql(
            f"update amber_meta set value='{SCHEMA_VERSION - 1}' where key='schema_version'"
        )
    before = snapshot(db)
    code, _, err = amber("ls")
    assert code == 1
    assert f"amber migrate --store sqlite:///{db}" in one_error_line(err)
    assert snapshot(db) == before
    code, _, err = amber("migrate")
    assert code == 0 and f"store schema {SCHEMA_VERSION}" in err
    code, out, _ = amber("ls", "--json")
    assert code == 0 and out.count("\n") == 1


def test_scan_goes_on_past_what_it_cannot_scan_and_names_it(env: Path, amber: Run) -> None:
    scanned = env / "artifacts"
    scanned.mkdir()
    old = scanned / "old.db"  # an amber store this amber cannot read without migrating
    with Store.open(f"sqlite:///{old}") as store, store.engine.begin() as conn:
        store.add(make_exchange(1))
        conn.exec_driver_sql(
            f"update amber_meta set value='{SCHEMA_VERSION - 1}' where key='schema_version'"
        )
    (scanned / "z_leak.txt").write_text(f"token {GH}\n")
    before = snapshot(old)
    code, out, err = amber("scan", str(scanned), str(env / "missing.har"))
    assert code == 1  # a finding
    assert f"{scanned / 'z_leak.txt'}:1:" in out  # scanned after the store it could not read
    assert f"not scanned: {old}: " in err and "amber migrate" in err
    assert f"not scanned: {env / 'missing.har'}: no such file" in err
    assert "2 files, 0 stores, 1 findings, 2 not scanned" in err
    assert snapshot(old) == before
    (scanned / "z_leak.txt").unlink()
    code, _, err = amber("scan", str(scanned))
    assert code == 2 and "1 not scanned" in err  # nothing found, but not everything read


def test_a_missing_postgres_driver_names_the_extra(
    env: Path, amber: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg raises ImportError
    code, _, err = amber("ls", "--store", "postgresql://amber:secret@127.0.0.1:1/amber")
    assert code == 1
    line = one_error_line(err)
    assert "pip install 'amber[postgres]'" in line and "secret" not in line
