"""A small stateful app: login mints a rotating token, orders get random ids, times change."""

from __future__ import annotations

import gzip
import itertools
import secrets
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.responses import Response
from starlette.routing import Route

from tests.servers import serve


class AppState:
    def __init__(self) -> None:
        self.tokens: set[str] = set()
        self.orders: dict[str, dict[str, Any]] = {}
        self.seen: list[dict[str, Any]] = []
        self.counter = itertools.count(1000)


def make_app(state: AppState, *, broken_field: bool = False, iso_time: bool = False) -> Starlette:
    async def record(request: Request) -> bytes:
        body = await request.body()
        state.seen.append(
            {
                "method": request.method,
                "path": request.url.path,
                "query": request.url.query,
                "headers": list(request.headers.items()),
                "body": body,
            }
        )
        return body

    def authed(request: Request) -> bool:
        auth = request.headers.get("authorization", "")
        return auth.startswith("Bearer ") and auth[7:] in state.tokens

    async def login(request: Request) -> Response:
        await record(request)
        token = secrets.token_urlsafe(24)
        state.tokens.add(token)
        return JSONResponse(
            {"access_token": token, "expires_in": 3600}, headers={"x-request-id": str(uuid.uuid4())}
        )

    async def create_order(request: Request) -> Response:
        await record(request)
        if not authed(request):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        oid = f"ord_{next(state.counter)}{secrets.token_hex(4)}"
        state.orders[oid] = {"id": oid, "sku": "SKU-1", "qty": 2}
        return JSONResponse(
            {"id": oid, "created_at": time.time()},
            status_code=201,
            headers={"location": f"/orders/{oid}"},
        )

    async def get_order(request: Request) -> Response:
        await record(request)
        if not authed(request):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        order = state.orders.get(request.path_params["oid"])
        if order is None:
            return JSONResponse({"error": "not found"}, status_code=404)
        now = time.time()
        fetched: object = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) if iso_time else now
        body = dict(order, fetched_at=fetched, trace=str(uuid.uuid4()))
        if broken_field:
            body["qty"] = 3
        return JSONResponse(body)

    async def echo(request: Request) -> Response:
        body = await record(request)
        return JSONResponse(
            {
                "method": request.method,
                "len": len(body),
                "ctype": request.headers.get("content-type"),
            }
        )

    async def gz(request: Request) -> Response:
        await record(request)
        data = gzip.compress(b'{"compressed": true}')
        return Response(
            data, headers={"content-encoding": "gzip", "content-type": "application/json"}
        )

    async def big(request: Request) -> Response:
        return Response(b"x" * (3 * 1024 * 1024), media_type="application/octet-stream")

    async def slow(request: Request) -> Response:
        import asyncio

        await asyncio.sleep(2)
        return JSONResponse({"slow": True})

    async def redirect_loop(request: Request) -> Response:
        return Response(status_code=302, headers={"location": "/loop"})

    return Starlette(
        routes=[
            Route("/login", login, methods=["POST"]),
            Route("/orders", create_order, methods=["POST"]),
            Route("/orders/{oid}", get_order),
            Route("/echo", echo, methods=["GET", "POST", "PUT", "DELETE", "HEAD"]),
            Route("/gz", gz),
            Route("/big", big),
            Route("/slow", slow),
            Route("/loop", redirect_loop),
        ]
    )


@pytest.fixture
def app_state() -> AppState:
    return AppState()


@pytest.fixture
def app_url(app_state: AppState) -> Iterator[str]:
    with serve(make_app(app_state)) as url:
        yield url
