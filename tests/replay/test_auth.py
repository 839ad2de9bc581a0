from __future__ import annotations

import asyncio

import httpx
import pytest

from amber.errors import AuthError
from amber.errors import ConfigError
from amber.replay._auth import Auth


def sign(request: httpx.Request) -> httpx.Request:
    request.headers["x-signature"] = "signed:" + request.method
    return request


def test_static_headers_expand_env() -> None:
    auth = Auth.from_mapping({"headers": {"Authorization": "Bearer ${TOK}"}}, env={"TOK": "t1"})
    assert auth.header_items() == [("Authorization", "Bearer t1")]


def test_config_errors_name_the_key() -> None:
    with pytest.raises(ConfigError) as e:
        Auth.from_mapping({"headers": {"A": "${MISSING_VAR}"}}, env={})
    assert e.value.key == "replay.auth.headers.A" and "MISSING_VAR" in str(e.value)
    with pytest.raises(ConfigError, match="unknown key"):
        Auth.from_mapping({"hedaers": {}})
    with pytest.raises(ConfigError, match="module:function"):
        Auth.from_mapping({"hook": "nocolon"})
    with pytest.raises(ConfigError, match="cannot import"):
        Auth.from_mapping({"hook": "no_such_module_xyz:f"})
    with pytest.raises(ConfigError) as e:
        Auth.from_mapping({"login": {"path": "/l", "token": {"xml": "x"}}})
    assert e.value.key == "replay.auth.login.token"


def test_hook_signs_requests() -> None:
    auth = Auth.from_mapping({"hook": f"{__name__}:sign"})
    req = asyncio.run(auth.apply(httpx.Request("GET", "http://x/")))
    assert req.headers["x-signature"] == "signed:GET"


def test_login_token_from_header_cookie_and_failures() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/bad":
            return httpx.Response(403)
        return httpx.Response(
            200,
            headers={"x-token": "htok", "set-cookie": "sid=ctok"},
            json={"data": {"token": "jtok"}},
        )

    transport = httpx.MockTransport(handler)

    async def login(spec: dict[str, object]) -> Auth:
        auth = Auth.from_mapping({"login": spec})
        await auth.start(transport.handle_async_request, httpx.URL("http://app/"))
        return auth

    a = asyncio.run(login({"path": "/login", "token": {"json": "$.data.token"}}))
    assert a.header_items() == [("Authorization", "Bearer jtok")]
    a = asyncio.run(
        login(
            {
                "path": "/login",
                "token": {"header": "x-token"},
                "inject": {"header": "X-Auth", "format": "{token}"},
            }
        )
    )
    assert a.header_items() == [("X-Auth", "htok")]
    a = asyncio.run(
        login({"path": "/login", "token": {"cookie": "sid"}, "inject": {"cookie": "session"}})
    )
    assert a.cookie_items() == [("session", "ctok")]
    with pytest.raises(AuthError, match="403"):
        asyncio.run(login({"path": "/bad"}))
    with pytest.raises(AuthError, match="no token"):
        asyncio.run(login({"path": "/login", "token": {"json": "$.nope"}}))
