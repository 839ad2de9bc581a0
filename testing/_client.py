"""The in-process client generated tests send their requests through.

`AppClient` reaches a WSGI app, an ASGI app (on one event loop of its own) or a running
build by URL, fills in the test identity where a request holds its placeholders (after
the identity's login when the request needs it), and applies the configured auth;
`load_app("module:attr")` imports the app (calling it when it is a factory).
"""

from __future__ import annotations

import importlib
import inspect
import re
import weakref
from collections.abc import Callable
from collections.abc import Coroutine
from typing import TYPE_CHECKING
from typing import Any

from amber._identity import PLACEHOLDER_RE
from amber._identity import needs_sentence

if TYPE_CHECKING:
    import asyncio

    import httpx

    from amber._identity import IdentityLogin
    from amber._identity import TestIdentity

__all__ = ["AppClient", "IdentityMissing", "is_asgi", "load_app"]


class IdentityMissing(AssertionError):
    """A generated test needs a credential amber.yaml does not declare; the message is
    the `needs:` sentence of the test's docstring."""


_COOKIE_RE = re.compile(r"\{cookie:([^{}]+)\}")
"""`{cookie:NAME}` in a login's fields: the value of that cookie (a CSRF token)."""


def _form_escape(value: str) -> str:
    from urllib.parse import quote_plus

    return quote_plus(value)


def _json_escape(value: str) -> str:
    import json

    return json.dumps(value)[1:-1]


def _token_of(response: httpx.Response, where: tuple[str, str]) -> str:
    kind, name = where
    token: Any = None
    if kind == "json":
        node: Any = response.json()
        for part in [p for p in name.replace("$", "").replace("[", ".").split(".") if p]:
            part = part.rstrip("]")
            if isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            elif isinstance(node, dict):
                node = node.get(part)
            else:
                node = None
        token = node
    elif kind == "header":
        token = response.headers.get(name)
    else:
        token = response.cookies.get(name)
    if not token:
        raise AssertionError(
            f"the test identity's login response has no token at {kind} {name!r}: fix "
            "testing.identity.login.token in amber.yaml"
        )
    return str(token)


def load_app(spec: str) -> Any:
    """Import `module:attr`; call it when it is a factory (no required parameters)."""
    module, _, attr = spec.partition(":")
    obj: Any = importlib.import_module(module)
    for part in (attr or "app").split("."):
        obj = getattr(obj, part)
    if _is_factory(obj):
        obj = obj()
    return obj


def _is_factory(obj: Any) -> bool:
    if not callable(obj) or inspect.isclass(obj):
        return False
    if hasattr(obj, "wsgi_app") or is_asgi(obj):
        return False
    try:
        params = inspect.signature(obj).parameters.values()
    except (TypeError, ValueError):
        return False
    return not any(
        p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        for p in params
    )


def is_asgi(app: Any) -> bool:
    if inspect.isfunction(app) or inspect.ismethod(app):
        return inspect.iscoroutinefunction(app)
    return inspect.iscoroutinefunction(type(app).__call__) if callable(app) else False


def _apply_auth_sync(auth: Any, req: httpx.Request) -> httpx.Request:
    """`Auth.apply` without an event loop when the hook is a plain function."""
    import httpx

    if auth.hook is not None and inspect.iscoroutinefunction(auth.hook):
        import asyncio

        return asyncio.run(auth.apply(req))  # type: ignore[no-any-return]
    for k, v in auth.header_items():
        req.headers[k] = v
    for name, value in auth.cookie_items():
        req.headers["cookie"] = "; ".join([*req.headers.get_list("cookie"), f"{name}={value}"])
    if auth.hook is not None:
        out = auth.hook(req)
        if not isinstance(out, httpx.Request):
            raise TypeError("the auth hook must return an httpx.Request")
        req = out
    return req


def _close_loop(loop: asyncio.AbstractEventLoop) -> None:
    """What `asyncio.run` does at the end: cancel what is left, shut down, close."""
    import asyncio

    if loop.is_closed():
        return
    try:
        # not from inside another running loop (a garbage collection in an async test)
        if asyncio._get_running_loop() is None:
            _cancel_pending(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        loop.close()


def _cancel_pending(loop: asyncio.AbstractEventLoop) -> None:
    import asyncio

    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for t in tasks:
        t.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))


