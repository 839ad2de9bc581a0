"""gen-test, fixtures --verify and shrink against a served build (URL mode): each verify run
loads the fixture into the database that build reads (--verify-db-url) and sends the request
over HTTP (--base-url), as a URL-mode test does. A real server serves
the listing app (tests/testing/apps/listing.py; the stdlib's WSGI server on 127.0.0.1), which
opens its file on every request."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler
from wsgiref.simple_server import make_server

import pytest

from amber.fixtures import Fixture
from tests.core.cli.conftest import Run
from tests.core.cli.test_gentest import _listing_store
from tests.servers import free_port


@contextlib.contextmanager
def served_listing(db: Path, monkeypatch: pytest.MonkeyPatch, fixed: bool = False) -> Iterator[str]:
    """The listing app served on `db` (an empty file: verify creates the tables)."""
    from tests.testing.apps.listing import create_app

    db.touch()
    monkeypatch.setenv("LISTING_DB", f"sqlite:///{db}")
    if fixed:
        monkeypatch.setenv("LISTING_FIXED", "1")
    app = create_app()  # reads the variables now; verify runs never touch them
    monkeypatch.delenv("LISTING_DB")
    monkeypatch.delenv("LISTING_FIXED", raising=False)
    server = make_server("127.0.0.1", 0, app, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()  # listening already: make_server bound and listened
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def _tables(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    finally:
        conn.close()


def test_gen_test_verifies_widens_and_shrinks_against_a_served_build(
    env: Path, amber: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No app in-process, no rule: the first rows do not reproduce on the served build,
    widening does, shrinking leaves the two rows with the shared slug; each run's rows are
    removed from the build's database afterwards; nothing is traced (a note says why)."""
    rid = _listing_store(env)
    served_db = env / "served.db"
    with served_listing(served_db, monkeypatch) as url:
        code, _, err = amber(
            "gen-test", rid, "--out", "t", "--source-db", "sqlite:///source.db",
            "--base-url", url, "--verify-db-url", f"sqlite:///{served_db}", "--reason", "x",
        )  # fmt: skip
    assert code == 0, err
    assert "runs on a served build (--base-url), whose SQL amber does not see" in err
    assert "verify (10 rows): not reproduced" in err
    assert "reproduced with 2 rows (shrunk from 50)" in err
    rows = Fixture.read(next((env / "t" / "fixtures").glob("*.yaml"))).rows["tags"]
    assert [r["id"] for r in rows] == [17, 42]
    text = next((env / "t").glob("test_*.py")).read_text()
    assert "# amber: verified: reproduced with 2 rows (shrunk from 50)" in text
    assert _tables(served_db) == []  # what each run created (tables, rows) removed after it


