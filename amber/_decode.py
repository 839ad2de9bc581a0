"""Undo `Content-Encoding` with a cap on the decoded size (decompression bombs).

`decode_body(raw, "gzip, br", max_decoded=...)` undoes the codings in reverse order. It never
raises on bad input:

* decoded output past `max_decoded` is cut there and flagged `truncated`;
* an unknown coding, or bytes the coding cannot decode (a lying header), are kept as
  `identity` when they look like text or JSON (`note` says so);
* otherwise the result is `undecodable`: its `body` is `b""`, and the caller stores no body
  and records `DecodedBody.redaction(...)` (rule `undecodable-body`, action `drop`). A body
  that cannot be inspected cannot be proven clean, so it is never kept.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

from amber._model import Redaction

__all__ = ["DecodedBody", "decode_body"]

_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class DecodedBody:
    """The result of `decode_body`."""

    body: bytes
    original_encoding: str | None
    truncated: bool = False
    undecodable: bool = False
    note: str | None = None

    def redaction(self, side: str) -> Redaction | None:
        """The record to add when the body was dropped (`side` is `request`/`response`)."""
        if not self.undecodable:
            return None
        return Redaction("undecodable-body", f"{side}.body", "drop")


class _Undecodable(Exception):
    pass


class _Capped(Exception):
    def __init__(self, partial: bytes) -> None:
        self.partial = partial


def _zlib_member(data: bytes, wbits: int, limit: int, out: bytearray) -> Any:
    """Inflate one zlib/gzip member into `out`, never past `limit` (a bomb is cut there)."""
    d = zlib.decompressobj(wbits)
    while data:
        out += d.decompress(data, limit - len(out) + 1)
        if len(out) > limit:
            raise _Capped(bytes(out[:limit]))
        data = d.unconsumed_tail
    out += d.flush()
    if len(out) > limit:
        raise _Capped(bytes(out[:limit]))
    return d


def _zlib_stream(raw: bytes, wbits: int, limit: int) -> bytes:
    out = bytearray()
    try:
        d = _zlib_member(raw, wbits, limit, out)
        # gzip allows several members back to back
        while wbits >= 16 and d.unused_data:
            d = _zlib_member(d.unused_data, wbits, limit, out)
    except zlib.error as e:
        raise _Undecodable(str(e)) from e
    if not d.eof:
        if not out:
            raise _Undecodable("truncated stream")
        raise _Capped(bytes(out))  # cut at capture time: keep what decodes
    return bytes(out)


def _gzip(raw: bytes, limit: int) -> bytes:
    return _zlib_stream(raw, 16 + zlib.MAX_WBITS, limit)


def _deflate(raw: bytes, limit: int) -> bytes:
    # "deflate" is meant to be zlib-wrapped; many servers send raw deflate
    try:
        return _zlib_stream(raw, zlib.MAX_WBITS, limit)
    except _Undecodable:
        return _zlib_stream(raw, -zlib.MAX_WBITS, limit)


def _br(raw: bytes, limit: int) -> bytes:
    try:
        import brotli  # type: ignore[import-untyped]
    except ImportError as e:  # pragma: no cover - brotli ships with mitmproxy
        raise _Undecodable("brotli is not installed") from e
    d = brotli.Decompressor()
    out = bytearray()
    try:
        for i in range(0, len(raw), _CHUNK):
            out += d.process(raw[i : i + _CHUNK])
            if len(out) > limit:
                raise _Capped(bytes(out[:limit]))
        if not d.is_finished():
            if not out:
                raise _Undecodable("truncated stream")
            raise _Capped(bytes(out))
    except brotli.error as e:
        raise _Undecodable(str(e)) from e
    return bytes(out)


def _zstd(raw: bytes, limit: int) -> bytes:
    import zstandard

    d = zstandard.ZstdDecompressor().decompressobj()
    out = bytearray()
    try:
        for i in range(0, len(raw), _CHUNK):
            out += d.decompress(raw[i : i + _CHUNK])
            if len(out) > limit:
                raise _Capped(bytes(out[:limit]))
    except zstandard.ZstdError as e:
        raise _Undecodable(str(e)) from e
    if not d.eof:
        if not out:
            raise _Undecodable("truncated stream")
        raise _Capped(bytes(out))
    return bytes(out)


_DECODERS = {
    "gzip": _gzip,
    "x-gzip": _gzip,
    "deflate": _deflate,
    "br": _br,
    "zstd": _zstd,
}


def looks_textual(data: bytes) -> bool:
    """True when the first 8 KiB look like text or JSON (UTF-8, no NUL, few controls)."""
    head = data[:8192]
    if not head:
        return True
    if b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.start < len(head) - 4:  # a cut multi-byte character at the end is fine
            return False
        text = head[: e.start].decode("utf-8")
    controls = sum(1 for c in text if ord(c) < 32 and c not in "\t\r\n\f")
    return controls * 100 <= len(text)


def decode_body(raw: bytes, content_encoding: str | None, *, max_decoded: int) -> DecodedBody:
    """Undo `content_encoding` (a comma-separated chain, applied in reverse order).

    **Parameters:**

    * `raw` - the body as it was on the wire.
    * `content_encoding` - the header value, or None.
    * `max_decoded` - the most decoded bytes kept; the rest is cut and `truncated` set.
    """
    codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    original = content_encoding.strip() if content_encoding else None
    if not codings:
        if len(raw) > max_decoded:
            return DecodedBody(raw[:max_decoded], original, truncated=True)
        return DecodedBody(raw, original)
    data = raw
    truncated = False
    for coding in reversed(codings):
        decoder = _DECODERS.get(coding)
        if decoder is None:
            return _fallback(raw, original, f"unknown content-encoding {coding!r}")
        try:
            data = decoder(data, max_decoded)
        except _Capped as c:
            data = c.partial
            truncated = True
            break  # a partial stream cannot feed the next decoder reliably
        except _Undecodable as e:
            return _fallback(raw, original, f"{coding} failed to decode ({e})")
    if truncated and len(codings) > 1 and coding != codings[0]:
        # stopped inside the chain: what we hold is still encoded, so it cannot be kept
        return DecodedBody(
            b"",
            original,
            truncated=True,
            undecodable=True,
            note="decoded size limit reached inside an encoding chain",
        )
    return DecodedBody(
        data,
        original,
        truncated=truncated,
        note="decoded size limit reached or stream cut short" if truncated else None,
    )


def _fallback(raw: bytes, original: str | None, why: str) -> DecodedBody:
    if looks_textual(raw):
        return DecodedBody(raw, original, note=f"{why}; the bytes look like text: kept as is")
    return DecodedBody(
        b"", original, undecodable=True, note=f"{why}; body dropped (it cannot be inspected)"
    )
