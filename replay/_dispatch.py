"""How a replay run hands exchanges to its workers: session order, pacing, outcome hand-over.

`Dispatcher.run` starts `concurrency` workers that take exchanges from a `Feed` in order.
An exchange whose session has one in flight is queued behind it, and the worker sending
that session sends it next: a session's requests go one after another, in recorded order,
while the other workers keep the target busy. At most `MAX_QUEUED` exchanges wait like
that before workers stop taking new ones. No task, future or timer is created per request.

Pacing: with `speed` > 0 each exchange is sent on the recorded schedule scaled by `speed`
(the first exchange taken fixes its origin); `RateLimiter` spaces requests by `1 / rate`.
Both read time from an injected `clock` and wait with an injected `sleep`
(`time.monotonic` and `asyncio.sleep` by default), so tests can run them on a fake clock.

Outcomes go to the sink in the worker that produced them. A worker may hold its last
outcome back until its next request is written (`overlap`), so the sink's work overlaps
the target's; every outcome is still handed over exactly once, also when the run is
cancelled or fails.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable
from collections.abc import Callable
from typing import Any

from amber._model import Exchange
from amber._model import header_get
from amber.replay._feed import Feed

__all__ = [
    "MAX_QUEUED",
    "Clock",
    "Dispatcher",
    "RateLimiter",
    "Send",
    "Sink",
    "Sleep",
    "session_key_of",
]

MAX_QUEUED = 1024  # exchanges waiting behind their session's request in flight, at most

Clock = Callable[[], float]
"""Monotonic seconds (`time.monotonic`)."""

Sleep = Callable[[float], Awaitable[object]]
"""Waits that many seconds of `Clock` time (`asyncio.sleep`)."""

Sink = Callable[[Any], Awaitable[None] | None]
"""Takes one outcome; may return a coroutine, which is awaited."""

Send = Callable[[Exchange, str, float | None, Callable[[], None] | None], Awaitable[Any]]
"""`send(exchange, session_key, scheduled_at, in_flight)` -> the exchange's outcome.