def test_the_fixed_build_served_leaves_the_test_unverified(
    env: Path, amber: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    rid = _listing_store(env)
    served_db = env / "served.db"
    with served_listing(served_db, monkeypatch, fixed=True) as url:
        code, _, err = amber(
            "gen-test", rid, "--out", "t", "--source-db", "sqlite:///source.db",
            "--base-url", url, "--verify-db-url", f"sqlite:///{served_db}", "--reason", "x",
            "--widen-max", "100",
        )  # fmt: skip
    assert code == 1
    assert "NOT reproduced" in err
    assert "UNVERIFIED" in next((env / "t").glob("test_*.py")).read_text()


def test_a_build_that_does_not_answer_is_not_widened(
    env: Path, amber: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing listens at --base-url: one verify, the reason (where it asked, what to do),
    no widening (more rows cannot make a build answer), the test UNVERIFIED."""
    rid = _listing_store(env)
    (env / "served.db").touch()
    url = f"http://127.0.0.1:{free_port()}"
    code, _, err = amber(
        "gen-test", rid, "--out", "t", "--source-db", "sqlite:///source.db",
        "--base-url", url, "--verify-db-url", f"sqlite:///{env / 'served.db'}",
        "--reason", "x",
    )  # fmt: skip
    assert code == 1, err
    assert err.count("amber: verify (") == 1
    assert f"the served build at {url} did not answer" in err
    assert "not widened: the request never reached the app" in err


def test_without_a_verify_database_the_test_says_what_is_missing(env: Path, amber: Run) -> None:
    rid = _listing_store(env)
    (env / "amber.yaml").write_text(
        "version: 1\nfixtures:\n  rules:\n    - route: GET /api/tags\n"
        "      seeds: ['tags.id = 1']\n"
    )
    code, _, err = amber(
        "gen-test", rid, "--out", "t", "--source-db", "sqlite:///source.db",
        "--base-url", "http://127.0.0.1:9", "--reason", "x",
    )  # fmt: skip
    assert code == 0, err
    assert "verify has no database that build reads to load the fixture into" in err
    assert "--verify-db-url" in next((env / "t").glob("test_*.py")).read_text()


def test_a_production_target_is_never_a_verify_build(env: Path, amber: Run) -> None:
    """Verify sends the recorded request as often as shrinking needs and loads rows into
    the build's database: a URL that is a production target (any spelling) is refused
    before anything is sent or loaded."""
    rid = _listing_store(env)
    (env / "amber.yaml").write_text(
        "version: 1\ntargets:\n  prod:\n    url: http://127.0.0.1:9/\n    label: production\n"
    )
    (env / "served.db").touch()
    code, _, err = amber(
        "gen-test", rid, "--out", "t", "--source-db", "sqlite:///source.db",
        "--base-url", "HTTP://127.0.0.1:9", "--verify-db-url",
        f"sqlite:///{env / 'served.db'}", "--reason", "x",
    )  # fmt: skip
    assert code == 2, err
    assert "is production target 'prod'" in err
    assert not (env / "t").exists() or not list((env / "t").glob("test_*.py"))


def test_fixtures_verify_and_shrink_take_a_served_build(
    env: Path, amber: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    rid = _listing_store(env)
    served_db = env / "served.db"
    with served_listing(served_db, monkeypatch) as url:
        code, _, err = amber(
            "fixtures", rid, "-o", "fx.yaml", "--source-db", "sqlite:///source.db",
            "--verify", "--base-url", url, "--verify-db-url", f"sqlite:///{served_db}",
            "--reason", "x",
        )  # fmt: skip
        assert code == 0, err
        assert "reproduced" in err
        code, out, err = amber(
            "shrink", rid, "--fixture", "fx.yaml", "-o", "small.yaml",
            "--base-url", url, "--verify-db-url", f"sqlite:///{served_db}",
        )  # fmt: skip
    assert code == 0, err
    assert "reproduced with 2 rows" in out
    assert [r["id"] for r in Fixture.read(env / "small.yaml").rows["tags"]] == [17, 42]


def test_a_build_that_hangs_is_reported_as_hung(env: Path, amber: Run) -> None:
    """The served build accepts the request and never answers: each run is bounded by
    --verify-timeout and reported as hung (a hang may depend on the data, so widening still
    tries more rows, each run bounded the same way), and the test is written UNVERIFIED."""
    rid = _listing_store(env)
    (env / "served.db").touch()
    release = threading.Event()

    def hanging(environ: object, start_response: object) -> list[bytes]:
        release.wait(60)
        raise RuntimeError("released")

    server = make_server("127.0.0.1", 0, hanging, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        code, _, err = amber(
            "gen-test", rid, "--out", "t", "--source-db", "sqlite:///source.db",
            "--base-url", f"http://127.0.0.1:{server.server_port}",
            "--verify-db-url", f"sqlite:///{env / 'served.db'}", "--verify-timeout", "1",
            "--reason", "x",
        )  # fmt: skip
    finally:
        release.set()
        server.shutdown()
        server.server_close()
        thread.join()
    assert code == 1, err
    assert "timed out after 1 s" in err
    assert "UNVERIFIED" in next((env / "t").glob("test_*.py")).read_text()
