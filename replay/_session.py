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

**Cost.** Rewriting a request costs what the request contains, not what the run has learned:
learned values are indexed (`_Index`) by their first token, and a request's path, query,
header values and non-JSON body are cut into tokens (runs of letters, digits, `_` and `-`)
that are looked up in dicts; JSON bodies are looked up leaf by leaf. A learned value matches
on token boundaries only (`ord_AAAA` is not replaced inside `xord_AAAA`).

**What is learned.** Only values that can reappear in later requests: not per-response
noise. A value is not learned when it looks like a timestamp (ISO 8601, an HTTP date, epoch
seconds or milliseconds), when its key names noise (`nonce`, `timestamp`, `request_id`,
`trace_id`, `created_at`, ...), or when its key has taught values in `CHURN_AFTER` of the
session's responses, none of which a later request used (it changes on every response). At most
`MAX_LEARNED` values are kept per session; the least recently learned or used go first.
"""

from __future__ import annotations

import re
from http.cookies import SimpleCookie
from typing import Any

import orjson

from amber._model import Headers
from amber._model import Request
from amber._model import Response
from amber._model import exact_json_loads as loads_json
from amber._model import header_get
from amber._pseudonym import MARKER_RE

__all__ = [
    "CHURN_AFTER",
    "MAX_LEARNED",
    "Parsed",
    "SessionState",
    "has_marker",
    "looks_like_timestamp",
]

Parsed = tuple[bytes, Any, bytes, Any]
"""(recorded body, its JSON document, replayed body, its JSON document), as `learn` parsed
them: handed on so that the target sanitizer and the comparison need not parse them again."""

_TOKENISH = re.compile(r"(^|[_\-.])(token|jwt|session|sid|auth|key|secret)($|[_\-.])|token", re.I)
MAX_LEARNED = 10_000
"""Learned (recorded -> replayed) values kept per session, at most."""
CHURN_AFTER = 100
"""A key that taught values in this many responses of a session, none of them used by a later
request, is per-response noise (a list of 500 ids in one response counts once)."""

_TOKEN = re.compile(r"[A-Za-z0-9_\-]+")
_TOKEN_CHAR = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}"  # ISO 8601 / RFC 3339 date-time
    r"|(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}"  # HTTP date
    r"|1\d{9}(?:\d{3})?(?:\.\d+)?$"  # epoch seconds / milliseconds (2001 to 2033)
)
_NOISE_KEYS = frozenset(
    {
        "nonce",
        "ts",
        "time",
        "date",
        "now",
        "timestamp",
        "etag",
        "elapsed",
        "duration",
        "took",
        "signature",
        "servertime",
        "requestid",
        "traceid",
        "spanid",
        "correlationid",
        "createdat",
        "updatedat",
        "modifiedat",
        "generatedat",
        "expiresat",
        "issuedat",
        "iat",
        "exp",
    }
)
_NOISE_SUFFIXES = ("nonce", "timestamp", "requestid", "traceid", "spanid", "correlationid")


def _noise_key(key: str) -> bool:
    """Whether a JSON key names per-response noise (`nonce`, `requestId`, `created_at`)."""
    k = key.lower().replace("_", "").replace("-", "")
    return k in _NOISE_KEYS or k.endswith(_NOISE_SUFFIXES)


def looks_like_timestamp(value: str) -> bool:
    """Whether `value` starts like a date-time (ISO 8601, an HTTP date) or is epoch seconds or
    milliseconds: a value that changes with the clock, never worth carrying over."""
    return _TIMESTAMP.match(value) is not None


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


_MISSING = object()


class _Index:
    """Learned (recorded -> replayed) values, found in a text in time linear in the text.

    A value that is one token (`ord_AAAA1111`, `41`) is a key of `values`: each token of a
    text is looked up once. A longer value (`/orders/7`, `widget 5`) is filed under its
    first token with that token's offset: where the text has that token, the value is
    compared there. Insertion order is recency: the oldest entry is evicted past `cap`.
    """

    __slots__ = ("cap", "complex", "origin", "used", "values")

    def __init__(self, cap: int = MAX_LEARNED) -> None:
        self.cap = cap
        self.values: dict[str, str] = {}
        self.complex: dict[str, list[tuple[int, str]]] = {}
        self.origin: dict[str, str] = {}  # learned value -> the key it was learned at
        self.used: set[str] = set()  # keys whose values a later request used

    def add(self, old: str, new: str, origin: str) -> bool:
        """Remember `old` -> `new` (learned at key `origin`); False when `old` has no token
        to index it by (nothing distinctive to find)."""
        m = _TOKEN.search(old)
        if m is None:
            return False
        if old in self.values:
            del self.values[old]  # re-learned: the most recent again
        elif m.group() != old:
            entries = self.complex.setdefault(m.group(), [])
            entries.append((m.start(), old))
            entries.sort(key=lambda e: -len(e[1]))  # the longest value first
        self.values[old] = new
        self.origin[old] = origin
        while len(self.values) > self.cap:
            self.forget(next(iter(self.values)))
        return True

    def forget(self, old: str) -> None:
        del self.values[old]
        self.origin.pop(old, None)
        m = _TOKEN.search(old)
        if m is not None and m.group() != old:
            entries = self.complex.get(m.group(), [])
            entries[:] = [e for e in entries if e[1] != old]
            if not entries:
                self.complex.pop(m.group(), None)

    def get(self, old: str) -> str | None:
        """The replayed value of a whole recorded value (a JSON leaf), marking it used."""
        new = self.values.get(old)
        if new is not None:
            self.touch(old)
        return new

    def touch(self, old: str) -> None:
        """Mark `old` used by a request: its key is not noise, and it is recent again."""
        self.values[old] = self.values.pop(old)
        origin = self.origin.get(old)
        if origin is not None:
            self.used.add(origin)

    def swap(self, text: str) -> str:
        """`text` with every learned value found on token boundaries replaced."""
        values = self.values
        if not values:
            return text
        complex_ = self.complex
        parts: list[str] = []
        pos = 0
        for m in _TOKEN.finditer(text):
            start = m.start()
            if start < pos:
                continue
            tok = m.group()
            old: str | None = None
            at = start
            if complex_:
                for off, value in complex_.get(tok, ()):
                    at = start - off
                    if at >= pos and text.startswith(value, at) and _bounded(text, at, value):
                        old = value
                        break
            if old is None:
                if tok not in values:
                    continue
                old, at = tok, start
            parts.append(text[pos:at])
            parts.append(values[old])
            self.touch(old)
            pos = at + len(old)
        if not parts:
            return text
        parts.append(text[pos:])
        return "".join(parts)


def _bounded(text: str, at: int, value: str) -> bool:
    """Whether `value`, found in `text` at `at`, does not cut a token in two."""
    end = at + len(value)
    if at > 0 and value[0] in _TOKEN_CHAR and text[at - 1] in _TOKEN_CHAR:
        return False
    return not (end < len(text) and value[-1] in _TOKEN_CHAR and text[end] in _TOKEN_CHAR)


class SessionState:
    """What one session learned so far. Not thread-safe: one session replays in order."""

    def __init__(self, max_learned: int = MAX_LEARNED) -> None:
        self.secrets: dict[str, str] = {}  # key or cookie name (lowercase) -> fresh value
        self.cookies: dict[str, str] = {}  # cookies the target set
        self.index = _Index(max_learned)
        self.values = self.index.values  # recorded minted value -> replayed value
        self.bearer: str | None = None
        self._learned_at: dict[str, int] = {}  # key -> values learned there
        self.churn: set[str] = set()  # keys found to change on every response
        self._fresh: set[str] = set()  # keys the response being learned from taught
        self._quiet: dict[str, bool] = {}  # key -> whether its values are noise

    # -- learning -------------------------------------------------------------------------

    def learn(self, recorded: Response | None, actual: Response | None) -> Parsed | None:
        """Learn from one (recorded, replayed) response pair of this session: the cookies
        the target set, and what it returned in place of recorded secrets and ids.

        Returns the two JSON documents when both bodies were parsed (`Parsed`: nothing here
        keeps or changes them; the caller may hand them on, to be parsed once), else None."""
        if actual is None:
            return None
        location = self._learn_headers(actual)
        if recorded is None or recorded.body == actual.body and not location:
            return None  # nothing differs: nothing to learn (the common case, and cheap)
        act_loc = header_get(actual.headers, "location") if location else None
        rec_loc = header_get(recorded.headers, "location") if act_loc else None
        if rec_loc and act_loc and rec_loc != act_loc:
            for x, y in zip(rec_loc.split("/"), act_loc.split("/"), strict=False):
                if x != y and len(x) >= 2 and not has_marker(x):
                    self._remember(x, y, "location")
        a, b = _json(recorded.body), _json(actual.body)
        parsed: Parsed | None = None
        if a is not None and b is not None:
            self._learn_json(a, b)
            parsed = (recorded.body, a, actual.body, b)
        if self._fresh:
            self._settle()
        return parsed

    def _learn_headers(self, actual: Response) -> bool:
        """Learn the cookies `actual` sets; whether it has a `Location` header."""
        location = False
        for name, raw in actual.headers:  # one pass: Set-Cookie and Location (same lengths)
            if len(name) == 10 and name.lower() == "set-cookie":
                self._learn_cookie(raw)
            elif len(name) == 8 and name.lower() == "location":
                location = True
        return location

    def _learn_json(self, recorded: Any, actual: Any, key: str = "") -> None:
        """Learn secrets (a marker recorded where the target sent a value) and minted values
        from two JSON documents: the leaves that differ at the same positions, with their
        nearest object key (equal subtrees are skipped whole)."""
        if isinstance(recorded, dict) and isinstance(actual, dict):
            quiet = self._quiet
            for k, x in recorded.items():
                y = actual.get(k, _MISSING)
                if y is _MISSING or x == y:
                    continue
                if quiet.get(k) is True:  # a noise key: a scalar there teaches nothing
                    tx = type(x)
                    if tx is int or tx is float or (tx is str and "[REDACTED:" not in x):
                        continue  # (a marker still teaches a secret)
                self._learn_json(x, y, k if isinstance(k, str) else str(k))
        elif isinstance(recorded, list) and isinstance(actual, list):
            for x, y in zip(recorded, actual, strict=False):
                if x != y:
                    self._learn_json(x, y, key)
        elif actual is not None:
            self._learn_leaf(key, recorded, actual)

    def _learn_leaf(self, key: str, x: Any, y: Any) -> None:
        if isinstance(x, str):
            if not isinstance(y, str):
                return
            if "[REDACTED:" in x and has_marker(x):
                self.secrets[key.lower()] = y
                if _TOKENISH.search(key):
                    self.bearer = y
            elif len(x) >= 6 and not self._noise(key) and not looks_like_timestamp(x):
                self._remember(x, y, key)
        elif (
            isinstance(x, int)
            and isinstance(y, int)
            and not isinstance(x, bool)
            and key.lower().endswith("id")
            and abs(x) >= 10
            and not self._noise(key)
        ):
            self._remember(str(x), str(y), key)

    def _noise(self, key: str) -> bool:
        """Whether values at `key` are per-response noise: its name says so (`_noise_key`),
        or it changed on every response (`_settle`)."""
        noise = self._quiet.get(key)
        if noise is None:
            if len(self._quiet) > MAX_LEARNED:  # a cache: bounded (churned keys stay known)
                self._quiet = dict.fromkeys(self.churn, True)
            noise = self._quiet[key] = _noise_key(key) or key in self.churn
        return noise

    def _learn_cookie(self, raw: str) -> None:
        try:
            jar: SimpleCookie = SimpleCookie()
            jar.load(raw)
        except Exception:
            return
        for name, morsel in jar.items():
            self.cookies[name] = morsel.value

    def _remember(self, recorded: str, actual: str, key: str) -> None:
        """Learn `recorded` -> `actual`, found at `key`, unless `key` has proven to be
        per-response noise (`_settle`)."""
        if key not in self.churn and self.index.add(recorded, actual, key):
            self._fresh.add(key)

    def _settle(self) -> None:
        """Count the response just learned from for each key it taught a value: a key that
        did so in `CHURN_AFTER` responses, none of whose values a request used since, changes
        on every response. It is not learned from any more, and what it taught goes."""
        if len(self._learned_at) > MAX_LEARNED:  # keys made of data (ids as keys): bounded
            self._learned_at.clear()
        for key in self._fresh:
            n = self._learned_at[key] = self._learned_at.get(key, 0) + 1
            if n >= CHURN_AFTER and key not in self.index.used:
                self.churn.add(key)
                self._quiet[key] = True
                for old in [v for v, k in self.index.origin.items() if k == key]:
                    self.index.forget(old)  # once per key
        self._fresh.clear()

    # -- rewriting ------------------------------------------------------------------------

    def _swap(self, text: str) -> str:
        return self.index.swap(text)

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
        swap = self.index.swap
        path, query = swap(req.path), swap(req.query)
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
            headers.append((name, swap(value)))
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
                new = self.index.get(node)
                if new is not None:
                    changed = True
                    return new
            if isinstance(node, int) and not isinstance(node, bool):
                new = self.index.get(str(node))
                if new is not None and new.lstrip("-").isdigit():
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
