"""The replay engine: send stored requests to a target, paced, in session order.

Requests are built as `httpx.Request`s and sent through an httpx transport directly (not an
`AsyncClient`): by default `httpx_aiohttp.AiohttpTransport`, which is what lets one Python
process keep up with a local app (httpx's default async transport reaches about 0.13 of wrk
here, see docs/benchmarks.md). Any httpx transport works, e.g. `httpx.ASGITransport` for an
in-process app or `httpx.MockTransport` in tests.

Pacing: `concurrency` requests in flight at most; `rate` requests per second at most;
`speed` > 0 replays on the recorded schedule scaled by `speed` (1 = real time). Requests of
one session (see `session_key`) are sent one after another in recorded order, and carry
the session's learned state (`SessionState`).
"""

from __future__ import annotations

import asyncio
import functools
import queue
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import httpx

from amber._model import Exchange
from amber._model import Response
from amber._model import header_get
from amber.capture.sanitize import decode_body
from amber.replay._auth import Auth
from amber.replay._session import SessionState
from amber.replay._transport import FastTransport

__all__ = ["HOP_BY_HOP", "Outcome", "Replayer", "Target", "session_key_of"]

HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "trailers", "transfer-encoding", "upgrade", "proxy-connection", "content-length",
    "content-encoding",  # bodies are stored decoded: they are sent decoded
    "host",
})
DEFAULT_MAX_BODY = 16 * 1024 * 1024
MAX_SESSIONS = 100_000  # learned session states kept (least recently used dropped)


@dataclass(frozen=True)
class Target:
    """Where replayed requests go. `url` may carry a path prefix (`http://host:8000/v2`)."""

    url: str
    name: str | None = None
    label: str | None = None
    timeout: float = 30.0
    verify: bool = True
    keep_host: bool = False
    rate: float | None = None  # a default request rate for this target (production)

    @property
    def base(self) -> httpx.URL:
        return _url(self.url)

    @property
    def prefix(self) -> str:
        return self.base.path.rstrip("/")

    @property
    def display(self) -> str:
        u = self.base
        if u.password:
            u = u.copy_with(password="***")
        return str(u)


@dataclass
class Outcome:
    """One replayed exchange: what came back, when, and how long it took."""

    exchange: Exchange
    response: Response | None
    error: str | None
    sent_at: float
    latency_ms: float | None
    scheduled_at: float | None = None  # time.monotonic() the schedule asked for (--speed)
    body_capped: bool = False
    sent_mono: float = 0.0  # time.monotonic() when the request went out
    notes: list[str] = field(default_factory=list)


