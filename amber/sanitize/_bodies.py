"""Bodies: JSON, NDJSON, form, multipart, text and binary.

* **JSON** (any `json`/`+json` content type, or a body that parses as JSON whatever its
  content type claims): keys by `KeyClassifier`, string leaves by the value detectors, then
  re-serialized compactly in the original key order. An unchanged body keeps its bytes.
* **Invalid or truncated JSON** falls back to text, where the `secret-key-value` detector
  still masks `"password": "..."` and `password=...` pairs.
* **Text** is decoded as UTF-8 with `surrogateescape` (or its declared charset), so bytes
  that were not touched survive exactly.
* **Binary** (NUL bytes, control characters, invalid UTF-8) is never parsed; it is read as
  Latin-1 (one character per byte) and the same detectors run over it, so a token embedded in
  a protobuf or an image comment is still replaced. Replacements change lengths: a binary body
  that carried a secret is no longer a valid file of its format, by design.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote
from urllib.parse import quote_plus
from urllib.parse import unquote
from urllib.parse import unquote_plus

import orjson

from amber._decode import looks_textual
from amber._model import Redaction
from amber._pseudonym import Pseudonymizer
from amber._pseudonym import is_marker
from amber._pseudonym import is_synthetic
from amber._pseudonym import marker

from ._keys import KeyClassifier
from ._keys import Verdict
from ._values import ValueScanner
from ._values import _card_ok

__all__ = ["BodySanitizer", "render_path"]

_BIG_INT = re.compile(rb"[0-9]{19}")
_SIMPLE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_BOUNDARY = re.compile(r'(?i)boundary=(?:"([^"]+)"|([^;\s]+))')
_CHARSET = re.compile(r'(?i)charset="?([\w.:-]+)')
_DISPOSITION_NAME = re.compile(rb'(?i)[;\s]name="([^"]*)"|[;\s]name=([^;\s]+)')
_DISPOSITION_FILE = re.compile(rb"(?i)[;\s]filename\*?=")
_QUERY_SAFE = "[]:@/,!$'()*"

Path = tuple[Any, ...] | None


def render_path(path: Path) -> str:
    """`$.items[3].email` from the linked path `((((None, 'items'), 3), 'email')`."""
    parts: list[str] = []
    while path is not None:
        path, key = path
        if isinstance(key, int):
            parts.append(f"[{key}]")
        elif _SIMPLE_KEY.fullmatch(key):
            parts.append(f".{key}")
        else:
            parts.append(f"[{json.dumps(key)}]")
    return "$" + "".join(reversed(parts))


class BodySanitizer:
    """Sanitizes one body at a time; `out` collects the redactions."""

    def __init__(
        self, scanner: ValueScanner, keys: KeyClassifier, pseudonymizer: Pseudonymizer
    ) -> None:
        self.scanner = scanner
        self.keys = keys
        self.pseudo = pseudonymizer
        self.key_has_values: dict[str, bool] = {}

    def key_might_match(self, key: str) -> bool:
        """Could the value rules change this object key? (Cached: keys repeat.)"""
        found = self.key_has_values.get(key)
        if found is None:
            found = len(key) > 5 and self.scanner.might_match(key)
            if len(self.key_has_values) < 100_000:
                self.key_has_values[key] = found
        return found

    # -- dispatch ---------------------------------------------------------------------

    def sanitize(
        self, body: bytes, content_type: str | None, location: str, out: list[Redaction]
    ) -> bytes:
        """`body` sanitized according to its content type (or what it looks like)."""
        if not body:
            return body
        ct = (content_type or "").lower()
        if "multipart/" in ct:
            m = _BOUNDARY.search(content_type or "")
            if m:
                result = self.multipart(body, (m.group(1) or m.group(2)).encode("latin-1"),
                                        location, out)
                if result is not None:
                    return result
        if "ndjson" in ct or "jsonl" in ct or "json-seq" in ct:
            return self.ndjson(body, location, out)
        if "json" in ct or body.lstrip()[:1] in (b"{", b"["):
            result = self.json(body, location, out)
            if result is not None:
                return result
        if "x-www-form-urlencoded" in ct:
            return self.form(body, location, out)
        return self.text(body, location, out, charset=_charset(content_type))

    # -- JSON -------------------------------------------------------------------------

    def json(self, body: bytes, location: str, out: list[Redaction]) -> bytes | None:
        """The sanitized JSON, or None when `body` is not valid JSON."""
        stdlib = False
        try:
            if _BIG_INT.search(body):
                raise ValueError("integer wider than 64 bits")
            obj = orjson.loads(body)
        except ValueError:
            try:
                obj = json.loads(body)
            except (ValueError, RecursionError):
                return None
            stdlib = True
        walker = _JsonWalker(self, location, out, True)
        new = walker.walk(obj)
        if new is not obj:
            walker.changed = True
        if not walker.changed:
            return body
        if not stdlib:
            try:
                return orjson.dumps(new)
            except TypeError:
                pass
        text = json.dumps(new, ensure_ascii=False, separators=(",", ":"))
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates from \ud800-style escapes
            return json.dumps(new, separators=(",", ":")).encode("ascii")

    def ndjson(self, body: bytes, location: str, out: list[Redaction]) -> bytes:
        lines = body.split(b"\n")
        for i, line in enumerate(lines):
            if not line.strip():
                continue
            result = self.json(line, f"{location}[{i}]", out)
            lines[i] = result if result is not None else self.text(line, location, out)
        return b"\n".join(lines)

    # -- form and query ---------------------------------------------------------------

    def form(self, body: bytes, location: str, out: list[Redaction]) -> bytes:
        text = body.decode("utf-8", "surrogateescape")
        return self.pairs(text, f"{location}.form", out, plus=True).encode(
            "utf-8", "surrogateescape"
        )

    def pairs(self, raw: str, location: str, out: list[Redaction], *, plus: bool) -> str:
        """`a=1&b=2` with each value sanitized by its key, then by the value rules.

        Untouched pairs keep their exact encoding; replaced values are percent-encoded
        (`[`, `]`, `:` and `@` are left readable).
        """
        if not raw:
            return raw
        unq = unquote_plus if plus else unquote
        pieces = raw.split("&")
        changed = False
        for i, piece in enumerate(pieces):
            if not piece:
                continue
            name_raw, eq, value_raw = piece.partition("=")
            name = unq(name_raw, errors="surrogateescape")
            value = unq(value_raw, errors="surrogateescape")
            hits: list[Redaction] = []
            new_name = self.scanner.apply(name, f"{location}", hits) if len(name) > 5 else name
            loc = f"{location}.{new_name}"
            if hits:
                out.extend(Redaction(h.rule, loc, h.action) for h in hits)
            verdict = self.keys.classify(name)
            if not eq:
                new_value = value
            else:
                new_value = self.scalar_by_verdict(value, verdict, loc, out)
            if new_name == name and new_value == value:
                continue
            changed = True
            enc: Callable[..., str] = quote_plus if plus else quote
            n = name_raw if new_name == name else enc(new_name, safe=_QUERY_SAFE,
                                                      errors="surrogateescape")
            v = value_raw if new_value == value else enc(new_value, safe=_QUERY_SAFE,
                                                         errors="surrogateescape")
            pieces[i] = f"{n}{eq}{v}"
        return "&".join(pieces) if changed else raw

    def scalar_by_verdict(
        self, value: str, verdict: Verdict, location: str, out: list[Redaction]
    ) -> str:
        """A string value under a key: masked, pseudonymized, or scanned by value rules."""
        if verdict is None:
            return self.scanner.apply(value, location, out)
        if not value or is_marker(value):
            return value
        action, what = verdict
        if action == "mask":
            out.append(Redaction(what, location, "mask"))
            return marker(what)
        if is_synthetic(what, value):
            return value
        out.append(Redaction(what, location, "pseudonym"))
        return self.pseudo.pseudonym(what, value)

    # -- multipart --------------------------------------------------------------------

    def multipart(
        self, body: bytes, boundary: bytes, location: str, out: list[Redaction]
    ) -> bytes | None:
        """Each part by its field name and content; the framing is kept byte for byte.

        Text parts (and file parts whose content is text) are sanitized like bodies; binary
        file parts get the binary treatment. None when the body has no such boundary.
        """
        delim = b"--" + boundary
        chunks = body.split(delim)
        if len(chunks) < 3:
            return None
        for i in range(1, len(chunks)):
            chunk = chunks[i]
            if chunk.startswith(b"--"):
                break  # the closing delimiter; the rest is the epilogue
            sep = b"\r\n\r\n"
            head_end = chunk.find(sep)
            if head_end < 0:
                sep = b"\n\n"
                head_end = chunk.find(sep)
            if head_end < 0:
                continue
            head = chunk[:head_end]
            content = chunk[head_end + len(sep) :]
            tail = b""
            for t in (b"\r\n", b"\n"):
                if content.endswith(t):
                    content, tail = content[: -len(t)], t
                    break
            m = _DISPOSITION_NAME.search(head)
            raw_name = (m.group(1) if m and m.group(1) is not None else
                        (m.group(2) if m else b"")) or b""
            name = raw_name.decode("utf-8", "replace")
            loc = f"{location}.multipart.{name or i}"
            is_file = _DISPOSITION_FILE.search(head) is not None
            head_text = head.decode("utf-8", "surrogateescape")
            new_head = self.scanner.apply(head_text, loc, out).encode("utf-8", "surrogateescape")
            part_ct = _part_header(head, b"content-type")
            verdict = None if is_file else self.keys.classify(name)
            if verdict is not None and content:
                text = content.decode("utf-8", "surrogateescape")
                new_content = self.scalar_by_verdict(text, verdict, loc, out).encode(
                    "utf-8", "surrogateescape"
                )
            else:
                new_content = self.sanitize(content, part_ct, loc, out)
            chunks[i] = new_head + sep + new_content + tail
        return delim.join(chunks)

    # -- text and binary --------------------------------------------------------------

    def text(
        self, body: bytes, location: str, out: list[Redaction], *, charset: str | None = None
    ) -> bytes:
        if charset and charset.replace("-", "").replace("_", "") not in ("utf8", "usascii",
                                                                          "ascii"):
            try:
                codec = codecs.lookup(charset).name
                decoded = body.decode(codec, "surrogateescape")
                new = self.scanner.apply(decoded, f"{location}:text", out)
                return body if new == decoded else new.encode(codec, "surrogateescape")
            except (LookupError, UnicodeError):
                pass
        if not looks_textual(body):
            return self.binary(body, location, out)
        decoded = body.decode("utf-8", "surrogateescape")
        new = self.scanner.apply(decoded, f"{location}:text", out)
        return body if new is decoded or new == decoded else new.encode(
            "utf-8", "surrogateescape"
        )

    def binary(self, body: bytes, location: str, out: list[Redaction]) -> bytes:
        decoded = body.decode("latin-1")
        new = self.scanner.apply(decoded, f"{location}:binary", out)
        if new is decoded or new == decoded:
            return body
        return new.encode("latin-1", "replace")


def _part_header(head: bytes, name: bytes) -> str | None:
    for line in head.split(b"\n"):
        k, _, v = line.partition(b":")
        if k.strip().lower() == name:
            return v.strip().decode("latin-1")
    return None


def _charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    m = _CHARSET.search(content_type)
    return m.group(1) if m else None


class _JsonWalker:
    """Walks a parsed JSON document in place; builds locations only for redactions."""

    def __init__(
        self, owner: BodySanitizer, location: str, out: list[Redaction], scan: bool
    ) -> None:
        self.owner = owner
        self.location = location
        self.out = out
        self.scan = scan
        self.changed = False
        self._apply = owner.scanner.apply
        self._classify = owner.keys.classify
        self._key_check = owner.key_might_match

    def loc(self, path: Path) -> str:
        return self.location + render_path(path)

    def walk(self, obj: Any) -> Any:
        t = type(obj)
        if t is dict:
            self._dict(obj, None, None)
            return obj
        if t is list:
            self._list(obj, None, None)
            return obj
        return self._leaf(obj, None, None, top=True)

    def _str(self, s: str, path: Path) -> str:
        hits: list[Redaction] = []
        new = self._apply(s, "", hits)
        if hits:
            loc = self.loc(path)
            self.out.extend(Redaction(h.rule, loc, h.action) for h in hits)
        return new

    def _leaf(self, v: Any, verdict: Verdict, path: Path, *, top: bool = False,
              inherited: bool = False) -> Any:
        t = type(v)
        if verdict is None:
            if t is str:
                if self.scan:
                    return self._str(v, path)
                return v
            if (
                t is int and self.scan and (v >= 10**12 or v <= -(10**12))
                and _card_ok(str(abs(v)))
            ):
                self.out.append(Redaction("credit-card", self.loc(path), "mask"))
                return marker("credit-card")
            return v
        action, what = verdict
        if action == "mask":
            if v is None or v == "" or (t is str and is_marker(v)):
                return v
            self.out.append(Redaction(what, self.loc(path), "mask"))
            return marker(what)
        # pseudonym
        if t is str:
            if not v or is_marker(v) or is_synthetic(what, v):
                return v
            self.out.append(Redaction(what, self.loc(path), "pseudonym"))
            return self.owner.pseudo.pseudonym(what, v)
        if t is int and not inherited and what in ("customer_id", "phone"):
            fake = self.owner.pseudo.pseudonym(what, str(v))
            digits = "".join(c for c in fake if c.isdigit())
            if digits:
                self.out.append(Redaction(what, self.loc(path), "pseudonym"))
                return int(digits) if v >= 0 else -int(digits)
        return v

    def _dict(self, d: dict[str, Any], path: Path, inherited: Verdict) -> None:
        renamed = False
        classify = self._classify
        for k, v in d.items():
            verdict = classify(k)
            inh = False
            if verdict is None and inherited is not None:
                verdict = inherited
                inh = True
            t = type(v)
            if t is dict:
                self._dict(v, (path, k), verdict if verdict is not None else None)
            elif t is list:
                self._list(v, (path, k), verdict)
            else:
                nv = self._leaf(v, verdict, (path, k), inherited=inh)
                if nv is not v:
                    d[k] = nv
                    self.changed = True
            if self.scan and self._key_check(k):
                renamed = True
        if renamed:
            items = list(d.items())
            d.clear()
            for k, v in items:
                hits: list[Redaction] = []
                nk = self.owner.scanner.apply(k, "", hits)
                if hits:
                    loc = self.loc((path, nk))
                    self.out.extend(Redaction(h.rule, loc, h.action) for h in hits)
                    self.changed = True
                d[nk] = v

    def _list(self, items: list[Any], path: Path, verdict: Verdict) -> None:
        for i, v in enumerate(items):
            t = type(v)
            if t is dict:
                self._dict(v, (path, i), verdict)
            elif t is list:
                self._list(v, (path, i), verdict)
            else:
                nv = self._leaf(v, verdict, (path, i), inherited=True)
                if nv is not v:
                    items[i] = nv
                    self.changed = True
