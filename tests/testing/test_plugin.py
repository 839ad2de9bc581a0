from __future__ import annotations

import re
import subprocess
import sys
import types
from collections.abc import Iterator

import pytest

from amber.testing import AppClient
from amber.testing import load_app
from amber.testing._client import is_asgi

pytest_plugins = ["pytester"]


async def asgi_app(scope, receive, send):  # type: ignore[no-untyped-def]
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": scope["path"].encode()})


def wsgi_app(environ, start_response):  # type: ignore[no-untyped-def]
    start_response("201 Created", [("Content-Type", "text/plain")])
    return [environ["PATH_INFO"].encode()]


@pytest.fixture
def fake_module() -> Iterator[types.ModuleType]:
    mod = types.ModuleType("amber_fake_app")
    mod.asgi = asgi_app  # type: ignore[attr-defined]
    mod.wsgi = wsgi_app  # type: ignore[attr-defined]
    mod.factory = lambda: wsgi_app  # type: ignore[attr-defined]
    sys.modules["amber_fake_app"] = mod
    yield mod
    del sys.modules["amber_fake_app"]


def test_load_app_calls_factories_only(fake_module: types.ModuleType) -> None:
    assert load_app("amber_fake_app:wsgi") is wsgi_app
    assert load_app("amber_fake_app:factory") is wsgi_app
    assert load_app("amber_fake_app:asgi") is asgi_app
    assert is_asgi(asgi_app) and not is_asgi(wsgi_app)


def test_clients_for_wsgi_and_asgi() -> None:
    r = AppClient(wsgi_app).request("GET", "/w?x=1")
    assert r.status_code == 201 and r.text == "/w"
    r = AppClient(asgi_app).request("GET", "/a")
    assert r.status_code == 200 and r.text == "/a"


def test_asgi_client_keeps_one_event_loop_and_cancels_leftover_tasks() -> None:
    import asyncio

    loops: list[asyncio.AbstractEventLoop] = []
    left: list[asyncio.Task[None]] = []

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        loops.append(asyncio.get_running_loop())
        left.append(asyncio.get_running_loop().create_task(asyncio.sleep(3600)))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    client = AppClient(app)
    assert client.request("GET", "/1").status_code == 204
    assert client.request("GET", "/2").status_code == 204
    assert loops[0] is loops[1]  # loop-bound resources of a reused app stay usable
    assert all(t.cancelled() for t in left)  # as under asyncio.run: nothing runs on
    client.close()
    assert loops[0].is_closed()


def test_plugins_import_nothing_heavy() -> None:
    """pytest start-up for projects that never use amber: no httpx from amber's plugins."""
    code = ("import sys, amber.testing._plugin; "
            "print(sorted(m for m in ('httpx', 'flask') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "[]"


# --- generated tests in one session: isolation with the app and the database reused --------

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

TESTS = '''
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
'''


def _generated_suite(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(shopapp=APP)
    (pytester.path / "fx.yaml").write_text(FIXTURE)
    (pytester.path / "fx2.yaml").write_text(  # the same schema, other rows
        FIXTURE.replace("{id: 1, label: a}, {id: 2, label: b}", "{id: 7, label: c}"))
    for name, fixture, items in (("a", "fx.yaml", ["a", "b"]),
                                 ("b", None, None),  # the app's own tables only
                                 ("c", "fx2.yaml", ["c"]),
                                 ("d", "fx.yaml", ["a", "b"])):  # again, after others
        (pytester.path / f"test_{name}.py").write_text(
            TESTS.format(fixture=fixture, name=name, items=items))


def test_generated_tests_start_from_their_fixture_and_the_apps_start_up(
        pytester: pytest.Pytester) -> None:
    """One app for the session, yet every test sees exactly its fixture plus what the app's
    start-up created: writes (rows, deleted start-up rows, cookies) do not leak into the
    next test, whichever test built the app."""
    _generated_suite(pytester)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s",
                                           "--amber-app", "shopapp:create_app")
    result.assert_outcomes(passed=8)
    assert re.findall(r"built (\d+)", result.stdout.str()) == ["1", "1", "1", "1"]  # reused


def test_fresh_app_builds_the_app_for_every_test(pytester: pytest.Pytester) -> None:
    _generated_suite(pytester)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s", "--amber-fresh-app",
                                           "--amber-app", "shopapp:create_app")
    result.assert_outcomes(passed=8)
    assert re.findall(r"built (\d+)", result.stdout.str()) == ["2", "4", "6", "8"]


NEEDS_ROWS = '''
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
'''


def test_an_app_whose_start_up_needs_rows_is_built_on_the_first_tests_fixture(
        pytester: pytest.Pytester) -> None:
    pytester.makepyfile(rowsapp=NEEDS_ROWS)
    (pytester.path / "fx.yaml").write_text(FIXTURE)
    pytester.makepyfile(test_rows='''
import pytest

pytestmark = pytest.mark.amber(fixture="fx.yaml", db_env="APP_DB")

def test_1(amber_client):
    assert amber_client.request("POST", "/").json() == {"labels": ["a", "b"], "seen": 1}

def test_2(amber_client):
    assert amber_client.request("GET", "/").json() == {"labels": ["a", "b"], "seen": 0}
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider",
                                           "--amber-app", "rowsapp:create_app")
    result.assert_outcomes(passed=2)
