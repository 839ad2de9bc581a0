"""The fork server's parent end (`amber.testing._forkserver`), driven directly: a prelude
that is served or declined, runs answered from forked children, a hung run killed with
the server. (Through `Reproducer`: tests/testing/test_worker.py.)"""

from __future__ import annotations

import base64
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

from amber.testing._forkserver import ForkServer
from amber.testing._forkserver import forking_supported
from amber.testing._worker import PROTOCOL
from tests.testing.reproduce_helpers import reproducer

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the fork server is Linux's"
)


def _request(env: dict[str, str], app: str) -> dict[str, Any]:
    with reproducer() as r:
        literal = r.request_literal()
    return {"v": PROTOCOL, "app": app, "env": env, "request": literal, "config": None,
            "login": False, "trace": None}  # fmt: skip


def _db(tmp_path: Path, n: int) -> Path:
    db = tmp_path / "run.db"
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE tags (id INTEGER PRIMARY KEY, slug TEXT, label TEXT)")
        c.executemany(
            "INSERT INTO tags VALUES (?, ?, ?)",
            [(i, f"tag-{i}", f"Tag {i}") for i in range(1, n + 1)],
        )
    return db


def test_a_served_prelude_answers_runs_from_forked_children(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[2]))
    monkeypatch.setenv("IMPORT_LOG", str(tmp_path / "log"))
    db = _db(tmp_path, 3)
    env = {"LISTING_DB": f"sqlite:///{db}", "IMPORT_LOG": str(tmp_path / "log")}
    app = "tests.testing.apps.import_log:create_app"
    server = ForkServer(sys.executable, env, app, str(db))
    try:
        assert server.start(60.0) and server.alive, server.refused
        answers = [server.run(_request(env, app), 60.0) for _ in range(3)]
    finally:
        server.close()
    assert not server.alive
    for a in answers:
        assert a is not None and a["kind"] == "response" and a["status"] == 200, a
        assert b"tag-3" in base64.b64decode(a["body"])
    log = (tmp_path / "log").read_text().split()
    assert log.count("import") == 1 and log.count("build") == 3


def test_an_app_that_does_not_import_is_declined(tmp_path: Path) -> None:
    """A fresh child reports a failed import as the run's build error: the server declines
    rather than report it itself."""
    server = ForkServer(sys.executable, {}, "no_such_module_here:app", None)
    assert not server.start(60.0)
    assert server.refused is not None and "importing the app failed" in server.refused
    assert not server.alive


def test_a_run_past_its_timeout_is_none_and_the_server_is_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[2]))
    monkeypatch.setenv("HANG_ONCE", str(tmp_path / "hung"))
    env = {"LISTING_DB": f"sqlite:///{_db(tmp_path, 1)}", "HANG_ONCE": str(tmp_path / "hung")}
    app = "tests.testing.test_worker:hang_once_app"
    server = ForkServer(sys.executable, env, app, None)
    assert server.start(60.0), server.refused
    try:
        assert server.run(_request(env, app), 1.0) is None
        assert not server.alive
    finally:
        server.close()


def test_it_can_be_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMBER_VERIFY_FORK", "0")
    assert not forking_supported()
    monkeypatch.delenv("AMBER_VERIFY_FORK")
    assert forking_supported() == sys.platform.startswith("linux")
    monkeypatch.setenv("AMBER_VERIFY_FORK", "1")
    assert forking_supported() == sys.platform.startswith("linux")
