"""Fresh credentials on replay: captured ones were sanitized away.

Configured under `replay.auth` (or a target's `auth`) in amber.yaml:

```yaml
replay:
  auth:
    headers:                       # static headers; ${VAR} comes from the environment
      Authorization: Bearer ${STAGING_TOKEN}
    login:                         # a request run first; its token is injected
      method: POST
      path: /api/login
      json: {username: "${LOGIN_USER}", password: "${LOGIN_PASSWORD}"}
      token: {json: $.access_token}   # or {header: X-Auth-Token} or {cookie: session}
      inject: {header: Authorization, format: "Bearer {token}"}   # or {cookie: session}
    hook: mypackage.replay_auth:sign   # def sign(request: httpx.Request) -> httpx.Request
```
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import os
import re
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from http.cookies import SimpleCookie
from typing import Any
from typing import Literal

import httpx
import orjson

from amber._identity import expand_env
from amber.errors import AuthError
from amber.errors import ConfigError
from amber.errors import TargetUnreachable
from amber.replay._reach import error_kind

# AuthError lives in amber.errors; it stays importable from here for older imports
__all__ = ["Auth", "AuthError", "Login"]

Hook = Callable[[httpx.Request], "httpx.Request | Awaitable[httpx.Request]"]
TokenSource = Literal["json", "header", "cookie"]
"""Where the login response carries the token: a JSON path, a header or a cookie."""
TokenTarget = Literal["header", "cookie"]
"""Where each replayed request carries the token."""


def _expand_tree(node: Any, key: str, env: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return expand_env(node, key, env)
    if isinstance(node, dict):
        return {k: _expand_tree(v, f"{key}.{k}", env) for k, v in node.items()}
    if isinstance(node, list):
        return [_expand_tree(v, f"{key}[{i}]", env) for i, v in enumerate(node)]
    return node


def _json_path(doc: Any, path: str) -> Any:
    node = doc
    for part in re.findall(r"[^.\[\]$]+", path):
        if isinstance(node, list) and part.isdigit():
            node = node[int(part)] if int(part) < len(node) else None
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            return None
    return node


@dataclass(frozen=True)
class Login:
    """The request replay sends first, where its response carries the token and where each
    replayed request gets it (`format` turns the token into the header's value)."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any = None
    form: dict[str, str] | None = None
    token_from: tuple[TokenSource, str] = ("json", "$.access_token")
    inject: tuple[TokenTarget, str] = ("header", "Authorization")
    format: str = "Bearer {token}"


@dataclass
class Auth:
    """Headers, a login flow and a signing hook, applied to every replayed request."""

    headers: dict[str, str] = field(default_factory=dict)
    login: Login | None = None
    hook: Hook | None = None
    token: str | None = None

    @classmethod
    def from_mapping(
        cls,
        data: Mapping[str, Any],
        key: str = "replay.auth",
        env: Mapping[str, str] = os.environ,
    ) -> Auth:
        unknown = set(data) - {"headers", "login", "hook"}
        if unknown:
            raise ConfigError(
                f"unknown key {sorted(unknown)[0]!r} (known: headers, login, hook)",
                key=f"{key}.{sorted(unknown)[0]}",
            )
        headers = data.get("headers") or {}
        if not isinstance(headers, Mapping):
            raise ConfigError("expected a mapping of header names to values", key=f"{key}.headers")
        auth = cls(
            headers={
                str(k): expand_env(str(v), f"{key}.headers.{k}", env) for k, v in headers.items()
            }
        )
        login = data.get("login")
        if login is not None:
            auth.login = _login(login, f"{key}.login", env)
        hook = data.get("hook")
        if hook is not None:
            auth.hook = load_hook(str(hook), f"{key}.hook")
        return auth

    @property
    def empty(self) -> bool:
        return not self.headers and self.login is None and self.hook is None

    async def start(
        self, send: Callable[[httpx.Request], Awaitable[httpx.Response]], base: httpx.URL
    ) -> None:
        """Run the login request (once, before replay starts)."""
        if self.login is None:
            return
        lg = self.login
        url = (
            base.join(lg.path.lstrip("/")) if not lg.path.startswith("http") else httpx.URL(lg.path)
        )
        content: bytes | None = None
        headers = dict(lg.headers)
        if lg.json is not None:
            content = orjson.dumps(lg.json)
            headers.setdefault("content-type", "application/json")
        elif lg.form is not None:
            content = httpx.QueryParams(lg.form).__str__().encode()
            headers.setdefault("content-type", "application/x-www-form-urlencoded")
        try:
            resp = await send(httpx.Request(lg.method, url, headers=headers, content=content))
            await resp.aread()
        except (httpx.HTTPError, OSError) as e:
            if error_kind(e) == "connect":  # the target is down: exit status 3, not 1
                raise TargetUnreachable(
                    f"login request {lg.method} {url} could not connect ({e}); check that "
                    "the target is running and reachable from here"
                ) from e
            raise AuthError(
                f"login request {lg.method} {url} failed: {e}; check that the "
                "target is up and replay.auth.login.path"
            ) from e
        if resp.status_code >= 400:
            raise AuthError(
                f"login request {lg.method} {url} answered {resp.status_code}; check "
                "the credentials in replay.auth.login"
            )
        kind, name = lg.token_from
        token: Any
        if kind == "json":
            try:
                token = _json_path(orjson.loads(resp.content), name)
            except orjson.JSONDecodeError:
                token = None
        elif kind == "header":
            token = resp.headers.get(name)
        else:
            token = None
            for raw in resp.headers.get_list("set-cookie"):
                jar: SimpleCookie = SimpleCookie()
                with contextlib.suppress(Exception):
                    jar.load(raw)
                if name in jar:
                    token = jar[name].value
        if not token:
            raise AuthError(
                f"login response has no token at {kind} {name!r}; fix replay.auth.login.token"
            )
        self.token = str(token)

    def header_items(self) -> list[tuple[str, str]]:
        """Headers to set on every request (static ones, then the login token)."""
        items = list(self.headers.items())
        if self.token is not None and self.login is not None:
            kind, name = self.login.inject
            if kind == "header":
                items.append((name, self.login.format.format(token=self.token)))
        return items

    def cookie_items(self) -> list[tuple[str, str]]:
        if self.token is not None and self.login is not None and self.login.inject[0] == "cookie":
            return [(self.login.inject[1], self.token)]
        return []

    async def apply(self, request: httpx.Request) -> httpx.Request:
        """Add the auth's headers and cookie to `request`, then run the hook (`sign`)."""
        for k, v in self.header_items():
            request.headers[k] = v
        for name, value in self.cookie_items():
            cookies = request.headers.get_list("cookie")
            request.headers["cookie"] = "; ".join([*cookies, f"{name}={value}"])
        return await self.sign(request)

    async def sign(self, request: httpx.Request) -> httpx.Request:
        """Only the hook (e.g. a signature over the final request), for a request that already
        carries the auth's headers and cookie; `request` itself without a hook."""
        if self.hook is None:
            return request
        out = self.hook(request)
        if inspect.isawaitable(out):
            out = await out
        if not isinstance(out, httpx.Request):
            raise AuthError(
                f"the replay auth hook returned {type(out).__name__}: make it "
                "return the httpx.Request it is given (or a new one)"
            )
        return out


def _login(data: Any, key: str, env: Mapping[str, str]) -> Login:
    if not isinstance(data, Mapping):
        raise ConfigError("expected a mapping (method, path, json|form, token, inject)", key=key)
    data = _expand_tree(dict(data), key, env)
    path = data.get("path") or data.get("url")
    if not isinstance(path, str):
        raise ConfigError("expected the login path, e.g. /api/login", key=f"{key}.path")
    token = data.get("token") or {"json": "$.access_token"}
    if (
        not isinstance(token, Mapping)
        or len(token) != 1
        or next(iter(token)) not in ("json", "header", "cookie")
    ):
        raise ConfigError(
            "expected one of {json: PATH}, {header: NAME}, {cookie: NAME}", key=f"{key}.token"
        )
    inject = data.get("inject") or {"header": "Authorization"}
    kind: TokenTarget | None = (
        "header" if "header" in inject else "cookie" if "cookie" in inject else None
    )
    if kind is None:
        raise ConfigError(
            "expected {header: NAME, format: ...} or {cookie: NAME}", key=f"{key}.inject"
        )
    tkind, tname = next(iter(token.items()))
    return Login(
        method=str(data.get("method", "POST")).upper(),
        path=path,
        headers={str(k): str(v) for k, v in (data.get("headers") or {}).items()},
        json=data.get("json"),
        form=data.get("form"),
        token_from=(tkind, str(tname)),
        inject=(kind, str(inject[kind])),
        format=str(inject.get("format", "Bearer {token}" if kind == "header" else "{token}")),
    )


def load_hook(spec: str, key: str) -> Hook:
    module, _, name = spec.partition(":")
    if not module or not name:
        raise ConfigError("expected 'module:function'", key=key)
    try:
        fn = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"cannot import {spec}: {e}", key=key) from e
    if not callable(fn):
        raise ConfigError(f"{spec} is not callable", key=key)
    return fn  # type: ignore[no-any-return]
