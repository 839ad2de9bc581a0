"""A lean HTTP/1.1 client for bulk replay, exposed as an httpx transport.

Replay must never be the bottleneck: on a 2-core machine the app under test takes one core
and the replayer has the other, so every microsecond per request counts. httpx's default
async transport reaches about 0.13 of wrk here and httpx over aiohttp about 0.5 (see
docs/benchmarks.md). This module keeps one pool of keep-alive connections per origin,
writes each request as one buffer and parses responses with `httptools` (llhttp, the
parser of Node.js and uvicorn; one parser per connection), with no per-request object graph
beyond the result, and one timer for the timeouts of all requests in flight.

Three ways in:
- `FastTransport.request(pool, payload)`: the replayer's hot path, a complete request as
  bytes in (`encode_request` makes them) and a `RawResponse` out;
- `FastTransport.send_raw(scheme, host, port, method, target, headers, body)`: the same
  from the request's parts;
- `FastTransport.handle_async_request(httpx.Request)`: the standard httpx transport API
  (used for login requests and signing hooks, or by anyone passing it to `AsyncClient`).

Limits: HTTP/1.1 only (no HTTP/2), no proxies, no 1xx handling beyond skipping them.
Responses are returned as received (still content-encoded); callers decode.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import ssl
from collections import deque
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass

import httptools
import httpx

__all__ = ["FastTransport", "HeaderTexts", "Pool", "RawResponse", "encode_request", "idna_host"]

HEADER_TEXTS = 4096  # decoded header fields a `HeaderTexts` keeps


@dataclass(slots=True)
class RawResponse:
    status: int
    reason: str
    http_version: str
    headers: list[tuple[bytes, bytes]]
    body: bytes
    truncated: bool = False


class HeaderTexts:
    """Response header fields as text (names latin-1, values UTF-8 with U+FFFD for bytes
    that are not), each distinct raw field decoded once: fields repeat from response to
    response (`Server`, `Content-Type`, a `Date` within its second). Bounded: cleared when
    it holds `HEADER_TEXTS` fields."""

    __slots__ = ("texts",)

    def __init__(self) -> None:
        self.texts: dict[tuple[bytes, bytes], tuple[str, str]] = {}

    def decode(self, raw: list[tuple[bytes, bytes]]) -> tuple[tuple[tuple[str, str], ...], bool]:
        """The fields as text, and whether one may be `Content-Encoding` (a name of its
        length: a latin-1 name keeps its length in lower case)."""
        texts = self.texts
        fields: list[tuple[str, str]] = []
        encoded = False
        for pair in raw:
            text = texts.get(pair)
            if text is None:
                k, v = pair
                text = (k.decode("latin-1"), v.decode("utf-8", "replace"))
                if len(texts) >= HEADER_TEXTS:
                    texts.clear()
                texts[pair] = text
            if len(pair[0]) == 16:
                encoded = True
            fields.append(text)
        return tuple(fields), encoded


class _Connection(asyncio.Protocol):
    """One keep-alive connection; also the httptools callback object of its responses.

    The parser is kept across the responses of the connection (llhttp resets itself after
    each message), except after a response to HEAD (its parser would expect a body).
    """

    __slots__ = (
        "body",
        "closed",
        "complete",
        "deadline",
        "head",
        "headers",
        "keep_alive",
        "max_body",
        "parser",
        "reason",
        "size",
        "transport",
        "truncated",
        "waiter",
    )

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.parser: httptools.HttpResponseParser | None = None
        self.closed = False
        self.head = False
        self.keep_alive = False
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.size = 0
        self.max_body = 0
        self.truncated = False
        self.complete = False
        self.reason = b""
        self.deadline = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass

    def start(
        self, max_body: int, head: bool, loop: asyncio.AbstractEventLoop
    ) -> asyncio.Future[None]:
        if self.parser is None:
            self.parser = httptools.HttpResponseParser(self)
        self.head = head
        self.keep_alive = False
        self.headers = []
        self.body = []
        self.size = 0
        self.max_body = max_body
        self.truncated = False
        self.complete = False
        self.reason = b""
        self.waiter = waiter = loop.create_future()
        return waiter

    # -- httptools callbacks ----------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        if self.head:  # a response to HEAD has no body, whatever Content-Length says
            if self.parser is not None:  # (else `on_message_complete` says it)
                self.keep_alive = self.parser.should_keep_alive()
            self.complete = True

    def on_status(self, status: bytes) -> None:
        self.reason += status

    def on_body(self, body: bytes) -> None:
        if self.size + len(body) > self.max_body:
            body = body[: max(0, self.max_body - self.size)]
            self.truncated = True
        self.size += len(body)
        if body:
            self.body.append(body)

    def on_message_complete(self) -> None:
        # only meaningful inside the callbacks: httptools resets after the message
        if self.parser is not None:
            self.keep_alive = self.parser.should_keep_alive()
        self.complete = True

    # -- protocol ---------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        waiter = self.waiter
        if waiter is None or self.parser is None:
            self.closed = True  # unsolicited bytes: this connection can't be reused
            if self.transport is not None:
                self.transport.close()
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            pass
        except httptools.HttpParserError as e:
            if not waiter.done():
                waiter.set_exception(httpx.RemoteProtocolError(f"invalid response: {e}"))
            return
        if self.complete and not waiter.done():
            waiter.set_result(None)

    def eof_received(self) -> bool | None:
        self._finish_on_close()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._finish_on_close(exc)

    def _finish_on_close(self, exc: Exception | None = None) -> None:
        self.closed = True
        if self.waiter is None or self.waiter.done():
            return
        if self.parser is not None and not self.complete:
            with contextlib.suppress(httptools.HttpParserError):
                self.parser.feed_data(b"")  # a body delimited by connection close
            if self.complete or (
                self.headers and self.parser.get_status_code() and not self._has_length()
            ):
                self.waiter.set_result(None)
                return
        self.waiter.set_exception(
            httpx.RemoteProtocolError(
                "server closed the connection before a complete response"
                + (f" ({exc})" if exc else "")
            )
        )

    def _has_length(self) -> bool:
        return any(k.lower() in (b"content-length", b"transfer-encoding") for k, _ in self.headers)


class Pool:
    """The idle keep-alive connections to one origin, and its `Host` header line.

    Made by `FastTransport.pool`; the replayer keeps its target's pool to frame requests
    (`encode_request`) and send them (`FastTransport.request`)."""

    __slots__ = ("host", "host_line", "idle", "port", "scheme")

    def __init__(self, scheme: str, host: str, port: int) -> None:
        self.scheme = scheme
        self.host = host
        self.port = port
        self.idle: deque[_Connection] = deque()
        hostport = host if port in (80, 443) else f"{host}:{port}"
        if ":" in host and not host.startswith("["):
            hostport = f"[{host}]" if port in (80, 443) else f"[{host}]:{port}"
        self.host_line = "Host: " + hostport.encode("idna").decode("ascii") + "\r\n"


_VERSIONS = {"1.1": "HTTP/1.1", "1.0": "HTTP/1.0"}
_NO_BODY_METHODS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})


def idna_host(value: str) -> str:
    """A `Host` header value (`host[:port]`) with a non-ASCII host name in its IDNA form
    (`bücher.example:8080` -> `xn--bcher-kva.example:8080`), as a client sends it. An ASCII
    value, or a name IDNA cannot encode, is returned as it is (sent as UTF-8 bytes)."""
    if value.isascii():
        return value
    host, sep, port = value.rpartition(":")
    if not (sep and port.isdigit()):
        host, sep, port = value, "", ""
    try:
        return host.encode("idna").decode("ascii") + sep + port
    except UnicodeError:
        return value


def encode_request(
    pool: Pool,
    method: str,
    target: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    *,
    has_host: bool = False,
) -> bytes:
    """A complete HTTP/1.1 request for `FastTransport.request`: the request line, `pool`'s
    `Host` line unless `has_host` (`headers` hold one), `headers`, `Content-Length` when
    there is a body (or the method has one), the blank line, the body.

    Text is encoded as UTF-8, with surrogates back to the bytes they stand for
    (`surrogateescape`, as amber decodes what it cannot read). The replayer frames every
    request here: one list joined and encoded once."""
    parts = [method, " ", target, " HTTP/1.1\r\n"]
    if not has_host:
        parts.append(pool.host_line)
        for k, v in headers:
            parts += (k, ": ", v, "\r\n")
    else:  # the recorded Host (`--keep-host`) or the auth's: a host name goes as IDNA
        for k, v in headers:
            if len(k) == 4 and k.lower() == "host":
                v = idna_host(v)
            parts += (k, ": ", v, "\r\n")
    if body or method not in _NO_BODY_METHODS:
        parts += ("Content-Length: ", str(len(body)), "\r\n")
    parts.append("\r\n")
    head = "".join(parts).encode("utf-8", "surrogateescape")
    return head + body if body else head


def _idle_connection(pool: Pool) -> _Connection | None:
    """The most recently used idle connection of `pool` still open (closed ones dropped)."""
    idle = pool.idle
    while idle:
        conn = idle.pop()
        if not conn.closed and conn.transport is not None and not conn.transport.is_closing():
            return conn
    return None


class FastTransport(httpx.AsyncBaseTransport):
    """Keep-alive HTTP/1.1 connection pools per origin, as an httpx transport."""

    def __init__(
        self,
        *,
        verify: bool = True,
        max_body: int = 16 * 1024 * 1024,
        max_idle_per_origin: int = 256,
    ) -> None:
        self.verify = verify
        self.max_body = max_body
        self.max_idle = max_idle_per_origin
        self._pools: dict[tuple[str, str, int], Pool] = {}
        self._ssl: ssl.SSLContext | None = None
        # Timeouts: one timer for all requests in flight (at the earliest deadline), not one
        # `call_later` per request.
        self._busy: set[_Connection] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf
        self._timer_loop: asyncio.AbstractEventLoop | None = None

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            ctx = ssl.create_default_context()
            if not self.verify:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            ctx.set_alpn_protocols(["http/1.1"])
            self._ssl = ctx
        return self._ssl

    def pool(self, scheme: str, host: str, port: int) -> Pool:
        """The connection pool of an origin (for `request`)."""
        key = (scheme, host, port)
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = Pool(scheme, host, port)
        return pool

    async def _connect(self, pool: Pool, timeout: float | None) -> _Connection:
        loop = asyncio.get_running_loop()
        scheme, host, port = pool.scheme, pool.host, pool.port
        try:
            _, proto = await asyncio.wait_for(
                loop.create_connection(
                    _Connection,
                    host,
                    port,
                    ssl=self._ssl_context() if scheme == "https" else None,
                    server_hostname=host if scheme == "https" else None,
                ),
                timeout,
            )
        except TimeoutError as e:
            raise httpx.ConnectTimeout(f"connecting to {host}:{port} timed out") from e
        except ssl.SSLError as e:
            raise httpx.ConnectError(
                f"TLS handshake with {host}:{port} failed: {e.reason}; "
                "use --insecure for a self-signed staging certificate"
            ) from e
        except OSError as e:
            raise httpx.ConnectError(f"{host}:{port}: {e.strerror or e}") from e
        return proto

    # -- timeouts -------------------------------------------------------------------------

    def _arm(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        if self._timer_loop is not loop:  # a new event loop (another asyncio.run)
            self._timer, self._timer_at, self._timer_loop = None, math.inf, loop
        if when < self._timer_at:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = loop.call_at(when, self._expire, loop)
            self._timer_at = when

    def _expire(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer, self._timer_at = None, math.inf
        now = loop.time()
        earliest = math.inf
        for conn in tuple(self._busy):
            if conn.deadline <= now:
                self._busy.discard(conn)
                if conn.waiter is not None and not conn.waiter.done():
                    conn.waiter.set_exception(TimeoutError())
            elif conn.deadline < earliest:
                earliest = conn.deadline
        if earliest < math.inf:
            self._arm(loop, earliest)

    # -- sending --------------------------------------------------------------------------

    async def send_raw(
        self,
        scheme: str,
        host: str,
        port: int,
        method: str,
        target: bytes,
        headers: Sequence[tuple[bytes, bytes]],
        body: bytes,
        timeout: float | None = 30.0,
    ) -> RawResponse:
        """Send one request; `headers` must not contain Content-Length (`Host` is added
        unless they hold one)."""
        text = [
            (k.decode("utf-8", "surrogateescape"), v.decode("utf-8", "surrogateescape"))
            for k, v in headers
        ]
        payload = encode_request(
            self.pool(scheme, host, port),
            method,
            target.decode("utf-8", "surrogateescape"),
            text,
            body,
            has_host=any(k.lower() == "host" for k, _ in text),
        )
        return await self.request(self.pool(scheme, host, port), payload, method == "HEAD", timeout)

    async def request(
        self,
        pool: Pool,
        payload: bytes,
        head: bool = False,
        timeout: float | None = 30.0,
        in_flight: Callable[[], None] | None = None,
    ) -> RawResponse:
        """Send `payload` (a complete HTTP/1.1 request, `Host` included) to `pool`'s origin.

        `in_flight()` is called once, right after the request is written and before its
        response is awaited: work that can overlap the target's (the caller's bookkeeping
        for the previous response) without delaying this request.

        Retries once on a fresh connection when a reused keep-alive connection turns out to
        be closed before any response byte.
        """
        loop = asyncio.get_running_loop()
        for attempt in (0, 1):
            conn = _idle_connection(pool)
            reused = conn is not None
            if conn is None:
                conn = await self._connect(pool, timeout)
            waiter = conn.start(self.max_body, head, loop)
            transport = conn.transport
            assert transport is not None
            transport.write(payload)
            if timeout:
                conn.deadline = deadline = loop.time() + timeout
                self._busy.add(conn)
                if deadline < self._timer_at or self._timer_loop is not loop:
                    self._arm(loop, deadline)
            if in_flight is not None:
                work, in_flight = in_flight, None
                try:
                    work()
                except BaseException:
                    self._busy.discard(conn)
                    conn.waiter = None
                    transport.close()  # its response is nobody's now
                    raise
            try:
                await waiter
            except TimeoutError as e:
                transport.close()
                raise httpx.ReadTimeout(f"no complete response within {timeout:g}s") from e
            except httpx.RemoteProtocolError:
                transport.close()
                if reused and attempt == 0 and not conn.headers:
                    continue  # a keep-alive connection the server had closed: retry once
                raise
            finally:
                self._busy.discard(conn)
                conn.waiter = None
            return self._response(pool, conn, head)
        raise httpx.RemoteProtocolError("connection closed")  # pragma: no cover

    def _response(self, pool: Pool, conn: _Connection, head: bool) -> RawResponse:
        """The response `conn` just received; the connection goes back to `pool` when it
        can be reused."""
        parser = conn.parser
        transport = conn.transport
        assert parser is not None and transport is not None
        status = parser.get_status_code()
        version = parser.get_http_version()
        body = conn.body
        truncated = conn.truncated
        if head:
            conn.parser = None  # it still expects the body Content-Length announced
        if conn.keep_alive and not conn.closed and not truncated and len(pool.idle) < self.max_idle:
            pool.idle.append(conn)
        else:
            transport.close()
        return RawResponse(
            status,
            conn.reason.decode("latin-1"),
            _VERSIONS.get(version) or f"HTTP/{version}",
            conn.headers,
            body[0] if len(body) == 1 else b"".join(body),
            truncated,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        body = await request.aread()
        port = url.port or (443 if url.scheme == "https" else 80)
        headers = [
            (k, v)
            for k, v in request.headers.raw
            if k.lower() not in (b"content-length", b"transfer-encoding")
        ]
        timeout = request.extensions.get("timeout", {}).get("read", 30.0)
        raw = await self.send_raw(
            url.scheme, url.host, port, request.method, url.raw_path, headers, body, timeout
        )
        return httpx.Response(
            raw.status,
            headers=raw.headers,
            content=raw.body,
            request=request,
            extensions={
                "http_version": raw.http_version.encode(),
                "reason_phrase": raw.reason.encode(),
            },
        )

    async def aclose(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._timer_at, self._timer_loop = None, math.inf, None
        self._busy.clear()
        for pool in self._pools.values():
            while pool.idle:
                conn = pool.idle.pop()
                if conn.transport is not None:
                    conn.transport.close()
        self._pools.clear()
