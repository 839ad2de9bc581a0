"""The test database at a path the user gives (`testing.database.path`, `--amber-db-path`)
and the database env var holding a plain path (`env_form: path`): a small real Flask app
that opens `data/app.db` itself, through the plugin as users run it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from amber._config import load_config
from amber.errors import ConfigError
from amber.errors import UsageError
from amber.testing._database import DbFile
from amber.testing._database import env_value
from amber.testing._database import worker_path

pytest_plugins = ["pytester"]

FIXTURE = """version: 1
tables:
- name: items
  columns: [{name: id, type: integer, nullable: false}, {name: label, type: text}]
  primary_key: [id]
  rows: [{id: 1, label: a}, {id: 2, label: b}]
"""

# A Flask app that opens its database by a fixed relative path (or, with APP_DB set, the
# plain file path in it), a new connection per request, as many small apps do.
FLASK_APP = """
import os
import sqlite3

from flask import Flask, jsonify


def _db():
    path = os.environ.get("APP_DB", "data/app.db")
    assert not path.startswith("sqlite:"), path  # a path, not a URL
    return sqlite3.connect(path, isolation_level=None)


def create_app():
    app = Flask(__name__)

    @app.get("/items")
    def items():
        conn = _db()
        try:
            labels = [r[0] for r in conn.execute("SELECT label FROM items ORDER BY id")]
        finally:
            conn.close()
        return jsonify(items=labels, db=os.path.abspath(os.environ.get("APP_DB", "data/app.db")))

    @app.post("/items")
    def add():
        conn = _db()
        try:
            conn.execute("INSERT INTO items (label) VALUES ('new')")
        finally:
            conn.close()
        return items()

    return app
"""

TESTS = """
import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.amber(fixture="fx.yaml")


def test_1_writes(amber_client):
    assert amber_client.request("POST", "/items").json()["items"] == ["a", "b", "new"]


def test_2_starts_from_its_fixture(amber_client):
    body = amber_client.request("GET", "/items").json()
    assert body["items"] == ["a", "b"]
    assert Path(body["db"]).is_file()
    marked = Path(body["db"] + ".amber-test").is_file()
    print("DB", body["db"], "ENV", os.environ.get("APP_DB"), "MARKED", marked)
"""

AMBER_YAML = """testgen:
  app: flask_app:create_app
testing:
  database:
    path: data/app.db
