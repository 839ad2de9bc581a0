"""Session state carried between replayed requests.

Captured credentials were sanitized away (`[REDACTED:...]` markers), and ids the server minted
at capture time differ from the ids it mints on replay. `SessionState` learns, from each
(recorded, replayed) response pair of one session, what the target returned in place of
what was recorded, and rewrites the session's later requests:

- **secrets**: a recorded value that is a marker (a token the capture masked) at a JSON key,
  or a cookie the target set, is remembered by key/cookie name; a later request's
  `Authorization: Bearer [REDACTED:...]`, a masked cookie of that name or a masked JSON field
  of that key receives the fresh value.
- **minted values**: a distinctive recorded value (a string of 6+ characters, or an integer
  under an `...id` key) that the target returned differently at the same JSON path, or in the
  `Location` header, is replaced wherever it appears later: path segments, query, headers and
  JSON bodies.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from http.cookies import SimpleCookie
from typing import Any

import orjson

from amber._model import Headers
from amber._model import Request
from amber._model import Response
from amber._model import header_get
from amber._pseudonym import MARKER_RE
from amber.replay._compare import loads_json

__all__ = ["SessionState", "has_marker"]

_TOKENISH = re.compile(r"(^|[_\-.])(token|jwt|session|sid|auth|key|secret)($|[_\-.])|token", re.I)
MAX_LEARNED = 10_000


def has_marker(value: str) -> bool:
    """True when `value` holds a redaction marker (`amber._pseudonym.MARKER_RE`) anywhere:
    a masked token in `Bearer [REDACTED:...]`, a cookie list, a JSON string."""
    return "[REDACTED:" in value and MARKER_RE.search(value) is not None  # cheap test first


def _json(body: bytes) -> Any:
    if not body or body[:1] not in (b"{", b"["):
        return None
    try:
        return loads_json(body)
    except orjson.JSONDecodeError:
        return None


def _pairs(a: Any, b: Any, key: str = "") -> Iterator[tuple[str, Any, Any]]:
    """Leaves of `a` and `b` at the same positions, with the nearest object key."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k, v in a.items():
            if k in b:
                yield from _pairs(v, b[k], str(k))
    elif isinstance(a, list) and isinstance(b, list):
        for x, y in zip(a, b, strict=False):
            yield from _pairs(x, y, key)
    else:
        yield key, a, b


