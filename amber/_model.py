"""The exchange model: one captured request/response pair.

Everything amber stores, replays, compares or turns into a test is an `Exchange`. Bodies are
kept as bytes, *decoded* from their content-encoding (the original encoding is noted in
`content_encoding`), so that the sanitizer, the comparer and the test generator all work on
the same representation. Headers are ordered multi-maps: a tuple of `(name, value)` pairs
that keeps repeated headers and their order, names as received.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import re
import time
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Literal

import orjson

__all__ = [
    "HOP_BY_HOP",
    "DEFAULT_REQUEST_ID_HEADERS",
    "Exchange",
    "Headers",
    "Redaction",
    "RedactionAction",
    "Request",
    "Response",
    "content_encoding",
    "decode_header_bytes",
    "dumps_json",
    "extract_request_id",
    "header_get",
    "header_get_all",
    "loads_json",
    "new_id",
    "printable",
    "text_bytes",
]

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "proxy-connection",
        "content-length",
        "content-encoding",  # bodies are stored decoded: they are sent decoded
        "host",
    }
)
"""Headers a replayed or generated request never carries as recorded: hop-by-hop ones,
framing (the sender computes it; bodies are stored decoded) and `Host` (the target's)."""

Headers = tuple[tuple[str, str], ...]
"""An ordered multi-map of header fields: `((name, value), ...)`, repeats kept."""

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_id(timestamp: float | None = None) -> str:
    """Return a new amber id: a 26-character ULID, sortable by capture time.

    ```python
    >>> len(new_id(946681200.0))
    26
    ```
    """
    ms = int((time.time() if timestamp is None else timestamp) * 1000)
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def decode_header_bytes(raw: bytes) -> str:
    """Decode a header name or value: UTF-8 when valid, else Latin-1 (HTTP's legacy charset).

    Latin-1 never fails, so non-UTF-8 header bytes from production traffic are kept rather
    than rejected; the mapping back to bytes is `value.encode("latin-1")` for those values.
    """
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


# -- text that is not UTF-8 -------------------------------------------------------------
#
# mitmproxy decodes a request line's raw bytes with `surrogateescape`: `GET /p/caf\xe9` has
# the path '/p/caf\udce9'. The model keeps such strings as they are (replaying encodes them
# back to the same bytes); these helpers let them through everything that needs UTF-8.

_UNPRINTABLE = re.compile("[\x00\ud800-\udfff]")


def _escape_char(m: re.Match[str]) -> str:
    code = ord(m.group(0))
    if 0xDC80 <= code <= 0xDCFF:  # a raw byte kept by surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    r"""`text` with NUL and lone surrogates written as escapes: a raw byte kept by
    `surrogateescape` becomes `\xe9`, NUL `\x00`, any other lone surrogate `\ud800`.

    The result is valid UTF-8 without NUL, so a terminal, a database text column or a
    log line takes it. It is for showing (and for the store's index keys, which keep the
    exact value elsewhere): an ordinary string that already reads `\xe9` is unchanged, so
    the escape is not reversible on its own.

    ```python
    >>> printable("/p/caf\udce9")
    '/p/caf\\xe9'
    ```
    """
    if text.isascii() and "\x00" not in text:
        return text
    return _UNPRINTABLE.sub(_escape_char, text)


def text_bytes(text: str) -> bytes:
    """The bytes a string stands for: UTF-8, with the raw bytes `surrogateescape` kept put
    back as they were (any other lone surrogate as its 3-byte `surrogatepass` form)."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def dumps_json(
    obj: Any,
    *,
    indent: bool = False,
    newline: bool = False,
    default: Callable[[Any], Any] | None = None,
) -> bytes:
    """JSON bytes of `obj`, with orjson; a string holding lone surrogates (which orjson
    refuses) makes it fall back to the standard library, which writes them as `\\udce9`
    escapes: JSON's own syntax, read back as the same string by `loads_json`, Python's
    `json` and JavaScript. Everything else about the output is the same JSON. `default`,
    as in both libraries, turns a value JSON cannot represent into one it can.

    *Raises:* `TypeError` (orjson's) for a value JSON cannot represent.
    """
    option = (orjson.OPT_INDENT_2 if indent else 0) | (orjson.OPT_APPEND_NEWLINE if newline else 0)
    try:
        return orjson.dumps(obj, default=default, option=option)
    except orjson.JSONEncodeError as e:
        try:
            text = json.dumps(
                obj,
                ensure_ascii=True,
                allow_nan=False,
                default=default,
                indent=2 if indent else None,
                separators=(",", ": ") if indent else (",", ":"),
            )
        except (TypeError, ValueError):
            raise e from None
        return (text + "\n" if newline else text).encode("ascii")