"""


def _project(pytester: pytest.Pytester, amber_yaml: str = AMBER_YAML) -> Path:
    pytester.syspathinsert()
    pytester.makepyfile(flask_app=FLASK_APP, test_app=TESTS)
    pytester.makefile(".yaml", fx=FIXTURE, amber=amber_yaml)
    return pytester.path


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s", *args)


def test_an_app_that_opens_a_fixed_path_gets_its_fixture_there(pytester: pytest.Pytester) -> None:
    root = _project(pytester)
    result = _run(pytester)
    result.assert_outcomes(passed=2)
    assert f"DB {root / 'data' / 'app.db'} ENV None MARKED True" in result.stdout.str()
    # removed after the session: the database, its marker and the folder amber made
    assert not (root / "data").exists()


def test_a_file_there_that_is_not_amber_s_is_never_overwritten(pytester: pytest.Pytester) -> None:
    root = _project(pytester)
    (root / "data").mkdir()
    precious = root / "data" / "app.db"
    precious.write_bytes(b"the developer's own database")
    result = _run(pytester)
    result.assert_outcomes(errors=2)
    out = result.stdout.str()
    assert "exists and is not amber's test database: amber never overwrites it" in out
    assert precious.read_bytes() == b"the developer's own database"
    assert sorted(p.name for p in (root / "data").iterdir()) == ["app.db"]


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True)  # fmt: skip
    return int(proc.stdout)


def test_what_a_session_that_did_not_end_left_is_taken_over(pytester: pytest.Pytester) -> None:
    root = _project(pytester)
    (root / "data").mkdir()
    (root / "data" / "app.db").write_bytes(b"stale")
    (root / "data" / "app.db-wal").write_bytes(b"stale")
    marker = {"pid": _dead_pid(), "host": socket.gethostname(), "by": "amber test database"}
    (root / "data" / "app.db.amber-test").write_text(json.dumps(marker))
    _run(pytester).assert_outcomes(passed=2)
    # the folder was there before: kept, emptied of what amber made
    assert list((root / "data").iterdir()) == []


def test_a_database_another_live_session_uses_is_refused(pytester: pytest.Pytester) -> None:
    root = _project(pytester)
    (root / "data").mkdir()
    marker = {"pid": os.getpid(), "host": socket.gethostname(), "by": "amber test database"}
    (root / "data" / "app.db.amber-test").write_text(json.dumps(marker))
    result = _run(pytester)
    result.assert_outcomes(errors=2)
    assert f"in use by another amber session (process {os.getpid()}" in result.stdout.str()
    assert (root / "data" / "app.db.amber-test").is_file()


def test_the_env_var_may_hold_a_plain_path(pytester: pytest.Pytester) -> None:
    root = _project(pytester, "testgen:\n  app: flask_app:create_app\n")
    # the option's path is relative to the rootdir; the env var holds it as a path
    result = _run(pytester, "--amber-db-path=var/test.db", "--amber-db-env=APP_DB",
                  "--amber-db-form=path")  # fmt: skip
    result.assert_outcomes(passed=2)
    db = root / "var" / "test.db"
    assert f"DB {db} ENV {db} MARKED True" in result.stdout.str()
    assert not (root / "var").exists()
    # without a path: amber's temporary file, named as a path too (ini options this time)
    pytester.makeini("[pytest]\namber_db_form = path\n")
    result = _run(pytester, "--amber-db-env=APP_DB")
    result.assert_outcomes(passed=2)
    out = result.stdout.str()
    assert "ENV sqlite:" not in out and "amber-test.db ENV /" in out and "MARKED False" in out


def test_xdist_workers_get_a_file_each_or_are_told_why_not(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(pytester)
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "2")
    result = _run(pytester)
    result.assert_outcomes(errors=2)
    assert "which parallel pytest-xdist workers cannot share: run with -n 0" in result.stdout.str()
    assert not (root / "data").exists()
    result = _run(pytester, "--amber-db-env=APP_DB", "--amber-db-form=path")
    result.assert_outcomes(passed=2)
    db = root / "data" / "app-gw1.db"
    assert f"DB {db} ENV {db} MARKED True" in result.stdout.str()
    assert not (root / "data").exists()


def test_db_file_claims_and_releases(tmp_path: Path) -> None:
    f = DbFile(tmp_path / "a" / "b" / "app.db")
    assert f.claim() == tmp_path / "a" / "b" / "app.db"
    assert f.marker.is_file() and not f.path.exists()  # SQLite creates the file
    f.path.write_bytes(b"x")
    f.release()
    assert list(tmp_path.iterdir()) == []
    mine = tmp_path / "mine.db"
    mine.write_bytes(b"x")
    with pytest.raises(UsageError, match="move it away|Move it away"):
        DbFile(mine).claim()
    assert mine.read_bytes() == b"x"


def test_env_value_forms() -> None:
    assert env_value("sqlite:////tmp/x.db", "url") == "sqlite:////tmp/x.db"
    assert env_value("sqlite:////tmp/x.db", "path") == "/tmp/x.db"
    with pytest.raises(UsageError, match="use env_form: url"):
        env_value("postgresql://db/app", "path")
    assert worker_path(Path("/d/app.db"), "gw3") == Path("/d/app-gw3.db")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("testing:\n  database:\n    env_form: file\n", "expected url"),
        ("testing:\n  database:\n    paht: x.db\n", "unknown key"),
        ("testing:\n  database:\n    path: 3\n", "expected a file path"),
    ],
)
def test_testing_database_is_checked_with_its_line(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "amber.yaml").write_text(text)
    with pytest.raises(ConfigError, match=message) as e:
        load_config(tmp_path / "amber.yaml")
    assert e.value.line == 3
