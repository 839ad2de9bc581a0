"""What the proxy hands the capture writer: a `RawFlow` of references, and its exchange.

`RawFlow` holds references to mitmproxy's immutable bytes (no decoding, no copies), so the
hook that builds it costs next to nothing on the proxy's event loop; `raw_to_exchange` turns it
into an undecoded `Exchange` in the writer, off the loop.
"""

from __future__ import annotations

from typing import NamedTuple

from amber._model import Exchange
from amber._model import Request
from amber._model import Response
from amber._model import content_encoding
from amber._model import decode_header_bytes
from amber._model import new_id

__all__ = ["RawFlow", "RawHeaders", "raw_to_exchange"]

RawHeaders = tuple[tuple[bytes, bytes], ...]


class RawFlow(NamedTuple):
    """What the hooks copy from a mitmproxy flow: references only, nothing decoded."""

    started: float
    req_end: float | None
    client: str | None
    method: bytes
    scheme: bytes
    host: str
    port: int
    path: bytes
    http_version: bytes
    req_headers: RawHeaders
    req_body: bytes | None
    authority: bytes  # HTTP/2 and HTTP/3 carry the Host header here
    status: int | None
    reason: bytes
    resp_version: bytes
    resp_headers: RawHeaders
    resp_body: bytes | None
    resp_start: float | None
    resp_end: float | None
    error: str | None
    tags: tuple[str, ...]
    resp_cut: bool = False  # a streamed body kept only up to the cap, or broken off

    @property
    def size(self) -> int:
        return len(self.req_body or b"") + len(self.resp_body or b"") + 512


def _headers(fields: RawHeaders) -> tuple[tuple[str, str], ...]:
    return tuple((decode_header_bytes(k), decode_header_bytes(v)) for k, v in fields)


def _host_header(raw: RawFlow, headers: tuple[tuple[str, str], ...]) -> str | None:
    """What the client sent as Host (mitmproxy's `Request.host_header`)."""
    host = next((v for k, v in headers if k.lower() == "host"), None)
    if raw.http_version in (b"HTTP/2.0", b"HTTP/3") and raw.authority:
        return decode_header_bytes(raw.authority)
    return host


def raw_to_exchange(raw: RawFlow) -> Exchange:
    """Build the (not yet sanitized, still content-encoded) exchange of a raw flow."""
    target = raw.path.decode("utf-8", "surrogateescape")
    path, _, query = target.partition("?")
    req_headers = _headers(raw.req_headers)
    request = Request(
        method=raw.method.decode("ascii", "replace"),
        scheme=raw.scheme.decode("ascii", "replace"),
        host=raw.host,
        port=raw.port,
        path=path or "/",
        query=query,
        http_version=raw.http_version.decode("utf-8", "surrogateescape"),
        headers=req_headers,
        body=raw.req_body or b"",
        content_encoding=content_encoding(req_headers),
        host_header=_host_header(raw, req_headers),
        timestamp_start=raw.started,
        timestamp_end=raw.req_end,
        body_truncated=raw.req_body is None,
    )
    response = None
    if raw.status is not None:
        resp_headers = _headers(raw.resp_headers)
        response = Response(
            status=raw.status,
            reason=raw.reason.decode("latin-1"),
            http_version=raw.resp_version.decode("utf-8", "surrogateescape"),
            headers=resp_headers,
            body=raw.resp_body or b"",
            content_encoding=content_encoding(resp_headers),
            timestamp_start=raw.resp_start,
            timestamp_end=raw.resp_end,
            body_truncated=raw.resp_body is None or raw.resp_cut,
        )
    return Exchange(
        id=new_id(raw.started),
        request=request,
        response=response,
        error=raw.error,
        client_addr=raw.client,
        tags=raw.tags,
    )
