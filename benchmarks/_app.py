"""The benchmarks' app: one Starlette route answering a small JSON GET (as in baselines.md)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def item(request: Request) -> JSONResponse:
    i = request.path_params["i"]
    return JSONResponse({"id": i, "name": f"widget {i}", "price": 9.5, "tags": ["a", "b"]})


app = Starlette(routes=[Route("/items/{i}", item)])