def loads_json(data: bytes | str) -> Any:
    """Parse JSON with orjson, falling back to the standard library for text orjson
    refuses but JSON allows: lone surrogate escapes (`\\udce9`), as `dumps_json` writes.

    *Raises:* orjson's `JSONDecodeError` (a `ValueError`) when neither can parse it.
    """
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as e:
        try:
            return json.loads(data)
        except ValueError:
            raise e from None


_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_RUN = b"0" * 19
_WS = b" \t\r\n"


def has_long_integer(body: bytes) -> bool:
    """Whether valid JSON text has an integer token of 19 digits or more (orjson reads
    those as floats). A few C passes (a regex costs 4x the parse); a digit run inside a
    string (a zero-padded id) is told apart by what surrounds it, and the rare string that
    fools that only costs time."""
    t = body.translate(_DIGITS_AS_ZERO)
    i = t.find(_LONG_RUN)
    n = len(t)
    while i >= 0:
        j = i + len(_LONG_RUN)
        while j < n and t[j] == 48:  # b"0"
            j += 1
        k = i - 1
        if k >= 0 and t[k] == 45:  # b"-"
            k -= 1
        while k >= 0 and t[k] in _WS:
            k -= 1
        m = j
        while m < n and t[m] in _WS:
            m += 1
        if (k < 0 or t[k] in b":,[") and (m >= n or t[m] in b",}]"):
            return True
        i = t.find(_LONG_RUN, j)
    return False


def exact_json_loads(body: bytes) -> Any:
    """Parse JSON like `orjson.loads`, with integers beyond 64 bits kept exact (orjson
    makes them floats, and two ids 1 apart would compare equal); what replay's comparison
    and the target sanitizer both parse with. Raises `orjson.JSONDecodeError`."""
    value = orjson.loads(body)
    if has_long_integer(body):
        value = json.loads(body)  # valid JSON (orjson said so); exact integers
    return value


def header_get(headers: Headers, name: str, default: str | None = None) -> str | None:
    """The first value of header `name` (case-insensitive), or `default`."""
    lname = name.lower()
    for k, v in headers:
        if k.lower() == lname:
            return v
    return default


def content_encoding(headers: Headers) -> str | None:
    """The first `Content-Encoding` value, stripped; None when absent, empty or `identity`.

    ```python
    >>> content_encoding((("Content-Encoding", " gzip "),))
    'gzip'
    >>> content_encoding((("content-encoding", "identity"),)) is None
    True
    ```
    """
    value = (header_get(headers, "content-encoding") or "").strip()
    return value if value and value.lower() != "identity" else None


def header_get_all(headers: Headers, name: str) -> list[str]:
    """Every value of header `name` (case-insensitive), in order."""
    lname = name.lower()
    return [v for k, v in headers if k.lower() == lname]


# Headers that carry a request or trace id, most specific first. `traceparent` and
# `x-amzn-trace-id` hold the id inside a structured value; see `_trace_value`.
DEFAULT_REQUEST_ID_HEADERS: tuple[str, ...] = (
    "x-request-id",
    "x-correlation-id",
    "request-id",
    "x-amzn-requestid",
    "traceparent",
    "x-amzn-trace-id",
    "x-cloud-trace-context",
    "x-b3-traceid",
    "sentry-trace",
)

_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}", re.I)
_AMZN_ROOT = re.compile(r"(?:^|;)\s*Root=([^;]+)", re.I)


