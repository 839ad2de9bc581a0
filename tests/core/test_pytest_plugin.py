from __future__ import annotations

import sys
import types
from collections.abc import Iterator

import pytest

from amber._pytest_plugin import AppClient
from amber._pytest_plugin import _is_asgi
from amber._pytest_plugin import load_app


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
    assert _is_asgi(asgi_app) and not _is_asgi(wsgi_app)


def test_clients_for_wsgi_and_asgi() -> None:
    r = AppClient(wsgi_app).request("GET", "/w?x=1")
    assert r.status_code == 201 and r.text == "/w"
    r = AppClient(asgi_app).request("GET", "/a")
    assert r.status_code == 200 and r.text == "/a"
