"""The in-process client: WSGI, ASGI (one loop, leftovers cancelled), factories."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator

import pytest

from amber.testing import AppClient
from amber.testing import load_app
from amber.testing._client import is_asgi


async def asgi_app(scope, receive, send):  # type: ignore[no-untyped-def]
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain")],
        }
    )
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
