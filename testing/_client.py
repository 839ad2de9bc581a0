"""The in-process client generated tests send their requests through.

`AppClient` reaches a WSGI app, an ASGI app (on one event loop of its own) or a running
build by URL, and applies the configured auth to every request; `load_app("module:attr")`
imports the app (calling it when it is a factory).
"""

from __future__ import annotations

import importlib
import inspect
import weakref
from collections.abc import Coroutine
from typing import TYPE_CHECKING
from typing import Any

if TYPE_CHECKING:
    import asyncio

    import httpx

__all__ = ["AppClient", "is_asgi", "load_app"]


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

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send like `httpx.Client.request`; configured auth (testgen.auth) is applied."""
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

    def reset(self) -> None:
        """Forget cookies the app set: the next test starts without them."""
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
