from __future__ import annotations

import asyncio

import httpx

from amber._model import Exchange
from amber._model import Request
from amber._model import new_id
from amber.replay._runner import Target
from amber.replay._shadow_run import ShadowRunner
from amber.replay._shadow_run import Triple


def test_order_baseline_candidate_baseline2_and_writes_skipped() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.url.host} {request.method} {request.url.path}")
        return httpx.Response(200, json={"host": request.url.host})

    transport = httpx.MockTransport(handler)
    runner = ShadowRunner(Target("http://base"), Target("http://cand"), Target("http://base2"),
                          transport=transport, concurrency=1)
    exs = [Exchange(new_id(), Request(m, "http", "x", 80, f"/{i}"))
           for i, m in enumerate(["GET", "POST", "DELETE", "GET"])]
    triples: list[Triple] = []
    asyncio.run(runner.run(exs, triples.append))
    assert seen == ["base GET /0", "cand GET /0", "base2 GET /0",
                    "base GET /3", "cand GET /3", "base2 GET /3"]
    assert runner.skipped_writes == 2
    assert [t.candidate.response.json()["host"] for t in triples] == ["cand", "cand"]  # type: ignore[union-attr]


def test_one_baseline_is_asked_twice() -> None:
    hosts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        return httpx.Response(204)

    runner = ShadowRunner(Target("http://base"), Target("http://cand"),
                          transport=httpx.MockTransport(handler), allow_writes=True)
    asyncio.run(runner.run([Exchange(new_id(), Request("POST", "http", "x", 80, "/"))],
                           lambda t: None))
    assert hosts == ["base", "cand", "base"] and runner.skipped_writes == 0
