"""`{cookie:NAME}` in the test identity's login form: a CSRF token the login page sets in a
cookie and the form must send back (Django's admin login), fetched with a GET of the login
page before the POST, over WSGI and ASGI."""

from __future__ import annotations

import asyncio
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

import pytest

from amber._identity import TestIdentity
from amber.testing import AppClient

TOKEN = "tok-7f3a"  # the login page's CSRF cookie; the form must echo it


def _answer(method: str, path: str, cookie: str, body: bytes) -> tuple[str, list[Any], bytes]:
    """A login form protected like Django's: GET /login/ sets csrftoken, POST /login/ needs
    csrfmiddlewaretoken equal to it (and the password), then /account needs the session."""
    jar = {k: m.value for k, m in SimpleCookie(cookie).items()}
    if path == "/login/" and method == "GET":
        return "200 OK", [("Set-Cookie", f"csrftoken={TOKEN}; Path=/")], b"<form>"
    if path == "/login/":
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if form.get("csrfmiddlewaretoken") != jar.get("csrftoken") or not jar.get("csrftoken"):
            return "403 Forbidden", [], b"CSRF verification failed"
        if form.get("password") != "pw":
            return "200 OK", [], b"wrong password"
        return "302 Found", [("Set-Cookie", "sessionid=s1; Path=/"), ("Location", "/")], b""
    if jar.get("sessionid") == "s1":
        return "200 OK", [], b"account"
    return "302 Found", [("Location", "/login/")], b""


def wsgi_app(environ, start_response):  # type: ignore[no-untyped-def]
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    status, headers, out = _answer(
        environ["REQUEST_METHOD"], environ["PATH_INFO"], environ.get("HTTP_COOKIE", ""), body
    )
    start_response(status, headers)
    return [out]


async def asgi_app(scope, receive, send):  # type: ignore[no-untyped-def]
    body = b""
    while True:
        msg = await receive()
        body += msg.get("body", b"")
        if not msg.get("more_body"):
            break
    cookie = dict(scope["headers"]).get(b"cookie", b"").decode()
    status, headers, out = _answer(scope["method"], scope["path"], cookie, body)
    await asyncio.sleep(0)
    await send(
        {
            "type": "http.response.start",
            "status": int(status.split()[0]),
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
        }
    )
    await send({"type": "http.response.body", "body": out})


def _identity(csrf_field: str | None) -> TestIdentity:
    form = {"username": "{user}", "password": "{password}"}
    if csrf_field is not None:
        form["csrfmiddlewaretoken"] = csrf_field
    return TestIdentity.from_mapping(
        {"user": "alice", "password": "pw", "login": {"path": "/login/", "form": form}}
    )


def _get_account(app: Any, identity: TestIdentity) -> int:
    client = AppClient(app)
    client.identity = identity
    client.login_required = True
    try:
        return client.request("GET", "/account").status_code
    finally:
        client.close()


@pytest.mark.parametrize("app", [wsgi_app, asgi_app], ids=["wsgi", "asgi"])
def test_the_login_sends_back_the_cookie_its_page_set(app: Any) -> None:
    assert _get_account(app, _identity("{cookie:csrftoken}")) == 200


def test_without_the_cookie_field_the_csrf_check_refuses_the_login() -> None:
    with pytest.raises(AssertionError, match=r"login \(POST /login/\) answered 403"):
        _get_account(wsgi_app, _identity(None))


def test_a_cookie_the_login_page_does_not_set_is_named() -> None:
    with pytest.raises(AssertionError, match=r"needs the cookie 'xsrf'.*GET /login/ answered 200"):
        _get_account(wsgi_app, _identity("{cookie:xsrf}"))
