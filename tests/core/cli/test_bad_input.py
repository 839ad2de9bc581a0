"""Every command's bad input: one line on stderr, `amber COMMAND: error: MESSAGE`, naming
what is wrong and what to do; a non-zero exit status; never a traceback (issue 15, item 7).

One table runs every subcommand through `main(argv)`; two of its cases run again as a
real `python -m amber` process, where nothing (pytest's capture included) could hide a
traceback printed by the interpreter.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from amber._har import write_har
from amber._runs import RunLog
from amber._store import Store
from amber.cli import main
from amber.errors import StoreCorrupt
from amber.testing._generate import MAX_JSON_DEPTH
from tests.conftest import make_exchange
from tests.core.cli.conftest import DATA
from tests.core.cli.conftest import Run

DEEP = 5000  # the 5000-deep JSON body


def _damage(path: Path, keep_pages: int = 3) -> None:
    """Overwrite every page of an SQLite file after the first `keep_pages` with garbage:
    the schema and amber's meta table (pages 1 to 3) stay readable, so the store opens,
    and reading any exchange, index or run then meets SQLite's "malformed" error."""
    page = 4096
    garbage = bytes((i * 37 + 11) % 256 for i in range(page))
    with path.open("r+b") as fp:
        for n in range(keep_pages, path.stat().st_size // page):
            fp.seek(n * page)
            fp.write(garbage)


@pytest.fixture
def world(env: Path) -> Path:
    """The env's store (20 exchanges, a 5000-deep JSON response, a replay run), a copy
    with damaged pages and one with a damaged row, a foreign SQLite file, truncated HAR
    files and a plain file to put paths under."""
    deep = make_exchange(99, body=b"[" * DEEP + b"1" + b"]" * DEEP, request_id="deep-1")
    good = [make_exchange(i) for i in range(20)]
    with Store.open(f"sqlite:///{env / 'store.db'}") as s:
        s.add_many([*good, deep])
        log = RunLog(s)
        log.finish(log.start("replay", "http://127.0.0.1:9", {}), "completed", {"sent": 0})
    with (
        Store.open(f"sqlite:///{env / 'store.db'}", read_only=True) as s,
        (env / "export.har").open("wb") as fp,
    ):
        write_har(s.iter_exchanges(), fp, creator_version="test")
    shutil.copy(env / "store.db", env / "damaged.db")
    _damage(env / "damaged.db")
    with (
        Store.open(f"sqlite:///{env / 'damaged.db'}", read_only=True) as s,
        pytest.raises(StoreCorrupt),
    ):
        s.count()  # the damage is where every command reads
    with sqlite3.connect(env / "foreign.db") as conn:
        conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")
    shutil.copy(env / "store.db", env / "bad-row.db")  # a sound file, one row's document not
    with sqlite3.connect(env / "bad-row.db") as conn:
        conn.execute("UPDATE amber_exchanges SET doc = x'00ff' WHERE request_id = 'req-3'")
    (env / "cut.har").write_bytes((DATA / "chrome_devtools.har").read_bytes()[:3000])
    lines = (env / "export.har").read_bytes().splitlines(keepends=True)
    (env / "cut-at-line.har").write_bytes(b"".join(lines[:8]))  # amber's own, cut at a line end
    (env / "plain").write_text("a file, not a directory\n")
    (env / "a-dir").mkdir()
    return env


DAMAGED = "--store sqlite:///{dir}/damaged.db"
CORRUPT = "is not a readable amber store (database disk image is malformed)"

# (command line, exit status, what the one line must say, environment variable to unset)
CASES: list[tuple[str, int, str, str | None]] = [
    (f"ls {DAMAGED}", 1, CORRUPT, None),
    ("ls --limit x", 2, "argument --limit: invalid int value: 'x'; see `amber ls --help`", None),
    ("ls --config {dir}/missing.yaml", 1, "missing.yaml: file not found", None),
    (f"show {{id}} {DAMAGED}", 1, CORRUPT, None),
    ("show no-such-id", 1, "no exchange with id or request id 'no-such-id'", None),
    (
        "show req-3 --store sqlite:///{dir}/bad-row.db",
        1,
        "is damaged (JSONDecodeError decoding it); restore the store from a backup",
        None,
    ),
    (f"stats {DAMAGED}", 1, CORRUPT, None),
    ("stats --bucket 5x", 2, "invalid duration '5x'", None),
    ("export -o /missing/dir/x.har", 2, "-o /missing/dir/x.har: no directory /missing/dir", None),
    ("export -o {dir}/a-dir", 2, "a-dir: is a directory; give a file name", None),
    (f"export -o {{dir}}/out.har {DAMAGED}", 1, CORRUPT, None),
    ("export -o {dir}/out.har --store sqlite:///{dir}/bad-row.db", 1, "is damaged", None),
    ("import nothere.har", 2, "nothere.har: no such file; check the path", None),
    ("import {dir}/a-dir", 2, "a-dir: is a directory", None),
    ("import {dir}/cut.har", 1, "cut.har: the file ends in the middle of its JSON", None),
    ("import {dir}/cut-at-line.har", 1, "truncated; export or copy it again, whole", None),
    ("import {dir}/cut.har", 1, "AMBER_KEY is not set", "AMBER_KEY"),
    ("migrate --store sqlite:///{dir}/foreign.db", 1, "another application's database", None),
    ("capture --upstream http://127.0.0.1:9", 1, "AMBER_KEY is not set", "AMBER_KEY"),
    ("capture --upstream localhost:8000", 2, "--upstream 'localhost:8000'", None),
    ("addon-path extra", 2, "unrecognized arguments: extra", None),
    ("scan", 2, "give at least one PATH or --store URL", None),
    (f"replay {{id}} --target http://127.0.0.1:9 {DAMAGED}", 1, CORRUPT, None),
    ("replay {id} --target nowhere", 2, "unknown target 'nowhere'", None),
    (f"runs {DAMAGED}", 1, CORRUPT, None),
    ("runs NO-SUCH-RUN", 1, "no run 'NO-SUCH-RUN'", None),
    (
        "shadow {id} --baseline http://127.0.0.1:9 --candidate http://127.0.0.1:9 "
        "--save-noise /missing/d/noise.yaml",
        2,
        "--save-noise /missing/d/noise.yaml",
        None,
    ),
    (
        "shadow {id} --baseline http://127.0.0.1:9 --candidate http://127.0.0.1:9 --fail-on bogus",
        2,
        "invalid --fail-on 'bogus'",
        None,
    ),
    (
        "gen-test deep-1 --out {dir}/t",
        2,
        f"nests JSON {DEEP} levels deep, more than a "
        f"generated snapshot test compares ({MAX_JSON_DEPTH}); pass --expect-status 200",
        None,
    ),
    (
        "gen-test {id} --out {dir}/t --expect-json " + "[" * DEEP + "]" * DEEP,
        2,
        "--expect-json nests too deep",
        None,
    ),
    (
        "gen-test {id} --out {dir}/t --expect-json " + "[" * 101 + "]" * 101,
        2,
        "--expect-json nests 101 levels deep",
        None,
    ),
    ("gen-test {id} --out {dir}/plain/t", 2, "plain is a file, not a directory", None),
    (f"gen-test {{id}} --out {{dir}}/t {DAMAGED}", 1, CORRUPT, None),
    ("fixtures {id} --source-db sqlite:///{dir}/nothere.db", 1, "nothere.db: no such file", None),
    (f"fixtures {{id}} --source-db sqlite:///{{dir}}/foreign.db {DAMAGED}", 1, CORRUPT, None),
    (
        "fixtures {id} --source-db sqlite:///{dir}/foreign.db -o {dir}/plain/f.yaml",
        2,
        "plain is a file, not a directory",
        None,
    ),
    ("demo --examples {dir}/nothere", 2, "no example app at", None),
    ("demo --out {dir}/plain/demo", 2, "plain is a file, not a directory", None),
    ("audit --file {dir}/a-dir", 2, "a-dir: is a directory", None),
    ("audit --since last-tuesday", 2, "invalid time 'last-tuesday'", None),
]


def _argv(line: str, world: Path) -> list[str]:
    with Store.open(f"sqlite:///{world / 'store.db'}", read_only=True) as s:
        first = next(iter(s.iter_exchanges())).id
    return shlex.split(line.format(dir=world, id=first))


def _one_error_line(command: str, err: str, needle: str) -> str:
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"amber {command}: error: "), lines[0]
    assert needle in lines[0], lines[0]
    return lines[0]


