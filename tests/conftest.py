"""Shared fixtures: exchange builders, stores on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path

import pytest

from amber._model import Exchange
from amber._model import Request
from amber._model import Response
from amber._model import new_id
from amber._routes import template_path
from amber._store import Store

T0 = 946681200.0  # fixed capture time, as mitmproxy's test builders use


def make_exchange(
    i: int = 0,
    *,
    method: str = "GET",
    path: str | None = None,
    query: str = "",
    status: int | None = 200,
    body: bytes = b'{"ok": true}',
    req_body: bytes = b"",
    started: float | None = None,
    request_id: str | None = None,
    error: str | None = None,
    req_headers: tuple[tuple[str, str], ...] | None = None,
    resp_headers: tuple[tuple[str, str], ...] | None = None,
) -> Exchange:
    started = T0 + i if started is None else started
    path = path or f"/users/{i}/orders"
    rid = request_id if request_id is not None else f"req-{i}"
    req = Request(
        method=method,
        scheme="http",
        host="api.internal",
        port=8000,
        path=path,
        query=query,
        headers=req_headers
        if req_headers is not None
        else (
            ("Host", "api.example.com"),
            ("X-Request-ID", rid),
            ("Accept", "*/*"),
            ("Accept", "application/json"),
        ),
        body=req_body,
        host_header="api.example.com",
        timestamp_start=started,
        timestamp_end=started + 0.001,
    )
    resp = None
    if status is not None:
        resp = Response(
            status=status,
            reason="OK" if status < 400 else "Error",
            headers=resp_headers
            if resp_headers is not None
            else (
                ("Content-Type", "application/json"),
                ("Set-Cookie", "a=1"),
                ("Set-Cookie", "b=2"),
            ),
            body=body,
            timestamp_start=started + 0.010,
            timestamp_end=started + 0.012,
        )
    return Exchange(
        id=new_id(started),
        request=req,
        response=resp,
        error=error,
        client_addr="192.0.2.1",
        request_id=rid or None,
        route=template_path(path),
    )


@pytest.fixture
def exchange_factory() -> Callable[..., Exchange]:
    return make_exchange


def _pg_admin_url() -> str | None:
    url = os.environ.get("AMBER_TEST_PG_URL")
    if not url and os.environ.get("AMBER_REQUIRE_PG"):
        pytest.fail("AMBER_REQUIRE_PG is set but AMBER_TEST_PG_URL is not: run .ci/pg-up")
    return url


@contextlib.contextmanager
def fresh_pg_database(prefix: str = "amber_test") -> Iterator[str]:
    """A new database named `prefix_<random>` on the server of $AMBER_TEST_PG_URL, dropped
    afterwards (skips the test without a server)."""
    admin = _pg_admin_url()
    if not admin:
        pytest.skip('no PostgreSQL: set AMBER_TEST_PG_URL (eval "$(.ci/pg-up)")')
    import sqlalchemy as sa

    from amber._store import normalize_url

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(normalize_url(admin), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    base = admin.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh database on the real PostgreSQL server of $AMBER_TEST_PG_URL."""
    from amber._store import normalize_url

    with fresh_pg_database() as url:
        yield normalize_url(url)


def _reset_pg(url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A store URL on SQLite and, as a second parameter, on a real PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    url: str = request.getfixturevalue("pg_database")
    _reset_pg(url)
    yield url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = Store.open(store_url)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture(autouse=True)
def _not_an_xdist_worker_inside(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under `pytest -n`, the sessions a test starts itself (pytester, subprocesses) would
    inherit this worker's PYTEST_XDIST_* variables and believe they are xdist workers (amber's
    plugin then refuses a fixed database path). A test that means it sets them itself.
    (The worker's id stays in REALAPPS_PORT_SLOT: realapps/ picks its ports by it.)"""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        monkeypatch.setenv("REALAPPS_PORT_SLOT", worker)
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    monkeypatch.delenv("PYTEST_XDIST_WORKER_COUNT", raising=False)
