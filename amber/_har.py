"""HAR 1.2 export and import.

`write_har` streams: it writes the envelope by hand and one entry per line, so exporting a
million exchanges holds one exchange in memory. `read_har` reads HAR files from browsers
(Chrome, Firefox, Safari), proxies (mitmproxy, Charles, Fiddler) and test tools
(Playwright), and amber's own exports.

HAR cannot say everything an `Exchange` holds, so amber adds underscore fields (HAR's
convention for custom fields, which other tools ignore):

- on the entry: `_amber_id`, `_amber_route`, `_amber_request_id`, `_amber_tags`,
  `_amber_redactions`, `_amber_error`, `_amber_client_addr`, `_amber_meta`, and
  `_amber_timestamps` (the four exact epoch timestamps; HAR's own are rounded to ms);
- on `request` and `response`: `_amber_content_encoding`, `_amber_truncated`, and on
  `request` `_amber_host_header` and `_amber_target` (the raw path and query, when the URL
  had to percent-encode spaces, controls or non-ASCII); default values are left out.

An entry with `_amber_id` is read back exactly; any other entry is read tolerantly (see
`read_har`). A string holding raw non-UTF-8 bytes (kept by `surrogateescape`: a path
`/p/caf\\udce9`) is written with JSON's `\\udce9` escape (`dumps_json`) and read back as
the same string; in `request.url` such a byte is percent-encoded as itself (`%E9`).
Request bodies that are not text are written as base64 with
`postData.encoding = "base64"`, which mirrors `content.encoding` but is not in HAR 1.2:
other tools show such a body as its base64 text.

One module because export and import are one mapping read in both directions: every
`_amber_*` field, version and cookie rule is written and read here, and a change to one
direction has to be made to the other.
"""

from __future__ import annotations

import base64
import codecs
import contextlib
import email.utils
import ipaddress
import os
import re
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from datetime import UTC
from datetime import datetime
from typing import Any
from typing import BinaryIO
from typing import get_args
from urllib.parse import parse_qsl
from urllib.parse import quote
from urllib.parse import quote_plus

import orjson

from amber._model import Exchange
from amber._model import Headers
from amber._model import Redaction
from amber._model import RedactionAction
from amber._model import Request
from amber._model import Response
from amber._model import content_encoding
from amber._model import dumps_json
from amber._model import extract_request_id
from amber._model import header_get
from amber._model import header_get_all
from amber._model import loads_json
from amber._model import new_id
from amber._model import text_bytes
from amber.errors import ImportFormatError

__all__ = ["read_har", "write_har"]

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_SKIPPED_SCHEMES = frozenset(
    {"data", "blob", "about", "chrome", "chrome-extension", "moz-extension", "file"}
)
_ACTIONS: tuple[RedactionAction, ...] = get_args(RedactionAction)


# -- shared helpers ---------------------------------------------------------------------

_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)


def _codec(content_type: str | None) -> str:
    """The codec that turns a body of this Content-Type into HAR text and back."""
    if content_type:
        m = _CHARSET.search(content_type)
        if m:
            try:
                return codecs.lookup(m.group(1)).name
            except LookupError:
                pass
    return "utf-8"


def _body_to_text(body: bytes, content_type: str | None) -> tuple[str, bool]:
    """`(text, is_base64)`: text when the body decodes losslessly, else base64."""
    if not body:
        return "", False
    if b"\x00" not in body:
        codec = _codec(content_type)
        try:
            text = body.decode(codec)
            if text.encode(codec) == body:
                return text, False
        except (UnicodeError, LookupError):
            pass
    return base64.b64encode(body).decode("ascii"), True


def _text_to_body(text: str, content_type: str | None) -> bytes:
    try:
        return text.encode(_codec(content_type))
    except (UnicodeError, LookupError):
        return text.encode("utf-8", "surrogatepass")


