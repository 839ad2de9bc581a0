"""JSONL export and import, and curl export.

JSONL is amber's lossless interchange format: one `Exchange.to_dict()` per line. A string
holding raw non-UTF-8 bytes (kept by `surrogateescape`, e.g. a path `/p/caf\\udce9`) is
written with JSON's `\\udce9` escape and read back as the same string (`dumps_json`).

The curl export writes one bash command per exchange. Bodies are passed inline, never
through stdin (`--data-binary @-`), so every command can be copied and run on its own:

- a body without NUL bytes: `--data-binary $'...'` (bash ANSI-C quoting; bytes that are not
  printable, or not UTF-8, become `\\xHH`);
- a body with NUL bytes (which no shell argument can hold):
  `--data-binary @<(printf -- '...')` with octal escapes, a bash process substitution.

Both are bash (and zsh) syntax, so the file starts with `#!/usr/bin/env bash`.
A URL, method or header holding raw non-UTF-8 bytes is passed as `$'...\\xe9'`, so the
command sends exactly the bytes that were captured.
Hop-by-hop headers, Content-Length and HTTP/2 pseudo-headers are left to curl. The Host
header is kept only when it differs from the URL's (a reverse proxy capture) and no
`base_url` is given. A decoded request body is sent decoded, without its
Content-Encoding header. curl adds `Accept: */*` and its User-Agent when the recording
had none; it does not add a Content-Type to a body that had none.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterable
from collections.abc import Iterator
from typing import BinaryIO

from amber._model import Exchange
from amber._model import dumps_json
from amber._model import loads_json
from amber._model import printable
from amber._model import text_bytes
from amber.errors import ImportFormatError

__all__ = ["read_jsonl", "write_curl", "write_jsonl"]


# -- JSONL ------------------------------------------------------------------------------


def write_jsonl(exchanges: Iterable[Exchange], fp: BinaryIO) -> int:
    """Write one `Exchange.to_dict()` JSON object per line; return how many were written.

    *Raises:* `TypeError` when an exchange's `meta` holds a value JSON cannot represent.
    """
    count = 0
    for ex in exchanges:
        fp.write(dumps_json(ex.to_dict(), newline=True))
        count += 1
    return count


def read_jsonl(source: BinaryIO | str | os.PathLike[str]) -> Iterator[Exchange]:
    """Read exchanges written by `write_jsonl` (an open binary file or a path).

    Blank lines are skipped. It is a generator: errors surface while iterating.

    *Raises:* `ImportFormatError` naming the file and line of a line that is not JSON or
    not an exchange.
    """
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as fp:
            yield from _read_jsonl(fp, os.fspath(source))
    else:
        name = getattr(source, "name", None)
        yield from _read_jsonl(source, name if isinstance(name, str) else "<jsonl>")


def _read_jsonl(fp: BinaryIO, name: str) -> Iterator[Exchange]:
    for lineno, line in enumerate(fp, start=1):
        if lineno == 1:
            line = line.removeprefix(b"\xef\xbb\xbf")
        if not line.strip():
            continue
        try:
            doc = loads_json(line)
        except ValueError as e:
            raise ImportFormatError(
                f"{name}:{lineno}: not valid JSON ({e}); each line must be one exchange "
                "as written by the JSONL export"
            ) from e
        if not isinstance(doc, dict):
            raise ImportFormatError(
                f"{name}:{lineno}: expected a JSON object (one exchange per line), got "
                f"{type(doc).__name__}"
            )
        try:
            ex = Exchange.from_dict(doc)
        except KeyError as e:
            raise ImportFormatError(
                f"{name}:{lineno}: not an amber exchange: missing field {e}; each line must "
                "be one exchange as written by the JSONL export"
            ) from e
        except (TypeError, ValueError, AttributeError) as e:
            raise ImportFormatError(
                f"{name}:{lineno}: not an amber exchange ({e}); each line must be one "
                "exchange as written by the JSONL export"
            ) from e
        yield ex


# -- curl -------------------------------------------------------------------------------

_SKIP_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "proxy-authenticate",
        "proxy-authorization",
        "content-length",
        "http2-settings",
    }
)
_ANSI_C_ESCAPES = {0x5C: "\\\\", 0x27: "\\'", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"}


def _ansi_c(data: bytes) -> str:
    """Quote bytes without NUL as a bash `$'...'` string that yields exactly those bytes."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    out: list[str] = []
    if text is not None:
        for ch in text:
            code = ord(ch)
            if code in _ANSI_C_ESCAPES:
                out.append(_ANSI_C_ESCAPES[code])
            elif code < 0x20 or code == 0x7F:
                out.append(f"\\x{code:02x}")
            elif 0x80 <= code < 0xA0 or code in (0x2028, 0x2029):
                out.append("".join(f"\\x{b:02x}" for b in ch.encode("utf-8")))
            else:
                out.append(ch)
    else:
        for b in data:
            if b in _ANSI_C_ESCAPES:
                out.append(_ANSI_C_ESCAPES[b])
            elif 0x20 <= b < 0x7F:
                out.append(chr(b))
            else:
                out.append(f"\\x{b:02x}")
    return "$'" + "".join(out) + "'"