class AppClient:
    """`request(method, url, ...)` against an in-process app or a URL, returning httpx
    responses. ASGI apps run on one event loop of the client's own (created on the first
    request, closed by `close()` or when the client is garbage-collected); tasks an ASGI
    request leaves behind are cancelled when it returns, as under `asyncio.run`."""

    def __init__(self, app: Any = None, base_url: str | None = None, auth: Any = None) -> None:
        import httpx

        self._asgi = app is not None and is_asgi(app)
        self._app = app
        self._auth = auth
        self._loop: asyncio.AbstractEventLoop | None = None
        self._async_client: httpx.AsyncClient | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None
        if app is None:
            self._client: httpx.Client | None = httpx.Client(base_url=base_url or "", timeout=30.0)
        elif self._asgi:
            self._client = None
        else:
            self._client = httpx.Client(
                transport=httpx.WSGITransport(app=app), base_url="http://testserver"
            )

    identity: TestIdentity | None = None
    """The test identity (`testing.identity`) that fills a request's placeholders."""
    login_required: bool = False
    """The current test's request carried a session cookie: log in first."""
    _logged_in: bool = False
    _token: str | None = None

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send like `httpx.Client.request`: the test identity's values where the request
        holds placeholders (after its login when the request needs a session or its token),
        and the configured auth (deprecated `testgen.auth`). *Raises:* `IdentityMissing`
        (an `AssertionError`) when amber.yaml does not declare what the request needs."""
        __tracebackhide__ = True  # a failure points at the test, not at amber
        url, kwargs = self._fill(url, kwargs)
        return self._send(method, url, **kwargs)

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        if self._client is not None:
            req = self._client.build_request(method, url, **kwargs)
            if self._auth is not None:
                req = _apply_auth_sync(self._auth, req)
            return self._client.send(req)
        return self._run(self._send_async(method, url, **kwargs))

    async def _send_async(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        import httpx

        if self._async_client is None:
            self._async_client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=self._app), base_url="http://testserver"
            )
        req = self._async_client.build_request(method, url, **kwargs)
        if self._auth is not None:
            req = await self._auth.apply(req)
        response = await self._async_client.send(req)
        await response.aread()
        return response

    def _run(self, coro: Coroutine[Any, Any, httpx.Response]) -> httpx.Response:
        if self._loop is None:
            import asyncio

            self._loop = asyncio.new_event_loop()
            self._finalizer = weakref.finalize(self, _close_loop, self._loop)
        try:
            return self._loop.run_until_complete(coro)
        finally:
            _cancel_pending(self._loop)

    def _fill(self, url: str, kwargs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """`url`, headers and content with the identity's values for the placeholders."""
        __tracebackhide__ = True
        headers = list(kwargs.get("headers") or [])
        content = kwargs.get("content")
        text = content.decode("utf-8", "surrogateescape") if isinstance(content, bytes) else ""
        found = {
            m.group(1)
            for part in (url, text, *(v for _, v in headers))
            for m in PLACEHOLDER_RE.finditer(part)
        }
        if not found and not self.login_required:
            return url, kwargs
        identity = self.identity
        missing = [k for k in sorted(found) if identity is None or not identity.declared(k)]
        if missing and self._auth is not None and not self._auth.empty:
            # the configured headers or hook sign the request: headers it would overwrite
            # go, and so do the placeholders they stood for
            headers = [(k, v) for k, v in headers if not PLACEHOLDER_RE.search(v)]
            kwargs = {**kwargs, "headers": headers}
            found = {m.group(1) for part in (url, text) for m in PLACEHOLDER_RE.finditer(part)}
            missing = [k for k in sorted(found) if identity is None or not identity.declared(k)]
        no_login = self.login_required and (identity is None or identity.login is None)
        if no_login and self._auth is not None and not self._auth.empty:
            no_login = False
        if missing or no_login:
            raise IdentityMissing(needs_sentence(missing, no_login))
        if identity is None:
            return url, kwargs
        if identity.login is not None and (
            self.login_required or ("bearer" in found and not identity.declared_value("bearer"))
        ):
            self._login(identity)
        values = {k: self._value(identity, k) for k in found}
        ct = next((v.lower() for k, v in headers if k.lower() == "content-type"), "")

        def fill(part: str, escape: Callable[[str], str]) -> str:
            return PLACEHOLDER_RE.sub(lambda m: escape(values[m.group(1)]), part)

        out = dict(kwargs)
        out["headers"] = [(k, fill(v, str)) for k, v in headers]
        if text:
            escape: Callable[[str], str] = str
            if "x-www-form-urlencoded" in ct:
                escape = _form_escape
            elif "json" in ct:
                escape = _json_escape
            out["content"] = fill(text, escape).encode("utf-8", "surrogateescape")
        path, sep, query = url.partition("?")
        return path + sep + fill(query, _form_escape), out

    def _value(self, identity: TestIdentity, kind: str) -> str:
        if kind == "bearer" and not identity.declared_value("bearer") and self._token:
            return self._token
        value = identity.value(kind)
        if value is None:  # pragma: no cover - `declared` said it was there
            raise IdentityMissing(needs_sentence([kind]))
        return value

    def _login(self, identity: TestIdentity) -> None:
        """The identity's login request, once per test: its cookies stay in the client,
        its token (`login.token`) is the bearer."""
        __tracebackhide__ = True
        if self._logged_in:
            return
        login = identity.login
        assert login is not None

        cookies = self._login_cookies(login)

        def subst(value: Any) -> Any:
            if isinstance(value, str):
                value = _COOKIE_RE.sub(lambda m: cookies[m.group(1)], value)
                for kind in ("user", "password", "api_key"):
                    if "{" + kind + "}" in value:
                        got = identity.value(kind)
                        if got is None:
                            raise IdentityMissing(needs_sentence([kind], True))
                        value = value.replace("{" + kind + "}", got)
                return value
            if isinstance(value, dict):
                return {k: subst(v) for k, v in value.items()}
            if isinstance(value, list):
                return [subst(v) for v in value]
            return value

        kwargs: dict[str, Any] = {}
        if login.json is not None:
            kwargs["json"] = subst(login.json)
        elif login.form is not None:
            kwargs["data"] = subst(dict(login.form))
        response = self._send(login.method, login.path, **kwargs)
        if response.status_code >= 400:
            raise AssertionError(
                f"the test identity's login ({login.method} {login.path}) answered "
                f"{response.status_code}: check testing.identity (user, password, login) in "
                "amber.yaml, and that the test database holds that account with the test "
                "password's hash (docs/testing.md, Test identity)"
            )
        if login.token is not None:
            self._token = _token_of(response, login.token)
        self._logged_in = True

    def _login_cookies(self, login: IdentityLogin) -> dict[str, str]:
        """The cookies the login's fields name (`{cookie:csrftoken}`: a CSRF token that
        must come back in the form), from a GET of the login page sent first."""
        __tracebackhide__ = True
        wanted = sorted(set(_COOKIE_RE.findall(repr(login.json if login.json else login.form))))
        if not wanted:
            return {}
        page = self._send("GET", login.path)
        jar = self._client if self._client is not None else self._async_client
        found: dict[str, str] = {}
        for name in wanted:
            value = page.cookies.get(name) or (jar.cookies.get(name) if jar else None)
            if value is None:
                raise AssertionError(
                    f"the test identity's login needs the cookie {name!r} ({{cookie:{name}}} "
                    f"in testing.identity.login), and GET {login.path} answered "
                    f"{page.status_code} without setting it: check the cookie's name and the "
                    "login path in amber.yaml (docs/testing.md, Test identity)"
                )
            found[name] = value
        return found

    def reset(self) -> None:
        """Forget cookies the app set and the login: the next test starts without them."""
        self._logged_in = False
        self._token = None
        self.login_required = False
        for client in (self._client, self._async_client):
            if client is not None:
                client.cookies.clear()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        if self._loop is not None and not self._loop.is_closed():
            try:
                if self._async_client is not None:
                    self._loop.run_until_complete(self._async_client.aclose())
            finally:
                if self._finalizer is not None:
                    self._finalizer()