def _iso(ts: float) -> str:
    """ISO 8601 in UTC with milliseconds, as Chrome writes it: `2024-01-05T10:00:00.123Z`."""
    dt = datetime.fromtimestamp(ts, UTC)
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{dt.microsecond // 1000:03d}Z"


_ISO_FRACTION = re.compile(r"(\.\d{1,6})\d*")


def _parse_iso(value: str) -> float:
    """Parse HAR's `startedDateTime`; naive times are taken as UTC. Raises ValueError."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    text = _ISO_FRACTION.sub(lambda m: m.group(1), text, count=1)
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def _ms(seconds: float) -> float:
    return round(max(0.0, seconds) * 1000.0, 3)


# -- writing ----------------------------------------------------------------------------


def write_har(exchanges: Iterable[Exchange], fp: BinaryIO, *, creator_version: str) -> int:
    """Write `exchanges` to `fp` as a HAR 1.2 file; return how many were written.

    Streams: the envelope is written by hand and each entry is serialised on its own line,
    so memory use does not grow with the number of exchanges. The result opens in
    browser devtools (Network panel, "Import HAR") and in mitmproxy (`mitmweb -r x.har`).

    *Raises:* `TypeError` when an exchange's `meta` holds a value JSON cannot represent.
    """
    creator = orjson.dumps({"name": "amber", "version": creator_version})
    fp.write(b'{"log":{"version":"1.2","creator":' + creator + b',"pages":[],"entries":[\n')
    count = 0
    for ex in exchanges:
        if count:
            fp.write(b",\n")
        fp.write(dumps_json(_entry(ex)))
        count += 1
    fp.write(b"\n]}}\n" if count else b"]}}\n")
    return count


def _name_values(pairs: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": k, "value": v} for k, v in pairs]


def _request_cookies(headers: Headers) -> list[dict[str, Any]]:
    cookies: list[dict[str, Any]] = []
    for header in header_get_all(headers, "cookie"):
        for part in header.split(";"):
            name, sep, value = part.strip().partition("=")
            if name or sep:
                cookies.append({"name": name.strip(), "value": value.strip()})
    return cookies


def _response_cookies(headers: Headers) -> list[dict[str, Any]]:
    cookies: list[dict[str, Any]] = []
    for header in header_get_all(headers, "set-cookie"):
        first, *attrs = header.split(";")
        name, _, value = first.partition("=")
        cookie: dict[str, Any] = {"name": name.strip(), "value": value.strip()}
        for attr in attrs:
            key, _, val = attr.strip().partition("=")
            key = key.strip().lower()
            if key in ("path", "domain"):
                cookie[key] = val.strip()
            elif key == "expires":
                with contextlib.suppress(TypeError, ValueError, IndexError):
                    cookie["expires"] = email.utils.parsedate_to_datetime(val).isoformat()
            elif key == "httponly":
                cookie["httpOnly"] = True
            elif key == "secure":
                cookie["secure"] = True
            elif key == "samesite":
                cookie["sameSite"] = val.strip()
        cookies.append(cookie)
    return cookies


def _timings(ex: Exchange) -> tuple[float, float, float]:
    """HAR's send/wait/receive in ms; unknown points take the previous known one."""
    req, resp = ex.request, ex.response
    start = req.timestamp_start
    req_end = req.timestamp_end if req.timestamp_end is not None else start
    resp_start = req_end
    resp_end = req_end
    if resp is not None:
        if resp.timestamp_start is not None:
            resp_start = resp.timestamp_start
        resp_end = resp.timestamp_end if resp.timestamp_end is not None else resp_start
    return _ms(req_end - start), _ms(resp_start - req_end), _ms(resp_end - resp_start)


_URL_UNSAFE = re.compile(r"[^\x21-\x7e]")


def _url_safe(target: str) -> str:
    """Percent-encode (as UTF-8) what a URL cannot hold: controls, spaces, non-ASCII; a raw
    byte kept by `surrogateescape` as that byte (`%E9`)."""
    return _URL_UNSAFE.sub(lambda m: quote(text_bytes(m.group(0)), safe=""), target)


def _har_version(version: str) -> str:
    # Chrome's spelling, which mitmproxy's HAR reader (and devtools) recognise as HTTP/2;
    # read back as mitmproxy's "HTTP/2.0".
    return "http/2.0" if version == "HTTP/2.0" else version


def _exact_version(value: Any) -> str:
    text = "" if value is None else str(value)
    return "HTTP/2.0" if text == "http/2.0" else text


def _request_obj(req: Request) -> dict[str, Any]:
    url = req.url
    target = req.target
    safe_target = _url_safe(target)
    if safe_target != target:
        url = url[: len(url) - len(target)] + safe_target
    obj: dict[str, Any] = {
        "method": req.method,
        "url": url,
        "httpVersion": _har_version(req.http_version),
        "cookies": _request_cookies(req.headers),
        "headers": _name_values(req.headers),
        "queryString": _name_values(parse_qsl(req.query, keep_blank_values=True)),
        "headersSize": -1,
        "bodySize": -1 if req.content_encoding else len(req.body),
    }
    if req.body:
        mime = req.content_type or ""
        text, b64 = _body_to_text(req.body, mime)
        post: dict[str, Any] = {"mimeType": mime, "text": text}
        if b64:
            post["encoding"] = "base64"
        elif "application/x-www-form-urlencoded" in mime.lower():
            post["params"] = _name_values(parse_qsl(text, keep_blank_values=True))
        obj["postData"] = post
    if safe_target != target:
        obj["_amber_target"] = target
    if req.content_encoding is not None:
        obj["_amber_content_encoding"] = req.content_encoding
    if req.host_header is not None:
        obj["_amber_host_header"] = req.host_header
    if req.body_truncated:
        obj["_amber_truncated"] = True
    return obj


def _response_obj(resp: Response | None, error: str | None) -> dict[str, Any]:
    if resp is None:
        # Chrome's shape for a request that got no response.
        return {
            "status": 0,
            "statusText": "",
            "httpVersion": "",
            "cookies": [],
            "headers": [],
            "content": {"size": 0, "mimeType": ""},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": -1,
            "_error": error,
        }
    mime = resp.content_type or ""
    text, b64 = _body_to_text(resp.body, mime)
    content: dict[str, Any] = {"size": len(resp.body), "mimeType": mime, "text": text}
    if b64:
        content["encoding"] = "base64"
    obj: dict[str, Any] = {
        "status": resp.status,
        "statusText": resp.reason,
        "httpVersion": _har_version(resp.http_version),
        "cookies": _response_cookies(resp.headers),
        "headers": _name_values(resp.headers),
        "content": content,
        "redirectURL": resp.header("location") or "",
        "headersSize": -1,
        "bodySize": -1 if resp.content_encoding else len(resp.body),
    }
    if resp.content_encoding is not None:
        obj["_amber_content_encoding"] = resp.content_encoding
    if resp.body_truncated:
        obj["_amber_truncated"] = True
    return obj


def _entry(ex: Exchange) -> dict[str, Any]:
    send, wait, receive = _timings(ex)
    req, resp = ex.request, ex.response
    entry: dict[str, Any] = {
        "startedDateTime": _iso(req.timestamp_start),
        "time": round(send + wait + receive, 3),
        "request": _request_obj(req),
        "response": _response_obj(resp, ex.error),
        "cache": {},
        "timings": {
            "blocked": -1,
            "dns": -1,
            "connect": -1,
            "ssl": -1,
            "send": send,
            "wait": wait,
            "receive": receive,
        },
        "_amber_id": ex.id,
        "_amber_route": ex.route,
        "_amber_request_id": ex.request_id,
        "_amber_tags": list(ex.tags),
        "_amber_redactions": [
            {"rule": r.rule, "location": r.location, "action": r.action} for r in ex.redactions
        ],
        "_amber_error": ex.error,
        "_amber_client_addr": ex.client_addr,
        "_amber_timestamps": {
            "request_start": req.timestamp_start,
            "request_end": req.timestamp_end,
            "response_start": resp.timestamp_start if resp else None,
            "response_end": resp.timestamp_end if resp else None,
        },
    }
    if ex.meta:
        entry["_amber_meta"] = ex.meta
    return entry


# -- reading ----------------------------------------------------------------------------


class _Bad(Exception):
    """An entry cannot be read: `field` is the dotted HAR path, `problem` what is wrong."""

    def __init__(self, field: str, problem: str = "missing") -> None:
        super().__init__(field, problem)
        self.field = field
        self.problem = problem


def read_har(source: BinaryIO | str | os.PathLike[str]) -> Iterator[Exchange]:
    """Read the exchanges of a HAR file (an open binary file or a path).

    Tolerant of what browsers and tools leave out: optional fields may be missing, bodies
    may be base64 (`content.encoding == "base64"`), `postData` may have only `params`, a
    response may be missing or have status 0 (the exchange then has no response and
    `error` is the entry's `_error`, or "no response recorded"), timings may be absent.
    A response without `content.text` but with `content.size > 0` gets an empty body with
    `body_truncated` set. WebSocket entries and browser-internal URLs (`data:`, `blob:`,
    extensions) are skipped. Each exchange gets a new id and its request id lifted from
    the headers; `route` is left empty for the caller. Entries written by amber (with
    `_amber_id`) are restored exactly.

    Amber's own streaming layout is read one entry at a time; any other HAR is loaded
    whole. It is a generator, so errors surface while iterating.

    *Raises:* `ImportFormatError` for input that is not HAR or lacks a required field
    (`log`, `log.entries`, an entry's `request.method`/`request.url`), naming the entry.
    """
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as fp:
            yield from _read(fp, os.fspath(source))
    else:
        name = getattr(source, "name", None)
        yield from _read(source, name if isinstance(name, str) else "<HAR>")


_AMBER_HEAD = re.compile(
    rb'^\{"log":\{"version":"1\.2","creator":\{"name":"amber","version":"(?:[^"\\]|\\.)*"\},'
    rb'"pages":\[\],"entries":\[\n$'
)


def _read(fp: BinaryIO, name: str) -> Iterator[Exchange]:
    first = fp.readline(65536)
    if first.startswith(b"\xef\xbb\xbf"):  # a BOM, as Fiddler writes
        first = first[3:]
    if _AMBER_HEAD.match(first):
        yield from _read_amber_stream(fp, name)
        return
    data = first + fp.read()
    try:
        doc = loads_json(data)
    except ValueError as e:
        raise ImportFormatError(_invalid_json(name, data, e)) from e
    log = doc.get("log") if isinstance(doc, dict) else None
    if not isinstance(log, dict):
        raise ImportFormatError(
            f"{name}: not a HAR file: no top-level 'log' object; export HAR 1.2 from the "
            "browser or proxy and import that"
        )
    entries = log.get("entries")
    if not isinstance(entries, list):
        raise ImportFormatError(
            f"{name}: not a HAR file: 'log.entries' is missing or not a list; "
            "export HAR 1.2 and import that"
        )
    del data, doc
    for index, entry in enumerate(entries):
        ex = _entry_or_error(entry, index, name)
        if ex is not None:
            yield ex


def _invalid_json(name: str, data: bytes, e: ValueError) -> str:
    """What to say about a HAR file that is not JSON: a file cut short (the parser ran out
    of data, as when a copy or a download stopped) is to be exported or copied again; any
    other is not a HAR file. The parser's message names a position, never the content."""
    pos = getattr(e, "pos", None)
    if getattr(e, "msg", "") == "unexpected end of data" or (
        isinstance(pos, int) and pos >= len(data.rstrip())
    ):
        return (
            f"{name}: the file ends in the middle of its JSON ({e}): it is truncated; "
            "export or copy it again, whole, and import that"
        )
    return (
        f"{name}: not a HAR file: invalid JSON ({e}); export HAR 1.2 from the browser "
        "or proxy and import that"
    )


def _read_amber_stream(fp: BinaryIO, name: str) -> Iterator[Exchange]:
    """The entries of a HAR file amber wrote, a line each; a file that stops before the
    closing `]}}` line (a copy cut at a line end) is reported as truncated, after the
    entries it holds."""
    index = 0
    closed = False
    for line in fp:
        stripped = line.strip()
        if stripped == b"]}}":
            closed = True
            continue
        if stripped == b"":
            continue
        if stripped.endswith(b","):
            stripped = stripped[:-1]
        try:
            entry = loads_json(stripped)
        except ValueError as e:
            raise ImportFormatError(
                f"{name}: entries[{index}]: invalid JSON ({e}); the file is damaged "
                "(truncated?), export it again"
            ) from e
        ex = _entry_or_error(entry, index, name)
        if ex is not None:
            yield ex
        index += 1
    if not closed:
        where = f"after entries[{index - 1}]" if index else "before its first entry"
        raise ImportFormatError(
            f"{name}: the file ends {where} without the closing ']}}}}' of an amber HAR "
            "export: it is truncated; export or copy it again, whole, and import that"
        )


def _redactions(items: Any) -> tuple[Redaction, ...]:
    """`_amber_redactions` as amber wrote them; an action outside the closed set is an
    error, not a new kind of redaction."""
    out = []
    for i, r in enumerate(items or ()):
        if not isinstance(r, dict):
            continue
        action = r.get("action", "mask")
        if action not in _ACTIONS:
            raise _Bad(
                f"_amber_redactions[{i}].action",
                f"expected one of {', '.join(_ACTIONS)}, got {action!r}",
            )
        out.append(Redaction(str(r.get("rule", "")), str(r.get("location", "")), action))
    return tuple(out)


def _entry_or_error(entry: Any, index: int, name: str) -> Exchange | None:
    try:
        if not isinstance(entry, dict):
            raise _Bad("entry", "not an object")
        return _exchange(entry)
    except _Bad as e:
        raise ImportFormatError(
            f"{name}: entries[{index}]: {e.field}: {e.problem}; fix or remove that entry "
            "and import again"
        ) from None


def _obj(parent: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Bad(where, "not an object")
    return value


def _headers(value: Any, where: str) -> Headers:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _Bad(where, "not a list")
    out: list[tuple[str, str]] = []
    for item in value:
        if isinstance(item, dict) and "name" in item:
            out.append((str(item["name"]), "" if item.get("value") is None else str(item["value"])))
        elif isinstance(item, (list, tuple)) and len(item) == 2:  # [name, value] (Slack)
            out.append((str(item[0]), str(item[1])))
        else:
            raise _Bad(where, "expected {name, value} objects")
    return tuple(out)


def _num(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and value > 0 else 0.0


def _opt_float(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def _http_version(value: Any) -> str:
    v = str(value or "").strip().upper()
    if v in ("", "UNKNOWN"):
        return "HTTP/1.1"
    if v.startswith(("H3", "HTTP/3")):
        return "HTTP/3"
    if v in ("H2", "H2C") or v.startswith("HTTP/2"):
        return "HTTP/2.0"
    return v if v.startswith("HTTP/") else "HTTP/1.1"


def _split_url(url: str, exact: bool) -> tuple[str, str, int, str, str] | None:
    """`(scheme, host, port, path, query)`, or None for a URL amber does not import."""
    m = re.match(r"([A-Za-z][A-Za-z0-9+.-]*):(//)?(.*)\Z", url, re.S)
    if not m:
        raise _Bad("request.url", f"not an absolute URL: {url[:80]!r}")
    scheme = m.group(1).lower()
    if scheme not in _DEFAULT_PORTS or not m.group(2):
        if scheme in _SKIPPED_SCHEMES:
            return None
        raise _Bad("request.url", f"not an http(s) URL: {url[:80]!r}")
    rest = m.group(3)
    cut = len(rest)
    for sep in "/?#":
        pos = rest.find(sep)
        if pos != -1:
            cut = min(cut, pos)
    netloc, target = rest[:cut], rest[cut:]
    netloc = netloc.rpartition("@")[2]
    if netloc.startswith("["):
        host, _, after = netloc[1:].partition("]")
        port_text = after[1:] if after.startswith(":") else ""
    elif netloc.count(":") > 1:  # IPv6 without brackets, as mitmproxy's savehar writes it
        host, _, port_text = netloc.rpartition(":")
        if not (port_text.isdigit() and _is_ipv6(host)):
            host, port_text = netloc, ""
    else:
        host, _, port_text = netloc.partition(":")
    if not host:
        raise _Bad("request.url", f"no host in {url[:80]!r}")
    try:
        port = int(port_text) if port_text else _DEFAULT_PORTS[scheme]
    except ValueError:
        raise _Bad("request.url", f"bad port in {url[:80]!r}") from None
    if not exact:
        target = target.partition("#")[0]
    path, _, query = target.partition("?")
    if not exact and not path:
        path = "/"
    return scheme, host, port, path, query


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _content_encoding(headers: Headers) -> str | None:
    value = content_encoding(headers)
    return value.lower() if value else None


def _request_body(post: Mapping[str, Any], headers: Headers) -> bytes:
    mime = header_get(headers, "content-type") or str(post.get("mimeType") or "")
    text = post.get("text")
    if isinstance(text, str):
        if str(post.get("encoding") or "").lower() == "base64":
            try:
                return base64.b64decode(text, validate=False)
            except ValueError:
                raise _Bad("request.postData.text", "invalid base64") from None
        return _text_to_body(text, mime)
    params = post.get("params")
    if not isinstance(params, list) or not params:
        return b""
    pairs = [
        (str(p.get("name", "")), str(p.get("value") or "")) for p in params if isinstance(p, dict)
    ]
    boundary = re.search(r"boundary=\"?([^\";]+)", mime, re.I)
    if "multipart/form-data" in mime.lower() and boundary:
        return _multipart(params, boundary.group(1))
    return "&".join(f"{quote_plus(k)}={quote_plus(v)}" for k, v in pairs).encode("ascii")


def _multipart(params: list[Any], boundary: str) -> bytes:
    parts: list[bytes] = []
    for p in params:
        if not isinstance(p, dict):
            continue
        disposition = f'form-data; name="{p.get("name", "")}"'
        if p.get("fileName"):
            disposition += f'; filename="{p["fileName"]}"'
        head = f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
        if p.get("contentType"):
            head += f"Content-Type: {p['contentType']}\r\n"
        parts.append((head + "\r\n").encode() + str(p.get("value") or "").encode() + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode()


def _response_body(content: Mapping[str, Any], headers: Headers) -> tuple[bytes, bool]:
    """`(body, truncated)`; a body the HAR left out (size > 0, no text) is truncated."""
    text = content.get("text")
    if not isinstance(text, str):
        return b"", _num(content.get("size")) > 0
    if str(content.get("encoding") or "").lower() == "base64":
        try:
            return base64.b64decode(text, validate=False), False
        except ValueError:
            raise _Bad("response.content.text", "invalid base64") from None
    mime = header_get(headers, "content-type") or str(content.get("mimeType") or "")
    return _text_to_body(text, mime), False


def _exchange(entry: dict[str, Any]) -> Exchange | None:
    exact = "_amber_id" in entry
    if entry.get("_resourceType") == "websocket" or "_webSocketMessages" in entry:
        return None
    req_d = entry.get("request")
    if not isinstance(req_d, dict):
        raise _Bad("request")
    method = req_d.get("method")
    if not isinstance(method, str) or not method:
        raise _Bad("request.method")
    url = req_d.get("url")
    if not isinstance(url, str) or not url:
        raise _Bad("request.url")
    parts = _split_url(url, exact)
    if parts is None:
        return None
    scheme, host, port, path, query = parts
    raw_target = req_d.get("_amber_target")
    if exact and isinstance(raw_target, str):
        path, _, query = raw_target.partition("?")

    # timestamps
    started = entry.get("startedDateTime")
    if started is None:
        start = 0.0
    else:
        try:
            start = _parse_iso(str(started))
        except ValueError:
            raise _Bad("startedDateTime", f"not an ISO 8601 time: {started!r}") from None
    timings = _obj(entry, "timings", "timings")
    pre = sum(_num(timings.get(k)) for k in ("blocked", "dns", "connect"))
    send, wait, receive = (_num(timings.get(k)) for k in ("send", "wait", "receive"))
    req_end: float | None = start + (pre + send) / 1000.0
    resp_start: float | None = req_end + wait / 1000.0 if req_end is not None else None
    if send + wait + receive == 0 and _num(entry.get("time")) > 0:
        resp_end: float | None = start + _num(entry.get("time")) / 1000.0
    else:
        resp_end = (resp_start or start) + receive / 1000.0
    stamps = entry.get("_amber_timestamps")
    if exact and isinstance(stamps, dict):
        start = _opt_float(stamps.get("request_start")) or start
        req_end = _opt_float(stamps.get("request_end"))
        resp_start = _opt_float(stamps.get("response_start"))
        resp_end = _opt_float(stamps.get("response_end"))

    # request
    req_headers = _headers(req_d.get("headers"), "request.headers")
    host_header: str | None
    if exact:
        host_header = req_d.get("_amber_host_header")
        req_ce = req_d.get("_amber_content_encoding")
    else:
        authority = header_get(req_headers, ":authority")
        req_headers = tuple((k, v) for k, v in req_headers if not k.startswith(":"))
        host_header = header_get(req_headers, "host") or authority
        req_ce = _content_encoding(req_headers)
    post = _obj(req_d, "postData", "request.postData")
    request = Request(
        method=method.upper() if not exact else method,
        scheme=scheme,
        host=host,
        port=port,
        path=path,
        query=query,
        http_version=(
            _exact_version(req_d.get("httpVersion"))
            if exact
            else _http_version(req_d.get("httpVersion"))
        ),
        headers=req_headers,
        body=_request_body(post, req_headers) if post else b"",
        content_encoding=req_ce,
        host_header=host_header,
        timestamp_start=start,
        timestamp_end=req_end,
        body_truncated=bool(req_d.get("_amber_truncated")),
    )

    # response
    resp_d = _obj(entry, "response", "response")
    status = resp_d.get("status")
    if status is not None and not isinstance(status, int):
        try:
            status = int(status)
        except (TypeError, ValueError):
            raise _Bad("response.status", f"not a number: {status!r}") from None
    response: Response | None = None
    har_error = resp_d.get("_error") or entry.get("_error")
    error: str | None = str(har_error) if har_error else None
    if status:
        resp_headers = _headers(resp_d.get("headers"), "response.headers")
        if not exact:
            resp_headers = tuple((k, v) for k, v in resp_headers if not k.startswith(":"))
        body, missing = _response_body(_obj(resp_d, "content", "response.content"), resp_headers)
        response = Response(
            status=status,
            reason=str(resp_d.get("statusText") or ""),
            http_version=(
                _exact_version(resp_d.get("httpVersion"))
                if exact
                else _http_version(resp_d.get("httpVersion"))
            ),
            headers=resp_headers,
            body=body,
            content_encoding=(
                resp_d.get("_amber_content_encoding") if exact else _content_encoding(resp_headers)
            ),
            timestamp_start=resp_start,
            timestamp_end=resp_end,
            body_truncated=bool(resp_d.get("_amber_truncated")) or (missing and not exact),
        )
    elif not exact and error is None:
        error = "no response recorded"

    if not exact:
        return Exchange(
            id=new_id(start),
            request=request,
            response=response,
            error=error,
            request_id=extract_request_id(request.headers, response.headers if response else ()),
        )
    return Exchange(
        id=str(entry["_amber_id"]),
        request=request,
        response=response,
        error=entry.get("_amber_error"),
        client_addr=entry.get("_amber_client_addr"),
        request_id=entry.get("_amber_request_id"),
        route=str(entry.get("_amber_route") or ""),
        tags=tuple(str(t) for t in entry.get("_amber_tags") or ()),
        redactions=_redactions(entry.get("_amber_redactions")),
        meta=dict(entry.get("_amber_meta") or {}),
    )