def _printf(data: bytes) -> str:
    """A bash `<(printf '...')` process substitution that writes exactly `data` (NULs too)."""
    out: list[str] = []
    for b in data:
        if b == 0x25:  # %
            out.append("%%")
        elif 0x20 <= b < 0x7F and b not in (0x27, 0x5C):
            out.append(chr(b))
        else:
            out.append(f"\\{b:03o}")
    return "<(printf -- '" + "".join(out) + "')"


def _comment(text: str) -> str:
    return re.sub(r"[\r\n]+", " ", printable(text))


def _quote(text: str) -> str:
    """One shell word that yields `text`'s bytes: raw bytes kept by `surrogateescape` (which
    no UTF-8 file can hold as text) go through `$'...\\xe9'`."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _ansi_c(text_bytes(text))
    return shlex.quote(text)


def _curl_command(ex: Exchange, base_url: str | None) -> str:
    req = ex.request
    url = base_url.rstrip("/") + req.target if base_url else req.url
    args: list[str] = ["curl"]
    if req.method == "HEAD":
        args.append("--head")
    elif req.method != ("POST" if req.body else "GET"):
        args += ["-X", _quote(req.method)]
    if any(c in url for c in "[]{}"):
        args.append("--globoff")
    if re.search(r"(^|/)\.\.?(/|$)", req.path):
        args.append("--path-as-is")

    url_netloc = req.url.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0]
    has_content_type = False
    for name, value in req.headers:
        lname = name.lower()
        if lname in _SKIP_HEADERS or lname.startswith(":"):
            continue
        if lname == "host" and (base_url or value == url_netloc):
            continue
        if lname == "content-encoding" and req.content_encoding:
            continue  # the body is decoded; send it as such
        if lname == "content-type":
            has_content_type = True
        if lname == "accept-encoding" and "--compressed" not in args:
            args.append("--compressed")
        # `Name;` is curl's syntax for a header with an empty value (`Name:` removes one).
        args += ["-H", _quote(f"{name}: {value}" if value else f"{name};")]
    if req.body:
        if not has_content_type:
            args += ["-H", shlex.quote("Content-Type:")]
        if b"\x00" in req.body or req.body.startswith(b"@"):
            args += ["--data-binary", "@" + _printf(req.body)]
        else:
            args += ["--data-binary", _ansi_c(req.body)]
    args.append(_quote(url))

    lines: list[str] = []
    line = args[0]
    i = 1
    while i < len(args):
        # keep an option and its value on one line
        part = args[i]
        if part.startswith("-") and i + 1 < len(args) and part in ("-X", "-H", "--data-binary"):
            part = f"{part} {args[i + 1]}"
            i += 1
        lines.append(line)
        line = "  " + part
        i += 1
    lines.append(line)
    return " \\\n".join(lines)


def write_curl(exchanges: Iterable[Exchange], fp: BinaryIO, *, base_url: str | None = None) -> int:
    """Write one runnable curl command per exchange (bash syntax); return how many.

    Each command is preceded by a comment with the amber id, the request id and the
    recorded status (or error). `base_url` (`http://localhost:8000`) replaces the
    recorded scheme, host and port; the path and query are kept.
    """
    fp.write(b"#!/usr/bin/env bash\n")
    count = 0
    for ex in exchanges:
        outcome = (
            str(ex.status)
            if ex.response is not None
            else f"error: {ex.error}"
            if ex.error
            else "no response"
        )
        comment = _comment(f"# amber {ex.id} request_id={ex.request_id or '-'} recorded={outcome}")
        fp.write(f"\n{comment}\n{_curl_command(ex, base_url)}\n".encode())
        count += 1
    return count
