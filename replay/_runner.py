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
import sys
import threading
import time
from collections import OrderedDict
from collections import deque
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import httpx

from amber._decode import decode_body
from amber._model import HOP_BY_HOP
from amber._model import Exchange
from amber._model import Response
from amber._model import content_encoding
from amber._model import header_get
from amber._store import ExchangeStream
from amber.replay._auth import Auth
from amber.replay._session import SessionState
from amber.replay._transport import FastTransport
from amber.replay._transport import _Pool
from amber.replay._transport import encode_request
from amber.replay._transport import frame_request

__all__ = ["Outcome", "Replayer", "Target", "session_key_of"]

DEFAULT_MAX_BODY = 16 * 1024 * 1024
MAX_SESSIONS = 100_000  # learned session states kept (least recently used dropped)
MAX_QUEUED = 1024  # exchanges waiting behind their session's request in flight, at most


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


@dataclass(slots=True)
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
        self._pool: _Pool | None = None
        self._prefix = target.prefix
        self._auth_cache: tuple[Any, tuple[frozenset[str], bool]] | None = None

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
        target = (self._prefix + path) + (f"?{query}" if query else "")
        drop, _ = self._auth_block()  # hop-by-hop, configured and auth-set header names
        out = [(k.encode("latin-1", "replace"), v.encode("utf-8", "surrogateescape"))
               for k, v in headers if k.lower() not in drop]
        if self.target.keep_host and req.host_header:
            out.append((b"Host", req.host_header.encode("idna", "replace")))
        for k, v in self.auth.header_items():
            out.append((k.encode("latin-1"), v.encode("utf-8")))
        for name, value in self.auth.cookie_items():
            out.append((b"Cookie", f"{name}={value}".encode()))
        return target, out, body

    def _auth_block(self) -> tuple[frozenset[str], bool]:
        """(header names not taken from the recording, whether auth sets any header).

        Recomputed only when the auth headers or token change."""
        auth = self.auth
        if not auth.headers and auth.token is None:
            return self.drop, False
        key = (auth.token, tuple(auth.headers.items()))
        cached = self._auth_cache
        if cached is not None and cached[0] == key:
            return cached[1]
        names = frozenset(k.lower() for k, _ in auth.header_items())
        block = (self.drop | names, bool(names or auth.cookie_items()))
        self._auth_cache = (key, block)
        return block

    def _payload(self, ex: Exchange, state: SessionState | None) -> bytes:
        """The request of `ex` as HTTP/1.1 bytes for `FastTransport.request`: what `build`
        does, without httpx. The common case (no auth headers, no kept Host, header names
        that are tokens) is one string joined and encoded once."""
        req = ex.request
        drop, has_auth = self._auth_block()
        if has_auth or (self.target.keep_host and req.host_header):
            return self._payload_parts(ex, state)
        if state is not None:
            path, query, headers, body = state.rewrite(req)
            redacted = False
        else:
            path, query, headers, body = req.path, req.query, req.headers, req.body
            redacted = True
        method = req.method
        parts = [method, " ", self._prefix, path, "?" if query else "", query, " HTTP/1.1\r\n"]
        for k, v in headers:
            if k.lower() in drop or redacted and "[REDACTED:" in v:
                continue
            if not k.isascii():  # not a token: encoded as `_parts` does
                return self._payload_parts(ex, state)
            parts += (k, ": ", v, "\r\n")
        return frame_request(self._pool_of(), method,
                             "".join(parts).encode("utf-8", "surrogateescape"), body)

    def _payload_parts(self, ex: Exchange, state: SessionState | None) -> bytes:
        target, headers, body = self._parts(ex, state)
        return encode_request(self._pool_of(), ex.request.method,
                              target.encode("utf-8", "surrogateescape"), headers, body)

    def _pool_of(self) -> _Pool:
        pool = self._pool
        if pool is None:
            assert self._fast is not None
            base = self.target.base
            pool = self._pool = self._fast.pool(
                base.scheme, base.host, base.port or (443 if base.scheme == "https" else 80))
        return pool

    async def _replay_fast(self, ex: Exchange, state: SessionState | None,
                           scheduled_at: float | None,
                           in_flight: Callable[[], None] | None = None) -> Outcome:
        assert self._fast is not None
        if self.rate.interval:
            if in_flight is not None and self.rate.next > time.monotonic():
                in_flight()  # nothing to overlap with: no waiting for the rate's slot
                in_flight = None
            await self.rate.wait()
        sent_at = time.time()
        mono = time.monotonic()
        start = time.perf_counter()
        try:
            raw = await self._fast.request(self._pool_of(), self._payload(ex, state),
                                           ex.request.method == "HEAD", self.target.timeout,
                                           in_flight)
        except (httpx.HTTPError, OSError, ValueError) as e:
            return self._failure(ex, e, sent_at, start, scheduled_at)
        latency = (time.perf_counter() - start) * 1000
        resp_headers = tuple([(k.decode("latin-1"), v.decode("utf-8", "replace"))
                              for k, v in raw.headers])
        encoding = content_encoding(resp_headers)
        resp_body = raw.body
        capped = raw.truncated
        if encoding is not None:
            decoded = decode_body(raw.body, encoding, max_decoded=self.max_body)
            resp_body = decoded.body
            capped = capped or decoded.truncated
        actual = Response(
            raw.status, raw.reason, raw.http_version, resp_headers, resp_body, encoding,
            sent_at, sent_at + latency / 1000, capped,
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
        accept: Callable[[Exchange], bool] | None = None,
    ) -> None:
        """Replay `exchanges` (consumed lazily, in order) and call `on_outcome` for each.

        `perform(exchange, session_key, scheduled_at)` replaces the default single send
        (shadow runs send each exchange to three targets); its result goes to `on_outcome`.
        `accept(exchange)`, when given, is asked on the event loop before each exchange is
        sent: False skips it (no outcome). Filter there rather than by wrapping a store's
        stream in a generator, which would decode every row in the reader thread (`_Feed`).

        `concurrency` workers take exchanges in order. An exchange whose session has one in
        flight is queued behind it, and the worker sending that session sends it next (so a
        session's requests go one after another, in recorded order, while the other workers
        keep the target busy); at most `MAX_QUEUED` exchanges wait like that before workers
        stop taking new ones. No task, future or timer is created per request.

        With the default send, a worker calls `on_outcome` for its previous exchange right
        after writing its next request (or before it waits for anything), so the sink's work
        overlaps the target's; every outcome is still handed over exactly once, also when
        the run is cancelled or fails. Latencies are unaffected unless the sink takes
        longer than the target to answer.
        """
        await self.auth.start(self.send, self.target.base)
        # The store is read in a thread (`_Feed`); with the default 5 ms GIL switch interval
        # that thread can hold up the event loop, and every connection idles.
        previous_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(previous_interval, 0.0005))
        default = perform is None and self._fast is not None and self.auth.hook is None
        act = perform or (lambda ex, key, sched: self.replay_one(ex, self.state(key), sched))
        loop = asyncio.get_running_loop()
        feed = _Feed(exchanges, loop)
        by_key = self.session_key != "none"
        spec = self.session_key
        speed = self.speed
        carry = self.carry_state
        # sessions with an exchange in flight -> exchanges queued behind it (None: no queue)
        busy: dict[str, deque[tuple[Exchange, float | None]] | None] = {}
        queued = 0
        room: list[asyncio.Future[None]] = []  # workers waiting for `queued` to go down
        clock: list[float] = []  # (wall, recorded) start of the --speed schedule

        def release(held: list[Any], pending: list[Any]) -> None:
            """Hand the outcomes `held` back to `on_outcome`; coroutines it returns are
            kept in `pending` to be awaited."""
            while held:
                result = on_outcome(held.pop())
                if result is not None and asyncio.iscoroutine(result):
                    pending.append(result)

        async def settle(held: list[Any], pending: list[Any]) -> None:
            """Hand over what is held now: before a wait, nothing would overlap it."""
            release(held, pending)
            while pending:
                await pending.pop(0)

        async def send(ex: Exchange, key: str, scheduled: float | None, held: list[Any],
                       pending: list[Any], hand_over: Callable[[], None]) -> None:
            if scheduled is not None:
                delay = scheduled - time.monotonic()
                if delay > 0:
                    await settle(held, pending)
                    await asyncio.sleep(delay)
            if default:
                # The worker's previous outcome goes to `on_outcome` (comparison, the store,
                # the progress bar) once this request is written, while the target works on
                # it: the target gets its next request sooner.
                outcome = await self._replay_fast(ex, self.state(key) if carry else None,
                                                  scheduled, hand_over)
                release(held, pending)  # when the request was never written
            else:
                outcome = await act(ex, key, scheduled)
            held.append(outcome)  # (before any await: a cancelled run still hands it over)
            if not default:
                release(held, pending)
            while pending:
                await pending.pop(0)

        async def worker() -> None:
            held: list[Any] = []  # this worker's last outcome, not yet handed over
            pending: list[Any] = []  # coroutines `on_outcome` returned, to await
            try:
                await work(held, pending, functools.partial(release, held, pending))
            finally:  # at the end, on an error or when cancelled: nothing is lost
                await settle(held, pending)

        async def work(held: list[Any], pending: list[Any],
                       hand_over: Callable[[], None]) -> None:
            nonlocal queued
            while True:
                ex = feed.next()
                if ex is None:
                    await settle(held, pending)  # the store is behind, or done
                    ex = await feed.wait()
                    if ex is None:
                        return
                if accept is not None and not accept(ex):
                    continue
                scheduled = None
                if speed > 0:
                    if not clock:
                        clock[:] = (time.monotonic(), ex.started_at)
                    scheduled = clock[0] + (ex.started_at - clock[1]) / speed
                if not by_key:
                    await send(ex, ex.id, scheduled, held, pending, hand_over)
                    continue
                key = session_key_of(ex, spec)
                if key in busy:  # its session is in flight: the sending worker takes it
                    q = busy[key]
                    if q is None:
                        q = busy[key] = deque()
                    q.append((ex, scheduled))
                    queued += 1
                    while queued > MAX_QUEUED:
                        await settle(held, pending)
                        waiter = loop.create_future()
                        room.append(waiter)
                        await waiter
                    continue
                busy[key] = None
                try:
                    while True:
                        await send(ex, key, scheduled, held, pending, hand_over)
                        q = busy[key]
                        if not q:
                            break
                        ex, scheduled = q.popleft()
                        queued -= 1
                        while room and queued <= MAX_QUEUED:
                            waiter = room.pop()
                            if not waiter.done():
                                waiter.set_result(None)
                finally:
                    del busy[key]

        workers = [asyncio.ensure_future(worker()) for _ in range(self.concurrency)]
        try:
            await asyncio.gather(*workers)
        finally:
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            feed.close()
            sys.setswitchinterval(previous_interval)
            if self._own_transport:
                await self.transport.aclose()


