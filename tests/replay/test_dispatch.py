from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from amber._model import Exchange
from amber._model import Request
from amber._model import new_id
from amber.replay import _dispatch
from amber.replay._dispatch import Dispatcher
from amber.replay._dispatch import RateLimiter
from amber.replay._dispatch import session_key_of
from amber.replay._feed import Feed


def test_session_keys() -> None:
    ex = Exchange(
        new_id(),
        Request(
            "GET", "http", "x", 80, "/", headers=(("X-User", "u1"), ("Cookie", "a=1; sid=abc"))
        ),
        client_addr="192.0.2.3",
    )
    assert session_key_of(ex, "header:x-user") == "h:u1"
    assert session_key_of(ex, "cookie:sid") == "c:abc"
    assert session_key_of(ex, "cookie:other") == "a:192.0.2.3"  # no such cookie: the client
    assert session_key_of(ex, None) == "a:192.0.2.3"


def test_the_rate_limiter_hands_out_slots_one_interval_apart() -> None:
    now = [10.0]
    waits: list[float] = []

    async def sleep(delay: float) -> None:
        waits.append(delay)  # the clock does not move: every caller reserves its own slot

    limiter = RateLimiter(4.0, lambda: now[0], sleep)

    async def main() -> None:
        for _ in range(4):
            await limiter.wait()

    asyncio.run(main())
    assert waits == [0.25, 0.5, 0.75] and not limiter.ready()
    now[0] = 11.0
    assert limiter.ready()
    asyncio.run(RateLimiter(None, lambda: now[0], sleep).wait())  # no rate: no wait
    assert len(waits) == 3


def test_workers_stop_taking_exchanges_while_too_many_are_queued(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One session of 12 exchanges: the others wait behind the one in flight, at most
    `MAX_QUEUED` of them, so a long session cannot make the feed's read-ahead unbounded."""
    monkeypatch.setattr(_dispatch, "MAX_QUEUED", 2)
    exs = [
        Exchange(new_id(), Request("GET", "http", "x", 80, f"/{i}"), client_addr="a")
        for i in range(12)
    ]
    taken: list[int] = []
    sent: list[int] = []
    ahead: list[int] = []  # exchanges taken but not yet sent, at each send

    def accept(ex: Exchange) -> bool:
        taken.append(int(ex.request.path[1:]))
        return True

    async def send(
        ex: Exchange, key: str, scheduled: float | None, in_flight: Callable[[], None] | None
    ) -> Any:
        sent.append(int(ex.request.path[1:]))
        ahead.append(len(taken) - len(sent))
        for _ in range(3):
            await asyncio.sleep(0)
        return ex

    outcomes: list[Exchange] = []

    async def main() -> None:
        feed = Feed(exs, asyncio.get_running_loop())
        await Dispatcher(feed, send, outcomes.append, overlap=False, accept=accept).run(3)

    asyncio.run(main())
    assert sent == list(range(12)) and outcomes == exs
    assert max(ahead) <= 2 + 2  # MAX_QUEUED, and one held by each other worker