def test_every_commands_bad_input_is_one_line(
    world: Path, amber: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The table, in one test: each case changes nothing another one reads (a failing case
    names its command line)."""
    commands = set()
    for line, status, needle, unset in CASES:
        argv = _argv(line, world)
        with monkeypatch.context() as m:
            if unset:
                m.delenv(unset)
            code, out, err = amber(*argv)
        assert "Traceback" not in out, line
        assert code == status, (line, code, err)
        _one_error_line(argv[0], err, needle)
        commands.add(argv[0])
    subcommands = {
        "ls",
        "show",
        "export",
        "import",
        "stats",
        "migrate",
        "capture",
        "addon-path",
        "scan",
        "replay",
        "runs",
        "shadow",
        "gen-test",
        "fixtures",
        "demo",
        "audit",
    }
    assert commands == subcommands
    assert not (world / "t").exists()  # gen-test refused before writing anything
    assert not (world / "out.har").exists() and not (world / "out.har.part").exists()


def test_an_import_cut_short_keeps_what_came_before_it(world: Path, amber: Run) -> None:
    code, _, err = amber(
        "import", str(world / "cut-at-line.har"), "--store", f"sqlite:///{world / 'imported.db'}"
    )
    line = _one_error_line("import", err, "are in the store (importing again skips them)")
    assert code == 1 and "truncated" in line
    with Store.open(f"sqlite:///{world / 'imported.db'}", read_only=True) as s:
        assert s.count() == 7  # lines 2-8 of the export: its first seven entries


def test_a_mistyped_import_file_creates_no_store(world: Path, amber: Run) -> None:
    code, _, _ = amber("import", "nothere.har", "--store", f"sqlite:///{world / 'new.db'}")
    assert code == 2 and not (world / "new.db").exists()


@pytest.mark.parametrize(
    "line", ["stats --store sqlite:///{dir}/damaged.db", "import {dir}/cut.har"]
)
def test_a_real_process_prints_one_line_too(world: Path, line: str) -> None:
    argv = _argv(line, world)
    proc = subprocess.run(
        [sys.executable, "-m", "amber", *argv],
        cwd=world,
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=300,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout
    _one_error_line(argv[0], proc.stderr, "truncated" if "import" in line else CORRUPT)


def _raise(error: BaseException) -> object:
    def fail(*_: object, **__: object) -> None:
        raise error

    return fail


def test_an_unexpected_error_is_one_line_that_keeps_its_message_out(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Its message may quote unsanitized input: the line names the class and the place,
    and how to see the traceback, which AMBER_DEBUG=1 prints."""
    monkeypatch.setattr("amber.cli._common.Store.open", _raise(ValueError("secret=hunter2")))
    assert main(["ls"]) == 1
    err = capsys.readouterr().err
    line = _one_error_line("ls", err, "unexpected ValueError at ")
    assert "secret" not in line and "AMBER_DEBUG=1" in line and "a bug in amber" in line

    monkeypatch.setenv("AMBER_DEBUG", "1")
    assert main(["ls"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and err.splitlines()[-1] == line


def test_a_file_error_names_the_file(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    full = OSError(28, "No space left on device", str(env / "x.har"))
    monkeypatch.setattr("amber.cli._common.Store.open", _raise(full))
    assert main(["ls"]) == 1
    _one_error_line(
        "ls", capsys.readouterr().err, f"{env / 'x.har'}: No space left on device; check the path"
    )


def test_a_missing_optional_driver_names_the_extra(
    world: Path, amber: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if amber[postgres] were missing
    pg = "postgresql://amber@127.0.0.1:1/app"
    for argv in (["ls", "--store", pg], ["fixtures", "req-1", "--source-db", pg]):
        code, _, err = amber(*argv)
        assert code == 1
        _one_error_line(argv[0], err, "pip install 'amber[postgres]'")


def test_a_message_quoting_several_lines_is_still_one(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    error = StoreCorrupt("cannot read the store:\n  page 7: bad\n\n  page 9: bad\n")
    monkeypatch.setattr("amber.cli._common.Store.open", _raise(error))
    assert main(["ls"]) == 1
    assert capsys.readouterr().err == (
        "amber ls: error: cannot read the store:; page 7: bad; page 9: bad\n"
    )