class SessionState:
    """What one session learned so far. Not thread-safe: one session replays in order."""

    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}  # key or cookie name (lowercase) -> fresh value
        self.cookies: dict[str, str] = {}  # cookies the target set
        self.values: dict[str, str] = {}  # recorded minted value -> replayed value
        self.bearer: str | None = None

    # -- learning -------------------------------------------------------------------------

    def learn(self, recorded: Response | None, actual: Response | None) -> None:
        """Learn from one (recorded, replayed) response pair of this session: the cookies
        the target set, and what it returned in place of recorded secrets and ids."""
        if actual is None:
            return
        location = self._learn_headers(actual)
        if recorded is None or recorded.body == actual.body and not location:
            return  # nothing differs: nothing to learn (the common case, and cheap)
        rec_loc, act_loc = (
            header_get(recorded.headers, "location"),
            header_get(actual.headers, "location"),
        )
        if rec_loc and act_loc and rec_loc != act_loc:
            for x, y in zip(rec_loc.split("/"), act_loc.split("/"), strict=False):
                if x != y and len(x) >= 2 and not has_marker(x):
                    self._remember(x, y)
        a, b = _json(recorded.body), _json(actual.body)
        if a is not None and b is not None:
            self._learn_json(a, b)

    def _learn_headers(self, actual: Response) -> bool:
        """Learn the cookies `actual` sets; whether it has a `Location` header."""
        location = False
        for name, raw in actual.headers:  # one pass: Set-Cookie and Location (same lengths)
            if len(name) == 10 and name.lower() == "set-cookie":
                self._learn_cookie(raw)
            elif len(name) == 8 and name.lower() == "location":
                location = True
        return location

    def _learn_json(self, recorded: Any, actual: Any) -> None:
        """Learn secrets (a marker recorded where the target sent a value) and minted values
        from two JSON documents."""
        for key, x, y in _pairs(recorded, actual):
            if x == y or y is None:
                continue
            if isinstance(x, str) and has_marker(x) and isinstance(y, str):
                self.secrets[key.lower()] = y
                if _TOKENISH.search(key):
                    self.bearer = y
            elif isinstance(x, str) and isinstance(y, str) and len(x) >= 6:
                self._remember(x, y)
            elif (
                isinstance(x, int)
                and isinstance(y, int)
                and not isinstance(x, bool)
                and key.lower().endswith("id")
                and abs(x) >= 10
            ):
                self._remember(str(x), str(y))

    def _learn_cookie(self, raw: str) -> None:
        try:
            jar: SimpleCookie = SimpleCookie()
            jar.load(raw)
        except Exception:
            return
        for name, morsel in jar.items():
            self.cookies[name] = morsel.value

    def _remember(self, recorded: str, actual: str) -> None:
        if len(self.values) < MAX_LEARNED:
            self.values[recorded] = actual

    # -- rewriting ------------------------------------------------------------------------

    def _swap(self, text: str) -> str:
        if not self.values:
            return text
        for old, new in self.values.items():
            if old in text:
                text = text.replace(old, new)
        return text

    def rewrite(self, req: Request) -> tuple[str, str, Headers, bytes]:
        """(path, query, headers, body) of `req` with what this session learned applied.

        Headers still holding a marker that nothing learned can fill are dropped, so the
        target sees no `[REDACTED:...]` credentials (configured auth may add its own).
        """
        if not (self.values or self.secrets or self.cookies or self.bearer):
            # nothing learned yet: only drop what holds a marker
            for _, v in req.headers:
                if "[REDACTED:" in v:  # (the cheap test of `has_marker`)
                    return req.path, req.query, self._unmasked(req.headers), req.body
            return req.path, req.query, req.headers, req.body
        path = "/".join(self.values.get(seg, seg) for seg in req.path.split("/"))
        query = self._swap(req.query)
        headers: list[tuple[str, str]] = []
        for name, value in req.headers:
            lname = name.lower()
            if lname == "cookie":
                cookie = self._cookie(value)
                if cookie:
                    headers.append((name, cookie))
                continue
            if has_marker(value):
                if lname == "authorization" and self.bearer is not None:
                    scheme = value.split(" ", 1)[0] if " " in value else "Bearer"
                    headers.append((name, f"{scheme} {self.bearer}"))
                elif lname in self.secrets:
                    headers.append((name, self.secrets[lname]))
                continue
            headers.append((name, self._swap(value)))
        if self.cookies and not any(k.lower() == "cookie" for k, _ in headers):
            headers.append(("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items())))
        return path, query, tuple(headers), self._body(req.body)

    def _unmasked(self, headers: Headers) -> Headers:
        """`headers` without those holding a marker; a `Cookie` header loses only its
        masked cookies."""
        out: list[tuple[str, str]] = []
        for k, v in headers:
            if not has_marker(v):
                out.append((k, v))
            elif k.lower() == "cookie":
                cookie = self._cookie(v)
                if cookie:
                    out.append((k, cookie))
        return tuple(out)

    def _cookie(self, value: str) -> str:
        """A `Cookie` header's value with the cookies the target set, without the masked
        cookies it did not set."""
        out = []
        seen = set()
        for part in value.split(";"):
            name, sep, val = part.strip().partition("=")
            if not sep:
                continue
            seen.add(name)
            if name in self.cookies:
                out.append(f"{name}={self.cookies[name]}")
            elif has_marker(val):
                continue  # a masked cookie nobody set again: leave it out
            else:
                out.append(f"{name}={val}")
        out += [f"{k}={v}" for k, v in self.cookies.items() if k not in seen]
        return "; ".join(out)

    def _body(self, body: bytes) -> bytes:
        """A request body with learned secrets and values in place of recorded ones (in a
        JSON body, only whole strings and integers are replaced)."""
        if not body or (not self.values and not self.secrets):
            return body
        doc = _json(body)
        if doc is None:
            return self._swap_bytes(body)
        changed = False

        def walk(node: Any, key: str) -> Any:
            nonlocal changed
            if isinstance(node, dict):
                return {k: walk(v, str(k)) for k, v in node.items()}
            if isinstance(node, list):
                return [walk(v, key) for v in node]
            if isinstance(node, str):
                if has_marker(node) and key.lower() in self.secrets:
                    changed = True
                    return self.secrets[key.lower()]
                if node in self.values:
                    changed = True
                    return self.values[node]
            if isinstance(node, int) and not isinstance(node, bool) and str(node) in self.values:
                new = self.values[str(node)]
                if new.lstrip("-").isdigit():
                    changed = True
                    return int(new)
            return node

        out = walk(doc, "")
        return orjson.dumps(out) if changed else body

    def _swap_bytes(self, body: bytes) -> bytes:
        """A body that is not JSON with the learned values swapped in, as text (bodies of
        1 MB or more are left alone: scanning them for every value costs too much)."""
        if self.values and len(body) < 1_000_000:
            text = body.decode("utf-8", "surrogateescape")
            swapped = self._swap(text)
            if swapped != text:
                return swapped.encode("utf-8", "surrogateescape")
        return body
