"""A lean HTTP/1.1 client for bulk replay, exposed as an httpx transport.

Replay must never be the bottleneck: on a 2-core machine the app under test takes one core
and the replayer has the other, so every microsecond per request counts. httpx's default
async transport reaches about 0.13 of wrk here and httpx over aiohttp about 0.5 (see
docs/benchmarks.md). This module keeps one pool of keep-alive connections per origin,
writes each request as one buffer and parses responses with `httptools` (llhttp, the
parser of Node.js and uvicorn), with no per-request object graph beyond the result.

Two ways in:
- `FastTransport.send_raw(...)`: the replayer's hot path, bytes in and a `RawResponse` out;
- `FastTransport.handle_async_request(httpx.Request)`: the standard httpx transport API
  (used for login requests and signing hooks, or by anyone passing it to `AsyncClient`).

Limits: HTTP/1.1 only (no HTTP/2), no proxies, no 1xx handling beyond skipping them.
Responses are returned as received (still content-encoded); callers decode.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field

import httptools
import httpx

__all__ = ["FastTransport", "RawResponse"]


@dataclass(slots=True)
class RawResponse:
    status: int
    reason: str
    http_version: str
    headers: list[tuple[bytes, bytes]]
    body: bytes
    truncated: bool = False


class _Parser:
    """httptools callbacks for one response."""

    __slots__ = ("body", "complete", "head", "headers", "keep_alive", "max_body", "parser",
                 "reason", "size", "truncated")

    def __init__(self, max_body: int, head: bool = False) -> None:
        self.head = head
        self.keep_alive = False
        self.parser: httptools.HttpResponseParser | None = None
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.size = 0
        self.max_body = max_body
        self.truncated = False
        self.complete = False
        self.reason = b""

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        if self.parser is not None:
            self.keep_alive = self.parser.should_keep_alive()
        if self.head:  # a response to HEAD has no body, whatever Content-Length says
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


class _Connection(asyncio.Protocol):
    __slots__ = ("closed", "parser", "pparser", "transport", "waiter")

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.parser: _Parser | None = None
        self.pparser: httptools.HttpResponseParser | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass

    def start(self, max_body: int, head: bool) -> asyncio.Future[None]:
        self.parser = _Parser(max_body, head)
        self.pparser = httptools.HttpResponseParser(self.parser)
        self.parser.parser = self.pparser
        self.waiter = asyncio.get_running_loop().create_future()
        return self.waiter

    def data_received(self, data: bytes) -> None:
        if self.pparser is None or self.waiter is None:
            self.closed = True  # unsolicited bytes: this connection can't be reused
            if self.transport is not None:
                self.transport.close()
            return
        try:
            self.pparser.feed_data(data)
        except httptools.HttpParserUpgrade:
            pass
        except httptools.HttpParserError as e:
            if not self.waiter.done():
                self.waiter.set_exception(httpx.RemoteProtocolError(f"invalid response: {e}"))
            return
        if self.parser is not None and self.parser.complete and not self.waiter.done():
            self.waiter.set_result(None)

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
        if self.pparser is not None and self.parser is not None and not self.parser.complete:
            with contextlib.suppress(httptools.HttpParserError):
                self.pparser.feed_data(b"")  # a body delimited by connection close
            if self.parser.complete or (self.parser.headers and self.pparser.get_status_code()
                                        and not self._has_length()):
                self.waiter.set_result(None)
                return
        self.waiter.set_exception(httpx.RemoteProtocolError(
            "server closed the connection before a complete response"
            + (f" ({exc})" if exc else "")))

    def _has_length(self) -> bool:
        assert self.parser is not None
        return any(k.lower() in (b"content-length", b"transfer-encoding")
                   for k, _ in self.parser.headers)


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


@dataclass
class _Pool:
    idle: deque[_Connection] = field(default_factory=deque)


class FastTransport(httpx.AsyncBaseTransport):
    """Keep-alive HTTP/1.1 connection pools per origin, as an httpx transport."""

    def __init__(self, *, verify: bool = True, max_body: int = 16 * 1024 * 1024,
                 max_idle_per_origin: int = 256) -> None:
        self.verify = verify
        self.max_body = max_body
        self.max_idle = max_idle_per_origin
        self._pools: dict[tuple[str, str, int], _Pool] = {}
        self._ssl: ssl.SSLContext | None = None

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            ctx = ssl.create_default_context()
            if not self.verify:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            ctx.set_alpn_protocols(["http/1.1"])
            self._ssl = ctx
        return self._ssl

    async def _connect(self, scheme: str, host: str, port: int,
                       timeout: float | None) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _, proto = await asyncio.wait_for(
                loop.create_connection(
                    _Connection, host, port,
                    ssl=self._ssl_context() if scheme == "https" else None,
                    server_hostname=host if scheme == "https" else None,
                ),
                timeout,
            )
        except TimeoutError as e:
            raise httpx.ConnectTimeout(f"connecting to {host}:{port} timed out") from e
        except ssl.SSLError as e:
            raise httpx.ConnectError(f"TLS handshake with {host}:{port} failed: {e.reason}; "
                                     "use --insecure for a self-signed staging certificate"
                                     ) from e
        except OSError as e:
            raise httpx.ConnectError(f"{host}:{port}: {e.strerror or e}") from e
        return proto

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
        """Send one request; `headers` must not contain Host or Content-Length."""
        key = (scheme, host, port)
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = _Pool()
        hostport = host if port in (80, 443) else f"{host}:{port}"
        if ":" in host and not host.startswith("["):
            hostport = f"[{host}]" if port in (80, 443) else f"[{host}]:{port}"
        has_host = any(k.lower() == b"host" for k, _ in headers)
        lines = [method.encode(), b" ", target, b" HTTP/1.1\r\n"]
        if not has_host:
            lines += [b"Host: ", hostport.encode("idna"), b"\r\n"]
        for k, v in headers:
            lines += [k, b": ", v, b"\r\n"]
        if body or method not in ("GET", "HEAD", "DELETE", "OPTIONS"):
            lines += [b"Content-Length: ", str(len(body)).encode(), b"\r\n"]
        lines.append(b"\r\n")
        payload = b"".join(lines) + body if body else b"".join(lines)
        for attempt in (0, 1):
            conn: _Connection | None = None
            reused = False
            while pool.idle:
                candidate = pool.idle.pop()
                if not candidate.closed and candidate.transport is not None \
                        and not candidate.transport.is_closing():
                    conn, reused = candidate, True
                    break
            if conn is None:
                conn = await self._connect(scheme, host, port, timeout)
            waiter = conn.start(self.max_body, method == "HEAD")
            assert conn.transport is not None
            conn.transport.write(payload)
            # a timer instead of asyncio.wait_for: no extra task per request
            timer = asyncio.get_running_loop().call_later(
                timeout, _expire, waiter) if timeout else None
            try:
                await waiter
            except TimeoutError as e:
                conn.transport.close()
                raise httpx.ReadTimeout(f"no complete response within {timeout:g}s") from e
            except httpx.RemoteProtocolError:
                conn.transport.close()
                if reused and attempt == 0 and not (conn.parser and conn.parser.headers):
                    continue  # a keep-alive connection the server had closed: retry once
                raise
            finally:
                if timer is not None:
                    timer.cancel()
            p = conn.parser
            pp = conn.pparser
            assert p is not None and pp is not None
            keep = p.keep_alive and not conn.closed and not p.truncated
            conn.parser = conn.pparser = None
            conn.waiter = None
            if keep and len(pool.idle) < self.max_idle:
                pool.idle.append(conn)
            else:
                conn.transport.close()
            return RawResponse(
                status=pp.get_status_code(),
                reason=p.reason.decode("latin-1"),
                http_version=f"HTTP/{pp.get_http_version()}",
                headers=p.headers,
                body=b"".join(p.body),
                truncated=p.truncated,
            )
        raise httpx.RemoteProtocolError("connection closed")  # pragma: no cover

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        body = await request.aread()
        port = url.port or (443 if url.scheme == "https" else 80)
        headers = [(k, v) for k, v in request.headers.raw
                   if k.lower() not in (b"content-length", b"transfer-encoding")]
        timeout = request.extensions.get("timeout", {}).get("read", 30.0)
        raw = await self.send_raw(url.scheme, url.host, port, request.method, url.raw_path,
                                  headers, body, timeout)
        return httpx.Response(
            raw.status, headers=raw.headers, content=raw.body, request=request,
            extensions={"http_version": raw.http_version.encode(),
                        "reason_phrase": raw.reason.encode()},
        )

    async def aclose(self) -> None:
        for pool in self._pools.values():
            while pool.idle:
                conn = pool.idle.pop()
                if conn.transport is not None:
                    conn.transport.close()
        self._pools.clear()
