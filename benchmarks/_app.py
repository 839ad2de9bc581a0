"""The benchmarks' apps (Starlette, served by uvicorn from bench_replay.py / bench_capture.py).

- `app`: one route answering a small JSON GET (as in baselines.md), the same bytes every time.
- `realistic`: `/orders/{i}` answers as real APIs do: a timestamp (body and `Date`), a nonce
  and a request id that change on every response, an order id minted with a salt drawn when
  the process starts (a new process mints other ids), a customer with a real-looking name and
  email (amber's capture pseudonymizes them), and one order in 50 whose status changes
  between processes (a real difference).
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def item(request: Request) -> JSONResponse:
    i = request.path_params["i"]
    return JSONResponse({"id": i, "name": f"widget {i}", "price": 9.5, "tags": ["a", "b"]})


app = Starlette(routes=[Route("/items/{i}", item)])

_FIRST = ("Earl", "Maria", "Ken", "Aisha", "Liam", "Sofia", "Noah", "Yuki", "Omar", "Lena")
_LAST = ("Reynolds", "Garcia", "Tanaka", "Okafor", "Novak", "Rossi", "Smith", "Haddad")
_SALT = secrets.token_hex(3)  # this process's ids: another process mints others
_STATUS = secrets.choice(("shipped", "delivered"))  # what the 1-in-50 orders say here


async def order(request: Request) -> JSONResponse:
    i = int(request.path_params["i"])
    first, last = _FIRST[i % len(_FIRST)], _LAST[i // len(_FIRST) % len(_LAST)]
    now = dt.datetime.now(dt.UTC)
    return JSONResponse(
        {
            "id": f"ord_{_SALT}{i:06d}",
            "status": _STATUS if i % 50 == 0 else "paid",
            "total": round(10 + i % 97 * 1.25, 2),
            "customer": {
                "id": f"cus_{i % 1000:06d}",
                "name": f"{first} {last}",
                "email": f"{first.lower()}.{last.lower()}@example.com",
            },
            "items": [{"sku": f"SKU-{i % 300:04d}", "qty": 1 + i % 3}],
            "served_at": now.isoformat(),
            "nonce": secrets.token_hex(8),
            "request_id": str(uuid.uuid4()),
        },
        headers={"x-request-id": uuid.uuid4().hex},
    )


realistic = Starlette(routes=[Route("/orders/{i}", order)])
