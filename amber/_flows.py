"""mitmproxy flows to exchanges, reading `mitmdump -w` files, and sniffing import formats.

Flow files are read with mitmproxy's own `FlowReader`, which migrates older flow formats;
a file from a newer mitmproxy (or not a flow file at all) becomes an `ImportFormatError`
that says how to get the traffic in anyway (export it as HAR from that mitmproxy).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import BinaryIO
from typing import Literal

from mitmproxy import exceptions
from mitmproxy import http
from mitmproxy import io as mitmio
from mitmproxy import version

from amber._model import Exchange
from amber._model import Headers
from amber._model import Request
from amber._model import Response
from amber._model import decode_header_bytes
from amber._model import extract_request_id
from amber._model import new_id
from amber.errors import ImportFormatError

__all__ = ["detect_format", "exchange_from_flow", "read_flows"]


def _headers(headers: http.Headers) -> Headers:
    return tuple((decode_header_bytes(k), decode_header_bytes(v)) for k, v in headers.fields)


def _has_body(msg: http.Message, is_request: bool) -> bool:
    length = (msg.headers.get("content-length") or "").strip()
    if length:
        return length != "0"
    return "transfer-encoding" in msg.headers or not is_request


def _body(msg: http.Message, decode: bool, is_request: bool) -> tuple[bytes, str | None, bool]:
    """`(body, content_encoding, truncated)` of a request or response."""
    raw = msg.raw_content
    if raw is None:  # streamed (`stream_large_bodies`): the body was not kept
        return b"", None, _has_body(msg, is_request)
    if not decode:
        return raw, None, False
    ce = (msg.headers.get("content-encoding") or "").strip().lower()
    if not ce or ce == "identity":
        return raw, None, False
    try:
        content = msg.get_content(strict=True)
    except ValueError:
        # Not actually encoded as it claims: keep the bytes as sent; nothing was decoded.
        return raw, None, False
    return content or b"", ce, False


def _addr(peername: object) -> str | None:
    if not isinstance(peername, tuple) or len(peername) < 2:
        return None
    host, port = str(peername[0]), peername[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def exchange_from_flow(flow: http.HTTPFlow, *, decode: bool = True) -> Exchange:
    """Turn a mitmproxy HTTP flow into an `Exchange`.

    **Parameters:**

    - `decode`: decode bodies from their Content-Encoding (gzip, br, zstd, deflate) and
      note the encoding in `content_encoding`. A body that does not decode as its header
      claims is kept as sent, with `content_encoding=None`. With `decode=False` bodies
      are the raw bytes as sent and `content_encoding` is None.

    Headers come from the raw fields (repeats, order and non-UTF-8 bytes kept, see
    `decode_header_bytes`); `host_header` is the Host header (HTTP/1) or `:authority`
    (HTTP/2, HTTP/3); `client_addr` is `host:port` (`[v6]:port`) of the client; `error`
    is `flow.error.msg`. A status-0 response (what mitmproxy's HAR import makes of a request
    that got none) counts as no response. A body mitmproxy streamed without keeping it is empty with
    `body_truncated` set.
    """
    req = flow.request
    target = decode_header_bytes(req.path.encode("utf-8", "surrogateescape"))
    path, _, query = target.partition("?")
    req_body, req_ce, req_trunc = _body(req, decode, True)
    req_headers = _headers(req.headers)
    request = Request(
        method=req.method,
        scheme=req.scheme,
        host=req.host,
        port=req.port,
        path=path,
        query=query,
        http_version=req.http_version,
        headers=req_headers,
        body=req_body,
        content_encoding=req_ce,
        host_header=req.host_header,
        timestamp_start=req.timestamp_start,
        timestamp_end=req.timestamp_end,
        body_truncated=req_trunc,
    )
    response: Response | None = None
    error = flow.error.msg if flow.error else None
    if flow.response is not None and flow.response.status_code == 0:
        # mitmproxy's HAR import turns a request that got no response into status 0
        error = error or "no response recorded"
    elif flow.response is not None:
        resp = flow.response
        resp_body, resp_ce, resp_trunc = _body(resp, decode, False)
        response = Response(
            status=resp.status_code,
            reason=decode_header_bytes(resp.reason.encode("latin-1")),
            http_version=resp.http_version,
            headers=_headers(resp.headers),
            body=resp_body,
            content_encoding=resp_ce,
            timestamp_start=resp.timestamp_start,
            timestamp_end=resp.timestamp_end,
            body_truncated=resp_trunc,
        )
    return Exchange(
        id=new_id(req.timestamp_start),
        request=request,
        response=response,
        error=error,
        client_addr=_addr(flow.client_conn.peername) if flow.client_conn else None,
        request_id=extract_request_id(req_headers, response.headers if response else ()),
    )


# -- flow files -------------------------------------------------------------------------

_HARDUMP_HINT = (
    "export it as HAR from that mitmproxy (mitmdump -nr FILE --set hardump=out.har) "
    "and import the HAR"
)
_VERSION_IN_ERROR = re.compile(r"flow format version (.+?)(?:, please update mitmproxy)?\.?$")


def read_flows(source: BinaryIO | str | os.PathLike[str]) -> Iterator[Exchange]:
    """Read the HTTP exchanges of a mitmproxy flow file (`mitmdump -w FILE`).

    Older flow formats are migrated by mitmproxy. WebSocket flows and non-HTTP flows
    (TCP, UDP, DNS) are skipped. It is a generator: errors surface while iterating.

    *Raises:* `ImportFormatError` when the file is from a newer (or unknown) mitmproxy
    version, is not a flow file (HAR and JSONL included: use their readers), or is
    damaged part-way.
    """
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as fp:
            yield from _read_flows(fp, os.fspath(source))
    else:
        name = getattr(source, "name", None)
        yield from _read_flows(source, name if isinstance(name, str) else "<flows>")


def _peek(fp: BinaryIO, n: int) -> bytes | None:
    peek = getattr(fp, "peek", None)
    if peek is not None:
        return bytes(peek(n)[:n])
    if fp.seekable():
        pos = fp.tell()
        head = fp.read(n)
        fp.seek(pos)
        return head
    return None


def _read_flows(fp: BinaryIO, name: str) -> Iterator[Exchange]:
    head = _peek(fp, 64)
    if head is not None:
        sniffed = head.lstrip(b"\xef\xbb\xbf \t\r\n")
        if sniffed.startswith((b"{", b"[")):
            raise ImportFormatError(
                f"{name}: this is JSON (HAR or JSONL), not a mitmproxy flow file: "
                "import it as HAR or JSONL"
            )
        if head and not head[:1].isdigit():
            raise ImportFormatError(
                f"{name}: not a mitmproxy flow file (it does not start with a tnetstring "
                "length); write flows with mitmdump -w FILE, or import a HAR"
            )
    stream = iter(mitmio.FlowReader(fp).stream())
    count = 0
    while True:
        try:
            f = next(stream)
        except StopIteration:
            return
        except (exceptions.FlowReadException, KeyError, ValueError, TypeError) as e:
            raise ImportFormatError(_read_error(name, e, count)) from e
        count += 1
        if not isinstance(f, http.HTTPFlow) or f.websocket is not None:
            continue
        yield exchange_from_flow(f)


def _read_error(name: str, e: Exception, count: int) -> str:
    m = _VERSION_IN_ERROR.search(str(e))
    ours = version.FLOW_FORMAT_VERSION
    if m:
        found = m.group(1)
        if found.isdigit() and int(found) > ours:
            return (
                f"{name}: written by a newer mitmproxy (flow format {found}, this one "
                f"reads up to {ours}): {_HARDUMP_HINT}"
            )
        return (
            f"{name}: written in flow format {found}, which mitmproxy {version.VERSION} "
            f"cannot read: {_HARDUMP_HINT}"
        )
    if count == 0:
        return (
            f"{name}: not a mitmproxy flow file ({e}); write flows with mitmdump -w FILE, "
            "or import a HAR"
        )
    return (
        f"{name}: damaged after {count} flows ({e}): the file is truncated or corrupt; "
        "import what precedes it with a new capture, or export a HAR"
    )


_HAR_START = re.compile(rb'\A\{\s*"log"\s*:')
_TNETSTRING_START = re.compile(rb"\A\d{1,12}:")


def detect_format(path: str | os.PathLike[str]) -> Literal["har", "flows", "jsonl"]:
    """Tell a HAR file, an amber JSONL file and a mitmproxy flow file apart by their start.

    HAR is one JSON object whose first key is `log`; JSONL is one JSON object per line;
    flow files are tnetstrings (`<digits>:`).

    *Raises:* `ImportFormatError` for an empty file or anything else.
    """
    with open(path, "rb") as fp:
        head = fp.read(4096)
    name = os.fspath(path)
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    if not text:
        raise ImportFormatError(f"{name}: the file is empty; there is nothing to import")
    if _TNETSTRING_START.match(text):
        return "flows"
    if text.startswith(b"{"):
        return "har" if _HAR_START.match(text) else "jsonl"
    if text.startswith(b"\x78"):
        hint = "it looks zlib-compressed (.zhar?): decompress it to a .har and import that"
    else:
        hint = "export HAR, JSONL or a mitmproxy flow file (mitmdump -w) and import that"
    raise ImportFormatError(f"{name}: not HAR, JSONL or a mitmproxy flow file; {hint}")