With `overlap`, `in_flight` is the worker's hand-over, to call once the request is written;
otherwise it is None."""


def session_key_of(ex: Exchange, spec: str | None) -> str:
    """The session an exchange belongs to: `header:NAME`, `cookie:NAME`, else the client.

    (`none`, handled by the dispatcher, makes every exchange its own session: no ordering.)
    """
    if spec:
        kind, _, name = spec.partition(":")
        if kind == "header":
            value = header_get(ex.request.headers, name)
            if value:
                return f"h:{value}"
        elif kind == "cookie":
            for v in (header_get(ex.request.headers, "cookie") or "").split(";"):
                k, _, val = v.strip().partition("=")
                if k == name and val:
                    return f"c:{val}"
    return f"a:{ex.client_addr or '-'}"


class RateLimiter:
    """Spaces calls to `wait` by `1 / rate` seconds of `clock` (no limit when `rate` is
    None or 0)."""

    def __init__(
        self, rate: float | None, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self.next = 0.0
        self._clock = clock
        self._sleep = sleep

    def ready(self) -> bool:
        """True when `wait` would return at once."""
        return self.next <= self._clock()

    async def wait(self) -> None:
        if not self.interval:
            return
        now = self._clock()
        if self.next <= now:
            self.next = now + self.interval
            return
        delay = self.next - now
        self.next += self.interval
        await self._sleep(delay)


class _HandOver:
    """One worker's outcomes on their way to the sink.

    `held` is the outcome not yet handed over; coroutines the sink returned are kept in
    `pending` until the worker awaits them (`flush`)."""

    __slots__ = ("held", "pending", "sink")

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.held: list[Any] = []
        self.pending: list[Awaitable[None]] = []

    def release(self) -> None:
        """Hand what is held to the sink (coroutines it returns are awaited in `flush`)."""
        held = self.held
        while held:
            result = self.sink(held.pop())
            if result is not None and asyncio.iscoroutine(result):
                self.pending.append(result)

    async def flush(self) -> None:
        pending = self.pending
        while pending:
            await pending.pop(0)

    async def settle(self) -> None:
        """Hand over what is held now: before a wait, nothing would overlap it."""
        self.release()
        await self.flush()


class Dispatcher:
    """One replay run's workers: which exchange each sends, when, and where outcomes go.

    `send` makes an exchange's outcome; `sink` receives it; `accept(exchange)`, when given,
    is asked before each exchange is sent (False skips it, no outcome). `session_spec` is
    `Replayer.session_key` (`"none"`: no session ordering). See the module docstring.
    """

    def __init__(
        self,
        feed: Feed,
        send: Send,
        sink: Sink,
        *,
        overlap: bool,
        accept: Callable[[Exchange], bool] | None = None,
        session_spec: str | None = None,
        speed: float = 0.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._feed = feed
        self._send_one = send
        self._sink = sink
        self._overlap = overlap
        self._accept = accept
        self._spec = session_spec
        self._by_key = session_spec != "none"
        self._speed = speed
        self._clock = clock
        self._sleep = sleep
        # sessions with an exchange in flight -> exchanges queued behind it (None: no queue)
        self._busy: dict[str, deque[tuple[Exchange, float | None]] | None] = {}
        self._queued = 0
        self._room: list[asyncio.Future[None]] = []  # workers waiting for `_queued` to drop
        self._origin: tuple[float, float] | None = None  # (clock, recorded) schedule start

    async def run(self, concurrency: int) -> None:
        """Send every exchange of the feed with `concurrency` workers; cancelled workers and
        a failing one (its error is raised) still hand over what they hold."""
        workers = [asyncio.ensure_future(self._worker()) for _ in range(concurrency)]
        try:
            await asyncio.gather(*workers)
        finally:
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

    async def _worker(self) -> None:
        hand = _HandOver(self._sink)
        try:
            await self._work(hand)
        finally:  # at the end, on an error or when cancelled: nothing is lost
            await hand.settle()

    async def _work(self, hand: _HandOver) -> None:
        feed = self._feed
        accept = self._accept
        while True:
            ex = feed.next()
            if ex is None:
                await hand.settle()  # the store is behind, or done
                ex = await feed.wait()
                if ex is None:
                    return
            if accept is not None and not accept(ex):
                continue
            scheduled = self._scheduled(ex) if self._speed > 0 else None
            if not self._by_key:
                await self._send(ex, ex.id, scheduled, hand)
                continue
            key = session_key_of(ex, self._spec)
            if key in self._busy:  # its session is in flight: the sending worker takes it
                await self._queue(key, ex, scheduled, hand)
            else:
                await self._send_session(key, ex, scheduled, hand)

    def _scheduled(self, ex: Exchange) -> float:
        """When `ex` is due on the recorded schedule scaled by `speed` (`clock` time)."""
        origin = self._origin
        if origin is None:
            origin = self._origin = (self._clock(), ex.started_at)
        return origin[0] + (ex.started_at - origin[1]) / self._speed

    async def _queue(
        self, key: str, ex: Exchange, scheduled: float | None, hand: _HandOver
    ) -> None:
        """Queue `ex` behind its session's request in flight; wait while too many are."""
        q = self._busy[key]
        if q is None:
            q = self._busy[key] = deque()
        q.append((ex, scheduled))
        self._queued += 1
        while self._queued > MAX_QUEUED:
            await hand.settle()
            waiter = asyncio.get_running_loop().create_future()
            self._room.append(waiter)
            await waiter

    async def _send_session(
        self, key: str, ex: Exchange, scheduled: float | None, hand: _HandOver
    ) -> None:
        """Send `ex`, then what was queued behind it meanwhile, until its session is idle."""
        self._busy[key] = None
        fast = self._overlap
        try:
            while True:
                if fast and scheduled is None:  # `_send`, inline: the common case
                    outcome = await self._send_one(ex, key, None, hand.release)
                    hand.release()  # when the request was never written
                    hand.held.append(outcome)  # (before any await: see `_send`)
                    if hand.pending:
                        await hand.flush()
                else:
                    await self._send(ex, key, scheduled, hand)
                q = self._busy[key]
                if not q:
                    break
                ex, scheduled = q.popleft()
                self._queued -= 1
                room = self._room
                while room and self._queued <= MAX_QUEUED:
                    waiter = room.pop()
                    if not waiter.done():
                        waiter.set_result(None)
        finally:
            del self._busy[key]

    async def _send(self, ex: Exchange, key: str, scheduled: float | None, hand: _HandOver) -> None:
        if scheduled is not None:
            delay = scheduled - self._clock()
            if delay > 0:
                await hand.settle()
                await self._sleep(delay)
        if self._overlap:
            # The worker's previous outcome goes to the sink (comparison, the store, the
            # progress bar) once this request is written, while the target works on it:
            # the target gets its next request sooner.
            outcome = await self._send_one(ex, key, scheduled, hand.release)
            hand.release()  # when the request was never written
            hand.held.append(outcome)  # (before any await: a cancelled run hands it over)
        else:
            outcome = await self._send_one(ex, key, scheduled, None)
            hand.held.append(outcome)
            hand.release()
        if hand.pending:  # (a sink that returned coroutines; most return None)
            await hand.flush()
