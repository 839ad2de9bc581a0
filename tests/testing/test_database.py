"""The session's test database: every generated test starts from exactly its fixture plus
the app's start-up, with the app built once and reused (through the plugin, as users run it)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]


FIXTURE = """version: 1
tables:
- name: items
  columns: [{name: id, type: integer, nullable: false}, {name: label, type: text}]
  primary_key: [id]
  rows: [{id: 1, label: a}, {id: 2, label: b}]
"""

# A WSGI app on SQLite that holds its connection from one request to the next, as an engine
# pool does. Its start-up creates a table of its own with a row, an index and a trigger.
APP = '''
import json, os, sqlite3

BUILT = []

def create_app():
    conn = sqlite3.connect(os.environ["APP_DB"].removeprefix("sqlite:///"),
                           check_same_thread=False, isolation_level=None)
    conn.executescript("""
        CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT);
        INSERT OR IGNORE INTO settings VALUES ('theme', 'dark');
        CREATE INDEX IF NOT EXISTS settings_value ON settings (value);
        CREATE TABLE IF NOT EXISTS audit (what TEXT);
        CREATE TRIGGER IF NOT EXISTS settings_audit AFTER DELETE ON settings
          BEGIN INSERT INTO audit VALUES ('deleted ' || old.name); END;
    """)
    BUILT.append(1)

    def app(environ, start_response):
        path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
        cookie = environ.get("HTTP_COOKIE", "")
        headers = [("Content-Type", "application/json")]
        if path == "/items" and method == "POST":
            conn.execute("INSERT INTO items (label) VALUES ('new')")
        if path == "/settings" and method == "DELETE":
            conn.execute("DELETE FROM settings")
        if path == "/login":
            headers.append(("Set-Cookie", "session=s3cret; Path=/"))
        has = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        body = {
            "items": [r[0] for r in conn.execute("SELECT label FROM items ORDER BY id")]
                     if "items" in has else None,
            "settings": dict(conn.execute("SELECT * FROM settings").fetchall()),
            "audit": [r[0] for r in conn.execute("SELECT what FROM audit")],
            "trigger": "settings_audit" in has, "index": "settings_value" in has,
            "cookie": cookie, "built": len(BUILT),
        }
        start_response("200 OK", headers)
        return [json.dumps(body).encode()]

    return app
'''

TESTS = """
import pytest

pytestmark = pytest.mark.amber(fixture={fixture!r}, db_env="APP_DB")


def test_{name}_1_writes(amber_client):
    if {items!r} is not None:
        assert amber_client.request("POST", "/items").json()["items"] == {items!r} + ["new"]
    body = amber_client.request("DELETE", "/settings").json()
    assert body["settings"] == {{}} and body["audit"] == ["deleted theme"]
    amber_client.request("GET", "/login")
    assert amber_client.request("GET", "/").json()["cookie"] == "session=s3cret"


def test_{name}_2_starts_clean(amber_client):
    body = amber_client.request("GET", "/").json()
    assert body["items"] == {items!r}
    assert body["settings"] == {{"theme": "dark"}} and body["audit"] == []
    assert body["trigger"] and body["index"]
    assert body["cookie"] == ""
    print("built", body["built"])
"""


def _generated_suite(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(shopapp=APP)
    (pytester.path / "fx.yaml").write_text(FIXTURE)
    (pytester.path / "fx2.yaml").write_text(  # the same schema, other rows
        FIXTURE.replace("{id: 1, label: a}, {id: 2, label: b}", "{id: 7, label: c}")
    )
    for name, fixture, items in (
        ("a", "fx.yaml", ["a", "b"]),
        ("b", None, None),  # the app's own tables only
        ("c", "fx2.yaml", ["c"]),
        ("d", "fx.yaml", ["a", "b"]),
    ):  # again, after others
        (pytester.path / f"test_{name}.py").write_text(
            TESTS.format(fixture=fixture, name=name, items=items)
        )


def test_generated_tests_start_from_their_fixture_and_the_apps_start_up(
    pytester: pytest.Pytester,
) -> None:
    """One app for the session, yet every test sees exactly its fixture plus what the app's
    start-up created: writes (rows, deleted start-up rows, cookies) do not leak into the
    next test, whichever test built the app."""
    _generated_suite(pytester)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-s", "--amber-app", "shopapp:create_app"
    )
    result.assert_outcomes(passed=8)
    assert re.findall(r"built (\d+)", result.stdout.str()) == ["1", "1", "1", "1"]  # reused


def test_fresh_app_builds_the_app_for_every_test(pytester: pytest.Pytester) -> None:
    _generated_suite(pytester)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-s", "--amber-fresh-app", "--amber-app", "shopapp:create_app"
    )
    result.assert_outcomes(passed=8)
    assert re.findall(r"built (\d+)", result.stdout.str()) == ["2", "4", "6", "8"]


NEEDS_ROWS = """
import json, os, sqlite3

def create_app():
    conn = sqlite3.connect(os.environ["APP_DB"].removeprefix("sqlite:///"),
                           check_same_thread=False, isolation_level=None)
    labels = [r[0] for r in conn.execute("SELECT label FROM items")]  # fails when empty
    conn.execute("CREATE TABLE IF NOT EXISTS seen (n INTEGER)")

    def app(environ, start_response):
        if environ["REQUEST_METHOD"] == "POST":
            conn.execute("INSERT INTO seen VALUES (1)")
        seen = conn.execute("SELECT count(*) FROM seen").fetchone()[0]
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"labels": labels, "seen": seen}).encode()]

    return app
"""


def test_an_app_whose_start_up_needs_rows_is_built_on_the_first_tests_fixture(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(rowsapp=NEEDS_ROWS)
    (pytester.path / "fx.yaml").write_text(FIXTURE)
    pytester.makepyfile(
        test_rows="""
import pytest

pytestmark = pytest.mark.amber(fixture="fx.yaml", db_env="APP_DB")

def test_1(amber_client):
    assert amber_client.request("POST", "/").json() == {"labels": ["a", "b"], "seen": 1}

def test_2(amber_client):
    assert amber_client.request("GET", "/").json() == {"labels": ["a", "b"], "seen": 0}
"""
    )
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--amber-app", "rowsapp:create_app"
    )
    result.assert_outcomes(passed=2)


DANGLING = """version: 1
tables:
- name: parents
  columns: [{name: id, type: integer, nullable: false}]
  primary_key: [id]
  rows: [{id: 1}]
- name: kids
  columns: [{name: id, type: integer, nullable: false},
            {name: parent_id, type: integer, nullable: false}]
  primary_key: [id]
  foreign_keys: [{columns: [parent_id], references: parents, ref_columns: [id],
                  enforced: false}]
  rows: [{id: 1, parent_id: 1}, {id: 2, parent_id: 404}]
"""


def test_a_fixture_that_keeps_dangling_references_loads_as_it_is(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The session database gets the source's dangling row (built in place, then restored
    from a template), and keeps checking foreign keys for what the app writes."""
    from amber.testing._database import Session

    path = tmp_path / "dangling.yaml"
    path.write_text(DANGLING)
    session = Session()
    try:
        for _ in range(2):
            session.load(path, None, tmp_path_factory)
            conn = session.target(tmp_path_factory)
            assert conn.execute("SELECT id, parent_id FROM kids ORDER BY id").fetchall() == [
                (1, 1),
                (2, 404),
            ]
            assert conn.execute("PRAGMA foreign_keys").fetchone() == (1,)
    finally:
        session.close()
