"""The replay engine: send stored requests to a target, paced, in session order.

`Replayer` turns each stored exchange into a request for its `Target` (one builder,
`Replayer.parts`, for both ways of sending below), sends it through a transport and reports
an `Outcome` per exchange. The transport is a seam: any `httpx.AsyncBaseTransport` works.

- `FastTransport` (the default, `_transport.py`): the request goes as HTTP/1.1 bytes
  (`Replayer._payload`) straight to the target's connection pool, with no `httpx.Request`
  built. This is what lets one Python process keep up with a local app (httpx's default
  async transport reaches about 0.13 of wrk here, see docs/benchmarks.md).
- any other transport, e.g. `httpx.MockTransport(handler)` in tests or
  `httpx.ASGITransport(app)` for an in-process app: an `httpx.Request` (`Replayer.build`)
  goes to its `handle_async_request`. An auth hook (`Auth.hook`, it signs an
  `httpx.Request`) takes this way too, also with `FastTransport`.

Pacing and order are the `Dispatcher`'s (`_dispatch.py`): `concurrency` requests in flight
at most; `rate` requests per second at most; `speed` > 0 replays on the recorded schedule
scaled by `speed` (1 = real time). Requests of one session (see `session_key_of`) are sent
one after another in recorded order, and carry the session's learned state
(`SessionState`).
"""

from __future__ import annotations

import asyncio
import functools
import sys
import time
from collections import OrderedDict
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import NamedTuple

import httpx

from amber._decode import decode_body
from amber._model import HOP_BY_HOP
from amber._model import Exchange
from amber._model import Response
from amber._model import content_encoding
from amber._urls import hide_password
from amber.errors import TargetUnreachable
from amber.replay._auth import Auth
from amber.replay._dispatch import Clock
from amber.replay._dispatch import Dispatcher
from amber.replay._dispatch import RateLimiter
from amber.replay._dispatch import Send
from amber.replay._dispatch import Sink
from amber.replay._dispatch import Sleep
from amber.replay._feed import Feed
from amber.replay._reach import ErrorKind
from amber.replay._reach import UnreachableWatch
from amber.replay._reach import error_kind
from amber.replay._session import Parsed
from amber.replay._session import SessionState
from amber.replay._session import has_marker
from amber.replay._transport import FastTransport
from amber.replay._transport import HeaderTexts
from amber.replay._transport import Pool
from amber.replay._transport import RawResponse
from amber.replay._transport import encode_request

__all__ = [
    "DEFAULT_UNREACHABLE_AFTER",
    "NOT_SENT",
    "Outcome",
    "Replayer",
    "RequestParts",
    "Target",
]

DEFAULT_MAX_BODY = 16 * 1024 * 1024
MAX_SESSIONS = 100_000  # learned session states kept (least recently used dropped)
DEFAULT_UNREACHABLE_AFTER = 20
"""Connection failures in a row after which a run stops (`UnreachableWatch`)."""
NOT_SENT = "not sent: the run stopped"
"""The `error` of an exchange a stopped run did not send (`Replayer.stop`); sinks drop it."""


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
        return hide_password(str(self.base))


@dataclass(slots=True)
class Outcome:
    """One replayed exchange: what came back, when, and how long it took.

    `scheduled_at` and `sent_mono` are times of the replayer's clock (`time.monotonic`
    unless one was injected); `sent_at` is wall time."""

    exchange: Exchange
    response: Response | None
    error: str | None
    sent_at: float
    latency_ms: float | None
    scheduled_at: float | None = None  # when the schedule asked for it (--speed)
    body_capped: bool = False
    sent_mono: float = 0.0  # when the request went out
    notes: list[str] = field(default_factory=list)
    error_kind: ErrorKind | None = None
    """What kind of transport error `error` is (None when a response came back)."""
    parsed: Parsed | None = None
    """Both JSON bodies as carry-over learning parsed them (`SessionState.learn`), for the
    target sanitizer, which changes the replayed one in place (use them once)."""


class RequestParts(NamedTuple):
    """One replayed request before a transport encodes it (`Replayer.parts`).

    `target` is the request target as text: the target's path prefix, the path, `?query`.
    `headers` are all the headers sent but the framing ones (`Content-Length`), which the
    transport adds, and `Host`, which it adds too unless `has_host` says it is there."""

    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes
    has_host: bool