class _Feed:
    """Exchanges from `source`, read ahead in a thread in chunks (lists are used directly).

    Reading a page from the store takes milliseconds; done on the event loop it would delay
    every request scheduled meanwhile (and wreck `--speed` timing). The thread hands over
    whole chunks with `call_soon_threadsafe` (one loop wake-up per chunk) and stays at most
    `depth` chunks ahead, so memory stays bounded.

    From an `ExchangeStream` (the store) the thread only reads rows, and each row is decoded
    here, on the loop, when a worker takes it: decoding in the thread held the GIL whenever
    the loop had a response to handle, and cost 0.87 of wrk's rate against 0.99 (fast app,
    same run). Decoding one row takes a few microseconds, too little to hurt timing.
    """

    def __init__(self, source: Iterable[Exchange], loop: asyncio.AbstractEventLoop,
                 chunk: int = 256, depth: int = 4, chunk_bytes: int = 8 << 20) -> None:
        self._loop = loop
        self._buf: list[Any] = []
        self._pos = 0
        self._chunks: deque[list[Any]] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._ahead = threading.Semaphore(depth)
        self._stop = threading.Event()
        self._decode: Callable[[Any], Exchange] | None = None
        if isinstance(source, (list, tuple)):
            self._buf = list(source)
            self._done = True
            return
        items: Iterable[Any] = source
        size: Callable[[Any], int] = _exchange_size
        if isinstance(source, ExchangeStream):
            items, self._decode, size = source.rows(), source.decode, source.row_size
        self._done = False
        self._thread = threading.Thread(target=self._produce,
                                        args=(items, chunk, chunk_bytes, size),
                                        name="amber-replay-source", daemon=True)
        self._thread.start()

    def next(self) -> Exchange | None:
        """The next exchange when one is at hand, else None (then `wait`)."""
        pos = self._pos
        buf = self._buf
        if pos < len(buf):
            self._pos = pos + 1
            item = buf[pos]
        elif self._chunks:
            self._buf = buf = self._chunks.popleft()
            self._ahead.release()
            if not buf:
                self._pos = 0
                return None
            self._pos = 1
            item = buf[0]
        else:
            return None
        decode = self._decode
        if decode is None:
            return item  # type: ignore[no-any-return]
        buf[self._pos - 1] = None  # the row is not needed once decoded
        return decode(item)

    async def wait(self) -> Exchange | None:
        """The next exchange, or None at the end of the source."""
        while True:
            ex = self.next()
            if ex is not None:
                return ex
            if self._chunks:
                continue  # an empty chunk
            if self._error is not None:
                raise self._error
            if self._done:
                return None
            if self._waiter is None:
                self._waiter = self._loop.create_future()
            await asyncio.shield(self._waiter)

    def _deliver(self, chunk: list[Any] | None, error: BaseException | None) -> None:
        if chunk is not None:
            self._chunks.append(chunk)
        else:
            self._done = True
            self._error = error
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _hand_over(self, chunk: list[Any] | None,
                   error: BaseException | None = None) -> bool:
        if chunk is not None:
            while not self._ahead.acquire(timeout=0.1):
                if self._stop.is_set():
                    return False
        if self._stop.is_set():
            return False
        try:
            self._loop.call_soon_threadsafe(self._deliver, chunk, error)
        except RuntimeError:  # the loop is closed
            return False
        return True

    def _produce(self, source: Iterable[Any], chunk: int, chunk_bytes: int,
                 size: Callable[[Any], int]) -> None:
        # a chunk ends at `chunk` items or `chunk_bytes` of bodies: with at most `depth`
        # chunks ahead, memory stays bounded whatever the bodies weigh
        try:
            buf: list[Any] = []
            held = 0
            for item in source:
                buf.append(item)
                held += size(item)
                if len(buf) >= chunk or held >= chunk_bytes:
                    if not self._hand_over(buf):
                        return
                    buf = []
                    held = 0
            if buf and not self._hand_over(buf):
                return
            self._hand_over(None)
        except BaseException as e:  # re-raised on the loop
            self._hand_over(None, e)

    def close(self) -> None:
        self._stop.set()
        self._chunks.clear()


def _exchange_size(ex: Exchange) -> int:
    resp = ex.response
    return len(ex.request.body) + (len(resp.body) if resp is not None else 0)


@functools.lru_cache(maxsize=64)
def _url(url: str) -> httpx.URL:
    return httpx.URL(url)


def _describe(e: BaseException) -> str:
    text = str(e).strip() or type(e).__name__
    if isinstance(e, httpx.ConnectError):
        return f"connection failed: {text}"
    return f"{type(e).__name__}: {text}"[:500]