def _trace_value(name: str, value: str) -> str | None:
    value = value.strip()
    if not value:
        return None
    if name == "traceparent":
        m = _TRACEPARENT.match(value)
        return m.group(1).lower() if m else None
    if name == "x-amzn-trace-id":
        m = _AMZN_ROOT.search(value)
        return m.group(1).strip() if m else None
    if name in ("x-cloud-trace-context", "sentry-trace"):
        return value.split("/")[0].split("-")[0] or None
    return value[:200]


def extract_request_id(
    request_headers: Headers,
    response_headers: Headers = (),
    extra_names: Sequence[str] = (),
) -> str | None:
    """Lift the request/trace id from common headers (and configured `extra_names`).

    Configured names are tried first, then `DEFAULT_REQUEST_ID_HEADERS`; request headers
    before response headers (many servers mint the id and only send it back).
    """
    names = [n.lower() for n in extra_names] + [
        n for n in DEFAULT_REQUEST_ID_HEADERS if n not in {e.lower() for e in extra_names}
    ]
    for headers in (request_headers, response_headers):
        if not headers:
            continue
        index: dict[str, str] = {}
        for k, v in headers:
            index.setdefault(k.lower(), v)
        for name in names:
            if name in index:
                found = _trace_value(name, index[name])
                if found:
                    return found
    return None


def _charset(content_type: str | None) -> str:
    if content_type:
        m = re.search(r"charset=\"?([\w.:-]+)", content_type, re.I)
        if m:
            return m.group(1)
        if "json" in content_type.lower():
            return "utf-8"
    return "utf-8"