class _AuthBlock(NamedTuple):
    """What the auth changes in every request (see `Replayer._auth_block`)."""

    drop: frozenset[str]  # header names not taken from the recording
    headers: list[tuple[str, str]]  # headers the auth sets
    cookie: str | None  # `name=value` pairs the auth adds to the `Cookie` header
    has_host: bool  # the auth sets `Host`


class Replayer:
    """Sends exchanges to a `Target` and reports each `Outcome` to a callback.

    `transport`: where requests go, any `httpx.AsyncBaseTransport` (see the module
    docstring); a `FastTransport` (or subclass) is driven through its raw `request` method,
    any other through `handle_async_request`. Without one, the replayer makes its own
    `FastTransport` and closes it at the end of `run`; one passed in is left open.

    `clock` and `sleep` drive the pacing (`speed`, `rate`) and the times `Outcome` reports
    in `scheduled_at` and `sent_mono`: a test passes a fake clock and a `sleep` that moves
    it, and runs the schedule without waiting for it.
    """

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
        unreachable_after: int = DEFAULT_UNREACHABLE_AFTER,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if speed < 0:
            raise ValueError("speed must be 0 (as fast as possible) or more")
        if unreachable_after < 0:
            raise ValueError("unreachable_after must be 0 (never stop) or more")
        self.target = target
        self.transport = transport or FastTransport(
            verify=target.verify, max_body=max_body, max_idle_per_origin=max(concurrency, 8)
        )
        self._own_transport = transport is None
        self.concurrency = concurrency
        self.rate = RateLimiter(rate, clock, sleep)
        self.speed = speed
        self.session_key = session_key
        self.auth = auth or Auth()
        self.drop = HOP_BY_HOP | {h.lower() for h in drop_headers}
        self.carry_state = carry_state
        self.max_body = max_body
        self.unreachable_after = unreachable_after
        self._stopped: str | None = None  # why the run stops (`stop`)
        self._clock = clock
        self._sleep = sleep
        self._states: OrderedDict[str, SessionState] = OrderedDict()
        self._fast = self.transport if isinstance(self.transport, FastTransport) else None
        self._pool: Pool | None = None
        self._prefix = target.prefix
        self._keep_host = target.keep_host
        t = target.timeout
        self._timeouts = {"connect": t, "read": t, "write": t, "pool": t}
        self._no_auth = _AuthBlock(self.drop, [], None, False)
        self._auth_cache: tuple[Any, _AuthBlock] | None = None
        self._header_texts = HeaderTexts()

    # -- building requests ----------------------------------------------------------------

    def parts(self, ex: Exchange, state: SessionState | None) -> RequestParts:
        """What `ex` becomes on the wire for this target: the one place that decides it
        (`build` and `_payload` only encode the result).

        - the path goes under the target's path prefix;
        - `state`'s learned values are applied (`SessionState.rewrite`, which also drops
          the headers holding a marker it cannot fill); without a state, every header
          holding a marker is dropped: the target never sees `[REDACTED:...]` credentials;
        - hop-by-hop and framing headers, `Host`, `drop_headers` and the names the auth
          sets are not taken from the recording;
        - the recorded `Host` is sent when `Target.keep_host` asks for it; the auth's
          headers follow, and its cookie joins the `Cookie` header (as `Auth.apply` does).
        """
        return RequestParts(*self._parts(ex, state))

    def _parts(
        self, ex: Exchange, state: SessionState | None
    ) -> tuple[str, str, list[tuple[str, str]], bytes, bool]:
        """`parts` as a plain tuple: `_payload` runs for every request of a bulk replay,
        and a named tuple costs a Python-level call to make."""
        req = ex.request
        drop, auth_headers, auth_cookie, has_host = self._auth_block()
        if state is not None:
            path, query, headers, body = state.rewrite(req)  # no marker left in `headers`
            out = [(k, v) for k, v in headers if k.lower() not in drop]
        else:
            path, query, body = req.path, req.query, req.body
            out = [
                (k, v)
                for k, v in req.headers
                if k.lower() not in drop and not ("[REDACTED:" in v and has_marker(v))
            ]
        if self._keep_host and req.host_header:
            out.append(("Host", req.host_header))
            has_host = True
        if auth_headers:
            out += auth_headers
        if auth_cookie is not None:
            out = _with_cookie(out, auth_cookie)
        target = f"{self._prefix}{path}?{query}" if query else self._prefix + path
        return req.method, target, out, body, has_host

    def _auth_block(self) -> _AuthBlock:
        """What the auth changes in every request: recomputed only when the auth headers or
        token change."""
        auth = self.auth
        if not auth.headers and auth.token is None:
            return self._no_auth
        key = (auth.token, tuple(auth.headers.items()))
        cached = self._auth_cache
        if cached is not None and cached[0] == key:
            return cached[1]
        items = auth.header_items()
        names = frozenset(k.lower() for k, _ in items)
        cookie = "; ".join(f"{name}={value}" for name, value in auth.cookie_items())
        block = _AuthBlock(self.drop | names, items, cookie or None, "host" in names)
        self._auth_cache = (key, block)
        return block

    def build(self, ex: Exchange, state: SessionState | None) -> httpx.Request:
        """The request of `ex` as an `httpx.Request` (`parts`), for any httpx transport.

        Headers are sent as recorded: UTF-8, with the bytes no codec could decode at
        capture restored (surrogateescape)."""
        method, target, headers, body, _ = self._parts(ex, state)
        url = self.target.base.copy_with(raw_path=target.encode("utf-8", "surrogateescape"))
        return httpx.Request(
            method,
            url,
            content=body or None,
            extensions={"timeout": dict(self._timeouts)},
            headers=[
                (k.encode("utf-8", "surrogateescape"), v.encode("utf-8", "surrogateescape"))
                for k, v in headers
            ],
        )

    def _payload(self, ex: Exchange, state: SessionState | None) -> bytes:
        """The request of `ex` as HTTP/1.1 bytes for `FastTransport.request`: `parts`,
        encoded as `build` encodes them."""
        method, target, headers, body, has_host = self._parts(ex, state)
        return encode_request(self._pool_of(), method, target, headers, body, has_host=has_host)

    def _pool_of(self) -> Pool:
        pool = self._pool
        if pool is None:
            assert self._fast is not None
            base = self.target.base
            pool = self._pool = self._fast.pool(
                base.scheme, base.host, base.port or (443 if base.scheme == "https" else 80)
            )
        return pool

    # -- sending --------------------------------------------------------------------------

    def stop(self, reason: str) -> None:
        """Wind the run down: nothing more is sent (`run` takes no further exchange, and a
        send from now on returns `NOT_SENT` at once, which the run's sinks drop); requests
        in flight finish and are handed over; then `run` raises `TargetUnreachable(reason)`.
        Nothing is cancelled: a request cancelled in flight would leave its connection
        open, and `asyncio.wait_for` (Python 3.11) can swallow a cancellation anyway."""
        if self._stopped is None:
            self._stopped = reason

    def _not_sent(self, ex: Exchange) -> Outcome:
        return Outcome(ex, None, NOT_SENT, time.time(), None)

    async def send(self, request: httpx.Request) -> httpx.Response:
        """Send one `httpx.Request` through the transport (the login request uses it)."""
        return await self.transport.handle_async_request(request)

    async def replay_one(
        self, ex: Exchange, state: SessionState | None, scheduled_at: float | None = None
    ) -> Outcome:
        """Send `ex` with its session's learned `state` (None: nothing carried), once the
        rate allows, and return its outcome; a request that got no response is an outcome
        with an `error`, not an exception."""
        if self._stopped is not None:
            return self._not_sent(ex)
        if self._fast is not None and self.auth.hook is None:
            return await self._replay_fast(ex, state, scheduled_at)
        await self.rate.wait()
        sent_at = time.time()
        mono = self._clock()
        start = time.perf_counter()
        try:
            request = self.build(ex, state)  # the auth's headers and cookie included
            request = await self.auth.sign(request)
            resp = await self.send(request)
            body, capped = await self._read(resp)
        except (httpx.HTTPError, OSError, ValueError) as e:
            return self._failure(ex, e, sent_at, mono, start, scheduled_at)
        latency = (time.perf_counter() - start) * 1000
        actual = Response(
            status=resp.status_code,
            reason=resp.reason_phrase,
            http_version=resp.http_version,
            headers=tuple(
                (k.decode("latin-1"), v.decode("utf-8", "replace")) for k, v in resp.headers.raw
            ),
            body=body,
            timestamp_start=sent_at,
            timestamp_end=sent_at + latency / 1000,
            body_truncated=capped,
        )
        docs = state.learn(ex.response, actual) if state is not None else None
        return Outcome(ex, actual, None, sent_at, latency, scheduled_at, capped, mono, parsed=docs)

    async def _read(self, resp: httpx.Response) -> tuple[bytes, bool]:
        """The body of `resp`, cut at `max_body` (and whether it was)."""
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

    async def _replay_fast(
        self,
        ex: Exchange,
        state: SessionState | None,
        scheduled_at: float | None,
        in_flight: Callable[[], None] | None = None,
    ) -> Outcome:
        """`replay_one` through `FastTransport.request`; `in_flight()` is called once the
        request is written (or before a wait for the rate, where nothing would overlap it)."""
        assert self._fast is not None
        if self._stopped is not None:
            return self._not_sent(ex)
        rate = self.rate
        if rate.interval:
            if in_flight is not None and not rate.ready():
                in_flight()  # nothing to overlap with: no waiting for the rate's slot
                in_flight = None
            await rate.wait()
        sent_at = time.time()
        mono = self._clock()
        start = time.perf_counter()
        try:
            payload, head = self._payload(ex, state), ex.request.method == "HEAD"
            raw = await self._fast.request(
                self._pool_of(), payload, head, self.target.timeout, in_flight
            )
        except (httpx.HTTPError, OSError, ValueError) as e:
            return self._failure(ex, e, sent_at, mono, start, scheduled_at)
        latency = (time.perf_counter() - start) * 1000
        actual = self._decoded(raw, sent_at, latency)
        docs = state.learn(ex.response, actual) if state is not None else None
        capped = actual.body_truncated  # (all positional: keywords cost the call ~40 % more)
        return Outcome(
            ex, actual, None, sent_at, latency, scheduled_at, capped, mono, [], None, docs
        )

    def _decoded(self, raw: RawResponse, sent_at: float, latency_ms: float) -> Response:
        """The `Response` of a raw one, its body decoded (as capture stores bodies)."""
        headers, encoded = self._header_texts.decode(raw.headers)
        encoding = content_encoding(headers) if encoded else None
        body = raw.body
        capped = raw.truncated
        if encoding is not None:
            decoded = decode_body(raw.body, encoding, max_decoded=self.max_body)
            body = decoded.body
            capped = capped or decoded.truncated
        return Response(
            raw.status,
            raw.reason,
            raw.http_version,
            headers,
            body,
            encoding,
            sent_at,
            sent_at + latency_ms / 1000,
            capped,
        )

    def _failure(
        self,
        ex: Exchange,
        e: BaseException,
        sent_at: float,
        sent_mono: float,
        start: float,
        scheduled_at: float | None,
    ) -> Outcome:
        """The outcome of a request that got no response (reported; the run goes on)."""
        kind = error_kind(e)
        error = (
            f"{'connect ' if kind == 'connect' else ''}timeout after {self.target.timeout:g}s"
            if isinstance(e, httpx.TimeoutException)
            else _describe(e)
        )
        return Outcome(
            ex,
            None,
            error,
            sent_at,
            (time.perf_counter() - start) * 1000,
            scheduled_at,
            sent_mono=sent_mono,
            error_kind=kind,
        )

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

    # -- a run ----------------------------------------------------------------------------

    async def run(
        self,
        exchanges: Iterable[Exchange],
        on_outcome: Sink,
        perform: Callable[[Exchange, str, float | None], Awaitable[Any]] | None = None,
        accept: Callable[[Exchange], bool] | None = None,
    ) -> None:
        """Replay `exchanges` (consumed lazily, in order) and call `on_outcome` for each.

        `perform(exchange, session_key, scheduled_at)` replaces the default single send
        (shadow runs send each exchange to three targets); its result goes to `on_outcome`.
        `accept(exchange)`, when given, is asked on the event loop before each exchange is
        sent: False skips it (no outcome). Filter there rather than by wrapping a store's
        stream in a generator, which would decode every row in the reader thread (`Feed`).

        Order, pacing and hand-over are the `Dispatcher`'s (see `_dispatch.py`). With the
        default send through `FastTransport`, a worker calls `on_outcome` for its previous
        exchange right after writing its next request (or before it waits for anything),
        so the sink's work overlaps the target's; every outcome is still handed over exactly
        once, also when the run is cancelled or fails. Latencies are unaffected unless the
        sink takes longer than the target to answer.

        With the default send, the run stops once `unreachable_after` requests in a row
        could not connect (`UnreachableWatch`): no further exchange is sent, the requests
        in flight finish and go to `on_outcome`, then `TargetUnreachable` is raised. A
        `perform` watches its own outcomes and calls `stop` (a shadow run's three sides).
        """
        if perform is None and self.unreachable_after:
            on_outcome = self._watched(on_outcome)
        if self.unreachable_after:
            wanted = accept

            def accept(ex: Exchange) -> bool:  # a stopped run takes no further exchange
                return self._stopped is None and (wanted is None or wanted(ex))

        previous_interval = sys.getswitchinterval()
        feed: Feed | None = None
        try:
            await self.auth.start(self.send, self.target.base)
            feed = Feed(exchanges, asyncio.get_running_loop())
            # The store is read in a thread (`Feed`); with the default 5 ms GIL switch
            # interval that thread can hold up the event loop, and every connection idles.
            sys.setswitchinterval(min(previous_interval, 0.0005))
            overlap = perform is None and self._fast is not None and self.auth.hook is None
            await Dispatcher(
                feed,
                self._sender(perform, overlap),
                on_outcome,
                overlap=overlap,
                accept=accept,
                session_spec=self.session_key,
                speed=self.speed,
                clock=self._clock,
                sleep=self._sleep,
            ).run(self.concurrency)
        finally:
            if feed is not None:
                feed.close()
            sys.setswitchinterval(previous_interval)
            if self._own_transport:
                await self.transport.aclose()
        if self._stopped is not None:
            raise TargetUnreachable(self._stopped)

    def _watched(self, on_outcome: Sink) -> Sink:
        """`on_outcome` (not for `NOT_SENT`), then the `UnreachableWatch`: `stop` at its
        limit."""
        watch = UnreachableWatch(self.target, self.unreachable_after)

        def sink(o: Outcome) -> Awaitable[None] | None:
            if o.error is NOT_SENT:
                return None
            result = on_outcome(o)
            if o.error_kind == "connect":
                watch.count(o)
                if watch.tripped:
                    self.stop(watch.message())
            elif o.response is not None:  # `watch.count` of an answer, inline (per request)
                watch.in_a_row = 0
                watch.answered += 1
            return result

        return sink

    def _sender(
        self, perform: Callable[[Exchange, str, float | None], Awaitable[Any]] | None, overlap: bool
    ) -> Send:
        """How the dispatcher sends one exchange of session `key` (see `run`)."""
        if perform is not None:
            return lambda ex, key, scheduled, _: perform(ex, key, scheduled)
        if overlap:
            return lambda ex, key, scheduled, in_flight: self._replay_fast(
                ex, self.state(key), scheduled, in_flight
            )
        return lambda ex, key, scheduled, _: self.replay_one(ex, self.state(key), scheduled)


def _with_cookie(headers: list[tuple[str, str]], cookie: str) -> list[tuple[str, str]]:
    """`headers` with one `Cookie` header: the recorded cookies, then `cookie`."""
    cookies = [v for k, v in headers if k.lower() == "cookie"]
    out = [(k, v) for k, v in headers if k.lower() != "cookie"]
    out.append(("Cookie", "; ".join([*cookies, cookie])))
    return out


@functools.lru_cache(maxsize=64)
def _url(url: str) -> httpx.URL:
    return httpx.URL(url)


def _describe(e: BaseException) -> str:
    text = str(e).strip() or type(e).__name__
    if isinstance(e, httpx.ConnectError):
        return f"connection failed: {text}"
    return f"{type(e).__name__}: {text}"[:500]
