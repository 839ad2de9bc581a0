"""amber's one pytest plugin: its options, its markers, and `amber_db` for hand-written tests."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]


def test_one_plugin_entry_point() -> None:
    """One `pytest11` entry point for amber, so each option is registered once."""
    names = [
        ep.value
        for ep in metadata.entry_points(group="pytest11")
        if ep.dist is not None and ep.dist.name == "amber"
    ]
    assert names == ["amber.testing._plugin"]


def test_options_are_registered_once_and_documented(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("-p", "no:cacheprovider", "--help")
    out = result.stdout.str()
    for option in (
        "--amber-app",
        "--amber-base-url",
        "--amber-db-url",
        "--amber-db-env",
        "--amber-db-path",
        "--amber-db-form",
        "--amber-fresh-app",
        "--amber-update",
    ):
        assert out.count(option) == 1, option
    result = pytester.runpytest("-p", "no:cacheprovider", "--markers")
    assert "@pytest.mark.amber(" in result.stdout.str()
    assert "@pytest.mark.amber_fixture(" in result.stdout.str()


HEAVY = (
    "mitmproxy", "faker", "rich", "uvloop", "httptools", "zstandard", "sqlalchemy", "httpx",
    "flask", "asyncio",
)  # fmt: skip


def test_plugins_import_nothing_heavy() -> None:
    """pytest start-up for projects that never use amber, and a generated test's imports:
    `amber.testing` and the plugin load none of capture's, replay's or the store's
    dependencies, nor httpx (the client loads it when a test asks for one)."""
    code = (
        "import sys, amber.testing, amber.testing._plugin; "
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


def test_fixture_loading_imports_no_store_nor_pseudonyms() -> None:
    """Reading and loading a fixture (what `amber_client` does) needs SQLAlchemy, 1.4 or
    2.x, but neither the store (zstandard) nor Faker nor extraction."""
    code = (
        "import sys; from amber.fixtures import Fixture, load; "
        "print(sorted(m for m in ('zstandard', 'faker', 'rich', 'mitmproxy', "
        "'amber._store', 'amber.fixtures._extract') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


def test_a_snapshot_tests_replay_imports_load_no_engine() -> None:
    """A snapshot test compares with amber.replay's rules: importing them loads neither the
    replay engine (the store, httptools, the runner) nor SQLAlchemy, while the engine's
    names still resolve on first use. (httpx, a runtime dependency, loads zstandard's
    decoder where it is installed: not asserted here.)"""
    code = (
        "import sys; from amber.replay import NoiseRules, compare_responses; "
        "print(sorted(m for m in ('httptools', 'sqlalchemy', 'amber._store', "
        "'amber.replay._runner', 'amber.replay._run') if m in sys.modules)); "
        "import amber.replay as r; print(r.Replayer.__module__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.split() == ["[]", "amber.replay._runner"]


FX = """version: 1
tables:
- name: t
  columns: [{name: id, type: integer, nullable: false}]
  primary_key: [id]
  rows: [{id: 1}, {id: 2}]
"""


def test_amber_db_loads_and_cleans_up(pytester: pytest.Pytester, tmp_path: Path) -> None:
    db = tmp_path / "plugin.db"
    pytester.makefile(".yaml", fx=FX)
    pytester.makepyfile(f"""
import sqlalchemy as sa
import pytest

def test_factory(amber_db):
    h = amber_db("fx.yaml")
    with h.engine.connect() as c:
        assert c.exec_driver_sql("SELECT count(*) FROM t").scalar() == 2

@pytest.mark.amber_fixture("fx.yaml")
def test_marker(amber_db):
    e = sa.create_engine("sqlite:///{db}")
    with e.connect() as c:
        assert c.exec_driver_sql("SELECT count(*) FROM t").scalar() == 2
    e.dispose()
""")
    # the plugin comes from the pytest11 entry point, as for a user
    result = pytester.runpytest("-p", "no:cacheprovider", f"--amber-db-url=sqlite:///{db}")
    result.assert_outcomes(passed=2)
    import sqlalchemy as sa

    e = sa.create_engine(f"sqlite:///{db}")
    assert sa.inspect(e).get_table_names() == []
    e.dispose()


WSGI_APP = """
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b'{"n": 1}']
"""

SNAPSHOT_TEST = """
import pytest

from amber.testing import assert_matches_recording

pytestmark = pytest.mark.amber(app="wsgi_app:app")


def test_one(amber_client, request):
    response = amber_client.request("GET", "/")
    assert_matches_recording(response, request.path.parent / "__snapshots__/test_one.json")
"""


def test_terminal_summary_counts_updated_and_unused_snapshots(pytester: pytest.Pytester) -> None:
    pytester.syspathinsert()
    pytester.makepyfile(wsgi_app=WSGI_APP, test_one=SNAPSHOT_TEST)
    first = pytester.runpytest("-p", "no:cacheprovider", "--amber-update")
    first.assert_outcomes(passed=1)
    first.stdout.fnmatch_lines(["amber: 1 snapshot updated"])
    assert (pytester.path / "__snapshots__" / "test_one.json").is_file()

    again = pytester.runpytest("-p", "no:cacheprovider", "--amber-update")
    again.stdout.fnmatch_lines(["amber: 0 snapshots updated, 1 unchanged"])
    assert "no test uses" not in again.stdout.str()

    # a snapshot whose test file is gone is reported; without --amber-update no count
    (pytester.path / "__snapshots__" / "test_gone.json").write_text("{}")
    plain = pytester.runpytest("-p", "no:cacheprovider")
    plain.assert_outcomes(passed=1)
    plain.stdout.fnmatch_lines(
        [
            "amber: 1 snapshot no test uses (no test file of that name): "
            "__snapshots__/test_gone.json*"
        ]
    )
    assert "amber: 0 snapshots" not in plain.stdout.str()
    assert "updated," not in plain.stdout.str()


def test_amber_captured_at_is_documented(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("-p", "no:cacheprovider", "--fixtures")
    out = result.stdout.str()
    start = out.index("amber_captured_at --")
    assert "When the test's exchange was captured" in out[start : start + 400]