class _Message:
    """Decoded views shared by `Request` and `Response`."""

    headers: Headers
    body: bytes

    @property
    def content_type(self) -> str | None:
        """The Content-Type header, or None."""
        return header_get(self.headers, "content-type")

    def header(self, name: str, default: str | None = None) -> str | None:
        """The first value of header `name` (case-insensitive)."""
        return header_get(self.headers, name, default)

    @property
    def text(self) -> str:
        """The body decoded with its charset; undecodable bytes become U+FFFD."""
        try:
            return self.body.decode(_charset(self.content_type), errors="replace")
        except LookupError:  # an unknown charset name in the header
            return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON.

        *Raises:* `ValueError` when the body is not valid JSON.
        """
        return json.loads(self.body)

    @property
    def is_binary(self) -> bool:
        """True when the body is not text (not valid UTF-8 or contains NUL bytes)."""
        if not self.body:
            return False
        if b"\x00" in self.body[:8192]:
            return True
        try:
            self.body.decode(_charset(self.content_type))
        except (UnicodeDecodeError, LookupError):
            return True
        return False


@dataclass(slots=True)
class Request(_Message):
    """The request half of an exchange. `path` excludes the query; `query` excludes `?`."""

    method: str
    scheme: str
    host: str
    port: int
    path: str
    query: str = ""
    http_version: str = "HTTP/1.1"
    headers: Headers = ()
    body: bytes = b""
    content_encoding: str | None = None
    host_header: str | None = None
    timestamp_start: float = 0.0
    timestamp_end: float | None = None
    body_truncated: bool = False

    @property
    def target(self) -> str:
        """Path plus query, as on the request line."""
        return f"{self.path}?{self.query}" if self.query else self.path

    @property
    def url(self) -> str:
        default = (self.scheme == "http" and self.port == 80) or (
            self.scheme == "https" and self.port == 443
        )
        netloc = self.host if default else f"{self.host}:{self.port}"
        if ":" in self.host and not self.host.startswith("["):
            netloc = f"[{self.host}]" if default else f"[{self.host}]:{self.port}"
        return f"{self.scheme}://{netloc}{self.target}"


@dataclass(slots=True)
class Response(_Message):
    """The response half of an exchange."""

    status: int
    reason: str = ""
    http_version: str = "HTTP/1.1"
    headers: Headers = ()
    body: bytes = b""
    content_encoding: str | None = None
    timestamp_start: float | None = None
    timestamp_end: float | None = None
    body_truncated: bool = False


RedactionAction = Literal["mask", "pseudonym", "drop"]
"""How the sanitizer changed a value: `mask` (a fixed marker), `pseudonym` (a consistent
fake) or `drop` (removed: userinfo in a URL, a body that could not be decoded)."""


@dataclass(slots=True, frozen=True)
class Redaction:
    """One change the sanitizer made: which rule, where, and how. Never the original value.

    `location` is a dotted locator such as `request.headers.authorization`,
    `request.query.token`, `response.body$.user.email` or `request.body:text`.
    `action` is a `RedactionAction`: `mask`, `pseudonym` or `drop`.
    """

    rule: str
    location: str
    action: RedactionAction = "mask"


@dataclass(slots=True)
class Exchange:
    """One captured request/response pair (or a request and the error that ended it)."""

    id: str
    request: Request
    response: Response | None = None
    error: str | None = None
    client_addr: str | None = None
    request_id: str | None = None
    route: str = ""
    tags: tuple[str, ...] = ()
    redactions: tuple[Redaction, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> int | None:
        return self.response.status if self.response else None

    @property
    def truncated(self) -> bool:
        """True when any body was capped at capture time (see `Request.body_truncated`)."""
        return self.request.body_truncated or bool(self.response and self.response.body_truncated)

    @property
    def started_at(self) -> float:
        return self.request.timestamp_start

    @property
    def duration_ms(self) -> float | None:
        end = self.response.timestamp_end if self.response else None
        if end is None:
            return None
        return max(0.0, (end - self.request.timestamp_start) * 1000.0)

    # -- serialisation -------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; bodies as text when UTF-8, else base64 (`body_encoding`)."""

        def body(msg: Request | Response) -> dict[str, Any]:
            try:
                return {"body": msg.body.decode("utf-8"), "body_encoding": "utf-8"}
            except UnicodeDecodeError:
                return {
                    "body": base64.b64encode(msg.body).decode("ascii"),
                    "body_encoding": "base64",
                }

        def message(msg: Request | Response) -> dict[str, Any]:
            d: dict[str, Any] = {}
            for f in dataclasses.fields(msg):
                if f.name == "body":
                    continue
                v = getattr(msg, f.name)
                d[f.name] = [list(h) for h in v] if f.name == "headers" else v
            d.update(body(msg))
            return d

        return {
            "id": self.id,
            "request_id": self.request_id,
            "route": self.route,
            "client_addr": self.client_addr,
            "tags": list(self.tags),
            "error": self.error,
            "request": message(self.request),
            "response": message(self.response) if self.response else None,
            "redactions": [dataclasses.asdict(r) for r in self.redactions],
            "meta": self.meta,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Exchange:
        """Inverse of `to_dict`.

        *Raises:* `KeyError`/`TypeError`/`ValueError` on a malformed dict.
        """

        def body(m: Mapping[str, Any]) -> bytes:
            raw = m.get("body") or ""
            if m.get("body_encoding") == "base64":
                return base64.b64decode(raw)
            return str(raw).encode("utf-8")

        def headers(items: Iterable[Sequence[str]]) -> Headers:
            return tuple((str(k), str(v)) for k, v in items)

        def fields_of(kind: type, m: Mapping[str, Any]) -> dict[str, Any]:
            names = {f.name for f in dataclasses.fields(kind)}
            out = {k: v for k, v in m.items() if k in names and k not in ("body", "headers")}
            out["headers"] = headers(m.get("headers") or ())
            out["body"] = body(m)
            return out

        req = Request(**fields_of(Request, d["request"]))
        resp_d = d.get("response")
        resp = Response(**fields_of(Response, resp_d)) if resp_d else None
        return cls(
            id=d["id"],
            request=req,
            response=resp,
            error=d.get("error"),
            client_addr=d.get("client_addr"),
            request_id=d.get("request_id"),
            route=d.get("route") or "",
            tags=tuple(d.get("tags") or ()),
            redactions=tuple(Redaction(**r) for r in d.get("redactions") or ()),
            meta=dict(d.get("meta") or {}),
        )