def session_key_of(ex: Exchange, spec: str | None) -> str:
    """The session an exchange belongs to: `header:NAME`, `cookie:NAME`, else the client.

    (`none`, handled by the replayer, makes every exchange its own session: no ordering.)
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


class _RateLimiter:
    def __init__(self, rate: float | None) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self.next = 0.0

    async def wait(self) -> None:
        if not self.interval:
            return
        now = time.monotonic()
        if self.next <= now:
            self.next = now + self.interval
            return
        delay = self.next - now
        self.next += self.interval
        await asyncio.sleep(delay)


class Replayer:
    """Sends exchanges to a `Target` and reports each `Outcome` to a callback."""

    def __init__(
        self,
        target: Target,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        concurrency: int = 8,
        rate: float | None = None,
        speed: float = 0.0,
        session_key: str | None = None,
        auth: Auth | None = None,
        drop_headers: Iterable[str] = (),
        carry_state: bool = True,
        max_body: int = DEFAULT_MAX_BODY,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if speed < 0:
            raise ValueError("speed must be 0 (as fast as possible) or more")
        self.target = target
        self.transport = transport or FastTransport(
            verify=target.verify, max_body=max_body, max_idle_per_origin=max(concurrency, 8))
        self._own_transport = transport is None
        self.concurrency = concurrency
        self.rate = _RateLimiter(rate)
        self.speed = speed
        self.session_key = session_key
        self.auth = auth or Auth()
        self.drop = HOP_BY_HOP | {h.lower() for h in drop_headers}
        self.carry_state = carry_state
        self.max_body = max_body
        self._states: OrderedDict[str, SessionState] = OrderedDict()
        self._fast = self.transport if isinstance(self.transport, FastTransport) else None

    # -- building requests ----------------------------------------------------------------

    def build(self, ex: Exchange, state: SessionState | None) -> httpx.Request:
        req = ex.request
        if state is not None:
            path, query, headers, body = state.rewrite(req)
        else:
            path, query, headers, body = req.path, req.query, req.headers, req.body
            headers = tuple((k, v) for k, v in headers if "[REDACTED:" not in v)
        target = (self.target.prefix + path) + (f"?{query}" if query else "")
        url = self.target.base.copy_with(raw_path=target.encode("utf-8", "surrogateescape"))
        out = [(k, v) for k, v in headers if k.lower() not in self.drop]
        if self.target.keep_host and req.host_header:
            out.append(("Host", req.host_header))
        return httpx.Request(
            req.method, url, headers=[(k.encode(), v.encode("utf-8", "surrogateescape"))
                                      for k, v in out],
            content=body or None,
            extensions={"timeout": {"connect": self.target.timeout, "read": self.target.timeout,
                                    "write": self.target.timeout, "pool": self.target.timeout}},
        )

    # -- sending --------------------------------------------------------------------------

    async def send(self, request: httpx.Request) -> httpx.Response:
        return await self.transport.handle_async_request(request)

    async def _read(self, resp: httpx.Response) -> tuple[bytes, bool]:
        chunks: list[bytes] = []
        size = 0
        capped = False
        try:
            async for chunk in resp.aiter_bytes():
                if size + len(chunk) > self.max_body:
                    chunks.append(chunk[: self.max_body - size])
                    capped = True
                    break
                chunks.append(chunk)
                size += len(chunk)
        finally:
            await resp.aclose()
        return b"".join(chunks), capped

    def _parts(self, ex: Exchange, state: SessionState | None) -> tuple[str, list[
            tuple[bytes, bytes]], bytes]:
        """Target, headers and body for the fast path (what `build` does, without httpx)."""
        req = ex.request
        if state is not None:
            path, query, headers, body = state.rewrite(req)
        else:
            path, query, body = req.path, req.query, req.body
            headers = tuple((k, v) for k, v in req.headers if "[REDACTED:" not in v)
        target = (self.target.prefix + path) + (f"?{query}" if query else "")
        auth_names = {k.lower() for k, _ in self.auth.header_items()}
        out = [(k.encode("latin-1", "replace"), v.encode("utf-8", "surrogateescape"))
               for k, v in headers if k.lower() not in self.drop and k.lower() not in auth_names]
        if self.target.keep_host and req.host_header:
            out.append((b"Host", req.host_header.encode("idna", "replace")))
        for k, v in self.auth.header_items():
            out.append((k.encode("latin-1"), v.encode("utf-8")))
        for name, value in self.auth.cookie_items():
            out.append((b"Cookie", f"{name}={value}".encode()))
        return target, out, body

    async def _replay_fast(self, ex: Exchange, state: SessionState | None,
                           scheduled_at: float | None) -> Outcome:
        assert self._fast is not None
        base = self.target.base
        await self.rate.wait()
        sent_at = time.time()
        mono = time.monotonic()
        start = time.perf_counter()
        try:
            target, headers, body = self._parts(ex, state)
            raw = await self._fast.send_raw(
                base.scheme, base.host, base.port or (443 if base.scheme == "https" else 80),
                ex.request.method, target.encode("utf-8", "surrogateescape"), headers, body,
                self.target.timeout,
            )
        except (httpx.HTTPError, OSError, ValueError) as e:
            return self._failure(ex, e, sent_at, start, scheduled_at)
        latency = (time.perf_counter() - start) * 1000
        resp_headers = tuple((k.decode("latin-1"), v.decode("utf-8", "replace"))
                             for k, v in raw.headers)
        encoding = None
        resp_body = raw.body
        capped = raw.truncated
        for k, v in resp_headers:
            if k.lower() == "content-encoding" and v.strip().lower() not in ("", "identity"):
                encoding = v.strip()
        if encoding is not None:
            decoded = decode_body(raw.body, encoding, max_decoded=self.max_body)
            resp_body = decoded.body
            capped = capped or decoded.truncated
        actual = Response(
            status=raw.status, reason=raw.reason, http_version=raw.http_version,
            headers=resp_headers, body=resp_body, content_encoding=encoding,
            timestamp_start=sent_at, timestamp_end=sent_at + latency / 1000,
            body_truncated=capped,
        )
        if state is not None:
            state.learn(ex.response, actual)
        return Outcome(ex, actual, None, sent_at, latency, scheduled_at, capped, sent_mono=mono)

    def _failure(self, ex: Exchange, e: BaseException, sent_at: float, start: float,
                 scheduled_at: float | None) -> Outcome:
        """The outcome of a request that got no response (reported; the run goes on)."""
        error = (f"timeout after {self.target.timeout:g}s"
                 if isinstance(e, httpx.TimeoutException) else _describe(e))
        return Outcome(ex, None, error, sent_at, (time.perf_counter() - start) * 1000,
                       scheduled_at)

    async def replay_one(self, ex: Exchange, state: SessionState | None,
                         scheduled_at: float | None = None) -> Outcome:
        if self._fast is not None and self.auth.hook is None:
            return await self._replay_fast(ex, state, scheduled_at)
        await self.rate.wait()
        sent_at = time.time()
        start = time.perf_counter()
        try:
            request = await self.auth.apply(self.build(ex, state))
            resp = await self.send(request)
            body, capped = await self._read(resp)
        except (httpx.HTTPError, OSError, ValueError) as e:
            return self._failure(ex, e, sent_at, start, scheduled_at)
        latency = (time.perf_counter() - start) * 1000
        actual = Response(
            status=resp.status_code,
            reason=resp.reason_phrase,
            http_version=resp.http_version,
            headers=tuple((k.decode("latin-1"), v.decode("utf-8", "replace"))
                          for k, v in resp.headers.raw),
            body=body,
            timestamp_start=sent_at,
            timestamp_end=sent_at + latency / 1000,
            body_truncated=capped,
        )
        if state is not None:
            state.learn(ex.response, actual)
        return Outcome(ex, actual, None, sent_at, latency, scheduled_at, capped)

    def state(self, key: str) -> SessionState | None:
        """The learned state of session `key` (kept for the most recent sessions)."""
        if not self.carry_state:
            return None
        st = self._states.get(key)
        if st is None:
            st = self._states[key] = SessionState()
            if len(self._states) > MAX_SESSIONS:
                self._states.popitem(last=False)
        else:
            self._states.move_to_end(key)
        return st

    async def run(
        self,
        exchanges: Iterable[Exchange],
        on_outcome: Callable[[Any], Awaitable[None] | None],
        perform: Callable[[Exchange, str, float | None], Awaitable[Any]] | None = None,
    ) -> None:
        """Replay `exchanges` (consumed lazily, in order) and call `on_outcome` for each.

        `perform(exchange, session_key, scheduled_at)` replaces the default single send
        (shadow runs send each exchange to three targets); its result goes to `on_outcome`.
        """
        await self.auth.start(self.send, self.target.base)
        # The store is read in a thread (`_prefetch`); with the default 5 ms GIL switch
        # interval that thread can hold up the event loop, and every connection idles.
        previous_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(previous_interval, 0.0005))
        act = perform or (lambda ex, key, sched: self.replay_one(ex, self.state(key), sched))
        slots = asyncio.Semaphore(self.concurrency)
        pending: set[asyncio.Task[None]] = set()
        tails: dict[str, asyncio.Future[None]] = {}
        t0_wall: float | None = None
        t0_rec: float | None = None

        async def one(ex: Exchange, key: str, prev: asyncio.Future[None] | None,
                      done: asyncio.Future[None], scheduled: float | None) -> None:
            try:
                if prev is not None:
                    await asyncio.shield(prev)
                result = on_outcome(await act(ex, key, scheduled))
                if asyncio.iscoroutine(result):
                    await result
            finally:
                if not done.done():
                    done.set_result(None)
                slots.release()
                if tails.get(key) is done:
                    del tails[key]  # the session is idle: nothing to wait for

        try:
            async for ex in _prefetch(exchanges):
                scheduled = None
                if self.speed > 0:
                    if t0_wall is None or t0_rec is None:
                        t0_wall, t0_rec = time.monotonic(), ex.started_at
                    scheduled = t0_wall + (ex.started_at - t0_rec) / self.speed
                    delay = scheduled - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                await slots.acquire()
                key = ex.id if self.session_key == "none" else session_key_of(
                    ex, self.session_key)
                prev = tails.get(key)
                done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                tails[key] = done
                task = asyncio.ensure_future(one(ex, key, prev, done, scheduled))
                pending.add(task)
                task.add_done_callback(pending.discard)
            if pending:
                await asyncio.gather(*pending)
        finally:
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
            sys.setswitchinterval(previous_interval)
            if self._own_transport:
                await self.transport.aclose()


async def _prefetch(source: Iterable[Exchange], chunk: int = 200,
                    depth: int = 4) -> AsyncIterator[Exchange]:
    """Iterate `source` in a thread, `depth` chunks ahead.

    Reading a page from the store takes milliseconds; done on the event loop it would delay
    every request scheduled meanwhile (and wreck `--speed` timing). Lists are used directly.
    """
    if isinstance(source, (list, tuple)):
        for ex in source:
            yield ex
        return
    q: queue.Queue[list[Exchange] | BaseException | None] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            buf: list[Exchange] = []
            for ex in source:
                buf.append(ex)
                if len(buf) >= chunk:
                    while not stop.is_set():
                        try:
                            q.put(buf, timeout=0.1)
                            break
                        except queue.Full:
                            continue
                    if stop.is_set():
                        return
                    buf = []
            q.put(buf)
            q.put(None)
        except BaseException as e:  # re-raised on the loop
            q.put(e)

    thread = threading.Thread(target=produce, name="amber-replay-source", daemon=True)
    thread.start()
    try:
        while True:
            try:
                item = q.get_nowait()
            except queue.Empty:
                item = await asyncio.to_thread(q.get)
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            for ex in item:
                yield ex
    finally:
        stop.set()


@functools.lru_cache(maxsize=64)
def _url(url: str) -> httpx.URL:
    return httpx.URL(url)


def _describe(e: BaseException) -> str:
    text = str(e).strip() or type(e).__name__
    if isinstance(e, httpx.ConnectError):
        return f"connection failed: {text}"
    return f"{type(e).__name__}: {text}"[:500]
