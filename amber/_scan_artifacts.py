"""`ArtifactScanner`: `amber scan` reads what it scans, and asks the sanitizer.

An artifact amber wrote is clean iff sanitizing it again changes nothing. So each artifact
is parsed into what capture sanitizes, and the same `Sanitizer` (header, key, value and body
rules) runs over it; every change it would make is a finding, named by where it is (file,
line or entry, and the location inside: `entry 12 request.headers.x-api-key`), its rule, and
never its value.

- HAR: each entry an `Exchange` (headers, query, cookies, postData text and params,
  response content incl. base64, redirectURL, comments); amber's own HAR is streamed an
  entry at a time, any other is loaded whole.
- JSONL export: one `Exchange` per line, streamed.
- store (SQLite file, `--store` URL): its exchanges, streamed, and its replay/shadow run
  results (differences' expected/actual values under their field's key, errors); read-only.
- fixture YAML: each row a JSON object under its table (column names by the key rules,
  values by the key and value rules), line by line.
- generated pytest file: string literals (value rules; a JSON literal as a JSON body),
  dict keys, keywords and assignments with their values (key rules).
- anything else: text, the value detectors, line by line.

Neither amber's markers and pseudonyms nor other tools' redaction markers (`[REDACTED]`,
`<redacted>`, `***`, `xxxx`, `[FILTERED]`, `<hidden>`, `REDACTED`...) are findings, nor a
value declared in `fixtures.known_values` (a documented test password hash), nor the test
identity's declared values and its password's hash (`testing.identity`). Pseudonyms
that carry no recognisable range (names, usernames, addresses, words) count as amber's when
they are exactly what amber's generators make from its word lists (`amber._words`: a
first and last name, a username pattern, an address of listed street, town and state);
ids (`customer_id`) cannot be told apart from amber's and are not reported.

One module because every artifact is checked by one rule, the sanitizer's idempotence:
the parsers only turn each format into exchanges or JSON values, and one comparison of
before and after (with its marker, pseudonym and location handling) says what is found.
"""

from __future__ import annotations

import ast
import base64
import dataclasses
import json
import re
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from typing import TypeVar
from urllib.parse import parse_qsl

from amber import _words
from amber._config import Config
from amber._decode import decode_body
from amber._identity import TestIdentity
from amber._model import Exchange
from amber._model import Headers
from amber._model import Request
from amber._model import Response
from amber._model import loads_json
from amber._model import printable
from amber._pseudonym import FOREIGN_MARKER
from amber._pseudonym import MARKER_RE
from amber._pseudonym import Pseudonymizer
from amber._pseudonym import is_synthetic
from amber.errors import SanitizeError
from amber.sanitize import SanitizeConfig
from amber.sanitize import Sanitizer
from amber.sanitize import scan_bytes

__all__ = ["FOREIGN_MARKER", "ArtifactScanner", "Hit", "declared_known", "looks_amber_pseudonym"]

_M = TypeVar("_M", Request, Response)
_HEADER_NAME = re.compile(
    r"(?i)cookie|set-cookie|authorization|proxy-authorization|[a-z0-9]+(?:-[a-z0-9]+)+"
)
_SCAN_KEY = b"amber-scan-never-stores-these-pseudonyms"
_MAX_DECODED = 64 * 1024 * 1024

_NEUTRAL = "[REDACTED:other-tool]"
_MARKER_WORDS = ("filtered", "hidden", "masked", "removed", "scrubbed", "omitted")


def _maybe_marker_bytes(data: bytes) -> bool:
    """`_maybe_marker` of a body."""
    if not data:
        return False
    if b"***" in data or b"xxxx" in data or b"XXXX" in data or b"{{amber:" in data:
        return True
    low = data.lower()
    if low.count(b"redacted") > data.count(b"[REDACTED:"):
        return True
    if any(w.encode() in low for w in _MARKER_WORDS):
        return True
    return b"[secret]" in low or b"<secret>" in low


def _maybe_marker(text: str) -> bool:
    """A cheap first look (substring search) before the marker pattern runs over a body;
    amber's own `[REDACTED:rule]` markers do not count."""
    if "***" in text or "xxxx" in text or "XXXX" in text or "{{amber:" in text:
        return True
    low = text.lower()
    if low.count("redacted") > text.count("[REDACTED:"):
        return True
    if any(w in low for w in _MARKER_WORDS):
        return True
    return "[secret]" in low or "<secret>" in low


@dataclass(frozen=True)
class Hit:
    """One finding: `where` (file:line, entry or exchange), `rule`, and `location` inside
    it (`request.headers.x-api-key`, `response.body$.user.email`, `column password`).
    Never the value."""

    where: str
    rule: str
    location: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"where": self.where, "rule": self.rule, "location": self.location}


# -- amber's own pseudonyms -------------------------------------------------------------


@lru_cache(maxsize=1)
def _lists() -> tuple[frozenset[str], ...]:
    """The word lists amber's pseudonyms are drawn from, as sets."""
    return tuple(
        frozenset(words)
        for words in (
            _words.FIRST_NAMES,
            _words.LAST_NAMES,
            _words.WORDS,
            _words.STREETS,
            _words.STREET_SUFFIXES,
            _words.CITIES,
            _words.STATES,
        )
    )


@lru_cache(maxsize=1)
def _low_names() -> tuple[frozenset[str], frozenset[str]]:
    """The first and last names as amber's usernames spell them (lower case)."""
    return (
        frozenset(n.lower() for n in _words.FIRST_NAMES),
        frozenset(n.lower() for n in _words.LAST_NAMES),
    )


_ADDRESS = re.compile(
    r"([1-9][0-9]{2,3}) ([A-Za-z]+) ([A-Za-z]+)(?: Apt\. [1-9][0-9]?| Suite [1-9][0-9]{2})?, "
    r"([A-Za-z ]+), ([A-Z]{2}) [1-9][0-9]{4}"
)


def _is_address(value: str) -> bool:
    """Exactly the shape `amber._pseudonym` builds an address in, from its lists."""
    m = _ADDRESS.fullmatch(value)
    if m is None:
        return False
    _, _, _, streets, suffixes, cities, states = _lists()
    _, street, suffix, city, state = m.groups()
    return street in streets and suffix in suffixes and city in cities and state in states


def _is_username(value: str) -> bool:
    """`first` + `l` + n, `first_last` or `f` + `last` + n, n in 0..99 (lists lower-cased)."""
    low_first, low_last = _low_names()
    a, sep, b = value.partition("_")
    if sep:
        return a in low_first and b in low_last
    m = re.fullmatch(r"([a-z]+)(0|[1-9][0-9]?)", value)
    if m is None:
        return False
    word = m.group(1)
    return (word[:-1] in low_first and any(n.startswith(word[-1]) for n in low_last)) or (
        word[1:] in low_last and any(n.startswith(word[0]) for n in low_first)
    )


def looks_amber_pseudonym(kind: str, value: str) -> bool:
    """Could `value` be amber's pseudonym of `kind`? (The ranges of emails, IPs and phones;
    for names, usernames, addresses and words: exactly a value the generators can make
    from amber's word lists; ids always.)"""
    if kind in ("email", "ip", "ipv6", "phone"):
        return is_synthetic(kind, value)
    first, last, words = _lists()[:3]
    if kind == "name":
        a, _, b = value.partition(" ")
        return a in first and b in last
    if kind == "first_name":
        return value in first
    if kind == "last_name":
        return value in last
    if kind == "username":
        return _is_username(value)
    if kind == "address":
        return _is_address(value)
    if kind == "text":
        parts = value.split(" ")
        return 1 <= len(parts) <= 12 and all(w in words for w in parts)
    return kind == "customer_id"


class _ScanPseudonyms(Pseudonymizer):
    """Leaves what could be amber's own pseudonym as it is, so that re-sanitizing amber's
    output changes nothing; anything else gets a (throw-away) pseudonym: a change."""

    def pseudonym(self, kind: str, value: str) -> str:
        if looks_amber_pseudonym(kind, value.strip()):
            return value
        fake = super().pseudonym(kind, value)
        return fake if fake != value else fake + "-"


# -- where the sanitizer changed an exchange ---------------------------------------------


def _header_changes(prefix: str, old: Headers, new: Headers) -> set[str]:
    if old == new:
        return set()

    def group(hs: Headers) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for k, v in hs:
            out.setdefault(k.lower(), []).append(v)
        return out

    a, b = group(old), group(new)
    return {f"{prefix}.{k}" for k in a.keys() | b.keys() if a.get(k) != b.get(k)}


def _query_changes(prefix: str, old: str, new: str) -> set[str]:
    if old == new:
        return set()
    a = parse_qsl(old, keep_blank_values=True)
    b = parse_qsl(new, keep_blank_values=True)
    if len(a) != len(b):
        return {prefix}
    return {
        f"{prefix}.{ka}" for (ka, va), (kb, vb) in zip(a, b, strict=True) if (ka, va) != (kb, vb)
    }


def _json_changes(prefix: str, a: Any, b: Any, out: set[str]) -> None:
    if type(a) is not type(b):
        out.add(prefix)
    elif isinstance(a, dict):
        if list(a) != list(b):
            out.add(prefix)
            return
        for k in a:
            key = f".{k}" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", k) else f"[{json.dumps(k)}]"
            _json_changes(prefix + key, a[k], b[k], out)
    elif isinstance(a, list):
        if len(a) != len(b):
            out.add(prefix)
            return
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _json_changes(f"{prefix}[{i}]", x, y, out)
    elif a != b and not (isinstance(a, str) and _marked(a)):
        out.add(prefix)


def _marked(value: str) -> bool:
    """A value that is amber's marker behind at most a scheme word (`Bearer [REDACTED:x]`,
    what the header rules write): masking it whole under a key rule hides nothing more."""
    rest = MARKER_RE.sub("", value) if "[REDACTED:" in value else value
    return rest != value and _SCHEME_ONLY.fullmatch(rest) is not None


# an auth scheme (letters only, or AWS's): not room for a secret beside the marker
# A form-encoded body: two `name=value` fields or more joined by `&`, no whitespace.
_FORM_BODY = re.compile(rb"[\w.%\[\]-]{1,128}=[^&\s]*(?:&[\w.%\[\]-]{1,128}=[^&\s]*)+")
_SCHEME_ONLY = re.compile(r"\s*(?:[A-Za-z][A-Za-z-]{0,19}|AWS4-HMAC-SHA256)?\s*")


def _body_changes(prefix: str, old: bytes, new: bytes) -> set[str]:
    if old == new:
        return set()
    try:
        a, b = loads_json(old), loads_json(new)
    except ValueError:
        return {prefix}
    out: set[str] = set()
    if a != b:  # (re-serialized but equal: a deep compare in C, no walk)
        _json_changes(prefix + "$", a, b, out)
    return out


def _changes(old: Exchange, new: Exchange) -> set[str]:
    out: set[str] = set()
    rq, nq = old.request, new.request
    out |= _header_changes("request.headers", rq.headers, nq.headers)
    out |= _query_changes("request.query", rq.query, nq.query)
    if rq.path != nq.path:
        out.add("request.path")
    if rq.host != nq.host:
        out.add("request.host")
    if rq.host_header != nq.host_header:
        out.add("request.host_header")
    out |= _body_changes("request.body", rq.body, nq.body)
    if old.response is not None and new.response is not None:
        rs, ns = old.response, new.response
        out |= _header_changes("response.headers", rs.headers, ns.headers)
        out |= _body_changes("response.body", rs.body, ns.body)
        if rs.reason != ns.reason:
            out.add("response.reason")
    if old.error != new.error:
        out.add("error")
    if old.client_addr != new.client_addr:
        out.add("client_addr")
    return out


def _under(location: str, changed: str) -> bool:
    if (
        location == changed
        or changed == location[: len(changed)]
        and (location[len(changed) : len(changed) + 1] in (".", "[", "$", ":"))
    ):
        return True
    # a change found deeper than the rule's location (a whole object masked, a header
    # whose cookie attribute changed)
    return location == changed[: len(location)] and changed[len(location) : len(location) + 1] in (
        ".",
        "[",
        "$",
        ":",
    )


# -- the scanner ------------------------------------------------------------------------


def declared_known(config: Config) -> list[str]:
    """What a config declares as amber's own test values: `fixtures.known_values`, and the
    test identity's values (`testing.identity`: user, password, API key, bearer token,
    the Basic credential) with the hash fixtures write for its password. Values whose
    `${ENV}` is not set are left out (the scan cannot know them)."""
    from amber._identity import identity_from_config

    fixtures = config.section("fixtures")
    values = fixtures.get("known_values")
    out = (
        [str(v) for v in values.values() if isinstance(v, str | int)]
        if isinstance(values, dict)
        else []
    )
    identity = identity_from_config(config)
    if identity is not None:
        out += identity.known_values()
    return out


_FIRST_NAME = re.compile(r"[^.\[]*")  # a column's name: before a nested key or index


def declared_kept(config: Config) -> list[str]:
    """The fixture columns a config declares as kept as they are (`fixtures.keep`, and
    `fixtures.anonymize` entries of kind `keep`), as `table.column`: the user said they
    hold nothing to hide, so a fixture's cells there are not findings."""
    fixtures = config.section("fixtures")
    keep = fixtures.get("keep")
    out = [str(k) for k in keep] if isinstance(keep, list) else []
    anon = fixtures.get("anonymize")
    if isinstance(anon, dict):
        out += [str(k) for k, v in anon.items() if v == "keep"]
    return out


class ArtifactScanner:
    """Finds, in parsed artifacts, what the sanitizer would still change.

    **Parameters:**

    * `config` - the same `SanitizeConfig` capture uses (`sanitize:` of amber.yaml).
    * `rules` - report only these rule names (default: all).
    * `known` - values declared as amber's (`fixtures.known_values`): never findings.
    * `identity` - the test identity (`testing.identity`): its declared values and the
      hash fixtures write for its password are never findings (`declared_known` gives
      both lists from a config).
    * `key` - the pseudonym key (`load_key()`), when there is one: the sanitizer then
      knows amber's own output as capture does. The scan never writes a pseudonym.
    * `kept` - fixture columns declared as kept (`table.column`, `declared_kept`): their
      cells in fixture files are not findings.
    """

    def __init__(
        self,
        config: SanitizeConfig | None = None,
        rules: Sequence[str] | None = None,
        known: Iterable[str] = (),
        key: bytes | None = None,
        identity: TestIdentity | None = None,
        kept: Iterable[str] = (),
    ) -> None:
        self.config = config or SanitizeConfig()
        self.kept = frozenset(kept)
        self.sanitizer = Sanitizer(self.config, _ScanPseudonyms(key or _SCAN_KEY))
        self.rules = frozenset(rules) if rules else None
        declared = [*known, *(identity.known_values() if identity is not None else ())]
        self.known = sorted({k for k in declared if len(k) >= 6}, key=len, reverse=True)

    # -- building blocks ----------------------------------------------------------------

    def neutral(self, text: str) -> str:
        """`text` with other tools' markers and declared known values turned into amber's
        marker (for scanning only: what they stand for is not in the artifact)."""
        for k in self.known:
            if k in text:
                text = text.replace(k, _NEUTRAL)
        if not _maybe_marker(text):
            return text
        return FOREIGN_MARKER.sub(_NEUTRAL, text)

    def _neutral_bytes(self, data: bytes) -> bytes:
        if not data:
            return data
        text = data.decode("latin-1")
        new = self.neutral(text)
        return data if new == text else new.encode("latin-1", "replace")

    def _prepare(self, ex: Exchange) -> Exchange:
        """`ex` as the sanitizer is to see it: bodies decoded, other tools' markers and
        declared values neutral, no redactions (an imported amber HAR lists its own)."""

        def heads(hs: Headers) -> Headers:
            new = tuple((k, self.neutral(v)) for k, v in hs)
            return hs if new == hs else new

        rq, rs = ex.request, ex.response
        if not self.known and not rq.content_encoding and (rs is None or not rs.content_encoding):
            # the common case, in one look: no marker of another tool anywhere
            texts = [v for _, v in rq.headers]
            texts += (rq.query, rq.path, ex.error or "")
            if rs is not None:
                texts += [v for _, v in rs.headers]
                texts.append(rs.reason)
            if (
                not _maybe_marker("\n".join(texts))
                and not _maybe_marker_bytes(rq.body)
                and (rs is None or not _maybe_marker_bytes(rs.body))
            ):
                return dataclasses.replace(ex, redactions=()) if ex.redactions else ex
        req = self._message(ex.request, heads)
        resp = self._message(ex.response, heads) if ex.response is not None else None
        error = self.neutral(ex.error) if ex.error else ex.error
        if req is ex.request and resp is ex.response and error == ex.error and not ex.redactions:
            return ex
        return dataclasses.replace(ex, request=req, response=resp, error=error, redactions=())

    def _message(self, msg: _M, heads: Callable[[Headers], Headers]) -> _M:
        body, enc = msg.body, msg.content_encoding
        if enc:
            decoded = decode_body(body, enc, max_decoded=_MAX_DECODED)
            if not decoded.undecodable:
                body, enc = decoded.body, None
        body = self._neutral_bytes(body)
        headers = heads(msg.headers)
        changes: dict[str, Any] = {}
        if body is not msg.body:
            changes.update(body=body, content_encoding=enc)
        if headers is not msg.headers:
            changes["headers"] = headers
        if isinstance(msg, Request):
            query, path = self.neutral(msg.query), self.neutral(msg.path)
            if query != msg.query or path != msg.path:
                changes.update(query=query, path=path)
        elif msg.reason:
            reason = self.neutral(msg.reason)
            if reason != msg.reason:
                changes["reason"] = reason
        return dataclasses.replace(msg, **changes) if changes else msg

    def _location(self, location: str) -> str:
        """A location safe to print: a key that is itself a secret or an email (amber
        redacts those too) is shown as its marker."""
        out, _ = self.sanitizer.sanitize_text(location, "location")
        return out

    def exchange(self, ex: Exchange, where: str) -> Iterator[Hit]:
        """What sanitizing `ex` again would change, as findings at `where`."""
        old = self._prepare(ex)
        try:
            new = self.sanitizer.sanitize(old)
        except SanitizeError:
            # capture would have dropped it: unchecked data is a finding (closed for data)
            yield Hit(where, "unsanitizable", "exchange")
            return
        changed = _changes(old, new)
        if not changed:
            return
        seen: set[tuple[str, str]] = set()
        matched: set[str] = set()
        for r in new.redactions:
            hit_parts = [c for c in changed if _under(r.location, c)]
            if not hit_parts:
                continue
            matched.update(hit_parts)
            if self.rules is not None and r.rule not in self.rules:
                continue
            key = (r.rule, r.location)
            if key not in seen:
                seen.add(key)
                yield Hit(where, r.rule, self._location(r.location))
        for c in sorted(changed - matched):
            # a change no redaction names (never silent)
            if self.rules is None:
                yield Hit(where, "changed-by-sanitizer", self._location(c))

    def json_value(self, obj: Any, where: str, name: str) -> Iterator[Hit]:
        """Findings in a JSON value, checked as capture checks a JSON body: key rules on
        its keys, value rules on its leaves; locations start with `name`."""
        body = json.dumps(obj, ensure_ascii=False, default=str).encode()
        ex = _probe(
            response=Response(200, headers=(("content-type", "application/json"),), body=body)
        )
        for hit in self.exchange(ex, where):
            loc = hit.location.removeprefix("response.body$")
            yield Hit(hit.where, hit.rule, name + loc)

    def form_value(self, data: bytes, where: str) -> Iterator[Hit]:
        """Findings in a form-encoded body (a literal `b"name=bob&phone=%2B1+415..."`),
        checked as capture checks one: field names by the key rules, values decoded (`+` a
        space) by the value rules."""
        ex = _probe("POST", (("content-type", "application/x-www-form-urlencoded"),), data)
        for hit in self.exchange(ex, where):
            yield Hit(hit.where, hit.rule, hit.location.replace("request.body.form", "form", 1))

    def header(self, name: str, value: str, where: str) -> Iterator[Hit]:
        """Findings in one request header, checked by the header rules."""
        yield from self.exchange(_probe(headers=((name, value),)), where)

    def text(self, data: bytes, where: str, line_base: int = 0) -> Iterator[Hit]:
        """The value detectors over text, line and column; other tools' markers and
        declared values are not findings."""
        rules = sorted(self.rules) if self.rules is not None else None
        text: str | None = None
        for f in scan_bytes(data, config=self.config, rules=rules):
            if text is None:
                text = data.decode("latin-1")
            span = text[max(0, f.offset - 8) : f.offset + f.length + 8]
            inner = text[f.offset : f.offset + f.length]
            if self.neutral(inner) != inner:
                continue
            if self.known and any(k in span or inner in k for k in self.known):
                continue
            yield Hit(f"{where}:{f.line + line_base}:{f.column}", f.rule)

    # -- artifacts ----------------------------------------------------------------------

    def har(self, path: Path) -> Iterator[Hit]:
        """Every entry of a HAR file. amber's own HAR (an entry a line) is streamed, an
        entry at a time; any other HAR is loaded whole (it is one JSON document)."""
        from amber._har import _AMBER_HEAD

        with path.open("rb") as fp:
            first = fp.readline(65536).removeprefix(b"\xef\xbb\xbf")
            if _AMBER_HEAD.match(first):
                for i, line in enumerate(_amber_entry_lines(fp)):
                    try:
                        entry = loads_json(line)
                    except ValueError:
                        yield Hit(f"{path} entry {i}", "unreadable-entry", "entry")
                        yield from self.text(line, f"{path} entry {i}")
                        continue
                    yield from self._entry(entry, f"{path} entry {i}")
                return
            doc = loads_json(first + fp.read())
        entries = doc["log"]["entries"]
        del doc
        for i, entry in enumerate(entries):
            yield from self._entry(entry, f"{path} entry {i}")

    def _entry(self, entry: Any, where: str) -> Iterator[Hit]:
        from amber._har import _Bad
        from amber._har import _exchange

        if not isinstance(entry, dict):
            yield Hit(where, "unreadable-entry", "entry")
            return
        entry.pop("_amber_redactions", None)  # what amber did then; not read here
        ex: Exchange | None
        try:
            ex = _exchange(entry)
        except _Bad as e:
            yield Hit(where, "unreadable-entry", e.field)
            ex = None
        except (ValueError, TypeError, KeyError, AttributeError):
            yield Hit(where, "unreadable-entry", "entry")
            ex = None
        hits: dict[tuple[str, str], Hit] = {}
        if ex is not None:
            ex = _with_mime_types(ex, entry)
            for h in self.exchange(ex, where):
                hits.setdefault((h.rule, h.location), h)
        for h in self._har_extras(entry, where, ex):
            hits.setdefault((h.rule, h.location), h)
        yield from hits.values()

    def _har_extras(
        self, entry: dict[str, Any], where: str, seen: Exchange | None
    ) -> Iterator[Hit]:
        """What the import does not carry into an exchange: cookie arrays, queryString
        pairs, postData params beside a text, redirectURL (each unless the headers or the
        URL already hold it, as in amber's own HAR), comments and custom fields."""
        req = entry.get("request") if isinstance(entry.get("request"), dict) else {}
        resp = entry.get("response") if isinstance(entry.get("response"), dict) else {}
        assert isinstance(req, dict) and isinstance(resp, dict)

        def pairs(items: Any) -> list[tuple[str, str]]:
            if not isinstance(items, list):
                return []
            return [
                (str(p.get("name", "")), str(p.get("value") or ""))
                for p in items
                if isinstance(p, dict)
            ]

        from urllib.parse import urlencode

        have = ""
        if seen is not None and (
            req.get("cookies") or resp.get("cookies") or resp.get("redirectURL")
        ):
            resp_heads = seen.response.headers if seen.response else ()
            have = " ".join(v for _, v in (*seen.request.headers, *resp_heads))
        req_h: list[tuple[str, str]] = [
            ("cookie", f"{n}={v}") for n, v in pairs(req.get("cookies")) if f"{n}={v}" not in have
        ]
        resp_h: list[tuple[str, str]] = [
            ("set-cookie", f"{n}={v}")
            for n, v in pairs(resp.get("cookies"))
            if f"{n}={v}" not in have
        ]
        redirect = resp.get("redirectURL")
        if isinstance(redirect, str) and redirect and redirect not in have:
            resp_h.append(("location", redirect))
        qs = pairs(req.get("queryString"))
        if seen is not None and qs == parse_qsl(seen.request.query, keep_blank_values=True):
            qs = []
        query = urlencode(qs)
        body = b""
        post = req.get("postData")
        if isinstance(post, dict) and isinstance(post.get("text"), str):
            params = pairs(post.get("params"))
            if params:
                body = urlencode(params).encode()
        if req_h or resp_h or query or body:
            ex = Exchange(
                id="har",
                request=Request(
                    method="POST" if body else "GET",
                    scheme="http",
                    host="scan.invalid",
                    port=80,
                    path="/",
                    query=query,
                    headers=tuple(req_h)
                    + ((("content-type", "application/x-www-form-urlencoded"),) if body else ()),
                    body=body,
                ),
                response=Response(status=200, headers=tuple(resp_h)),
            )
            for h in self.exchange(ex, where):
                loc = h.location
                loc = loc.replace("request.headers.cookie", "request.cookies")
                loc = loc.replace("response.headers.set-cookie", "response.cookies")
                loc = loc.replace("response.headers.location", "response.redirectURL")
                loc = loc.replace("request.query", "request.queryString")
                loc = loc.replace("request.body.form", "request.postData.params")
                yield Hit(h.where, h.rule, loc)
        custom = {
            k: v
            for part, obj in (("entry", entry), ("request", req), ("response", resp))
            for k, v in obj.items()
            if k[:1] in "_c"
            if k == "comment" or (k.startswith("_") and not k.startswith("_amber"))
            if not (part == "response" and k == "_error")
        }
        if custom:
            data = json.dumps(custom, ensure_ascii=False, default=str).encode()
            for h in self.text(data, where):
                yield Hit(where, h.rule, "custom fields")

    def jsonl(self, path: Path) -> Iterator[Hit]:
        """JSON lines, streamed: an exchange per line (a JSONL export), or records of
        anything else (the audit log, JSON logs), each checked as a JSON body (key rules on
        its keys, value rules on its values); a line that is not JSON, as text."""
        with path.open("rb") as fp:
            for lineno, line in enumerate(fp, start=1):
                if not line.strip():
                    continue
                where = f"{path}:{lineno}"
                try:
                    doc = loads_json(line)
                except ValueError:
                    yield from self.text(line, str(path), lineno - 1)
                    continue
                if isinstance(doc, dict) and "request" in doc and "id" in doc:
                    try:
                        ex = Exchange.from_dict(doc)
                    except (ValueError, TypeError, KeyError, AttributeError):
                        pass
                    else:
                        yield from self.exchange(ex, f"{where} exchange {printable(ex.id)}")
                        continue
                yield from self.json_value(doc, where, "$")

    def fixture(self, path: Path) -> Iterator[Hit]:
        """A fixture file (fixtures/ format, version 1): each row under its table and
        column names, line by line; everything else as text."""
        import yaml

        table = ""
        in_rows = False
        with path.open("rb") as fp:
            for lineno, raw in enumerate(fp, start=1):
                line = raw.decode("utf-8", "replace")
                m = re.match(r"^- name: (.+?)\s*$", line)
                if m is not None:
                    table = _yaml_scalar(m.group(1))
                    in_rows = False
                    continue
                if re.match(r"^  rows:", line):
                    in_rows = True
                    continue
                if in_rows and line.startswith("  - "):
                    row = _row(line[4:], yaml)
                    if isinstance(row, dict):
                        where = f"{path}:{lineno}"
                        # the table's name is the rows' context, not a key that holds a
                        # secret: under `auth_user` (the marker `auth`: Django's users) every
                        # cell would be a finding
                        keyed = not table or self.sanitizer.keys.classify(table) is not None
                        wrap = "rows" if keyed else table
                        for h in self.json_value({wrap: [row]}, where, ""):
                            column = h.location.partition("[0]")[2].lstrip(".")
                            first = _FIRST_NAME.match(column)
                            if first and f"{table}.{first.group(0)}" in self.kept:
                                continue  # declared kept (fixtures.keep)
                            yield Hit(h.where, h.rule, f"table {table} column {column}")
                        continue
                elif not line.startswith("  "):
                    in_rows = False
                yield from self.text(raw, str(path), lineno - 1)

    def python(self, path: Path) -> Iterator[Hit]:
        """A Python file (a generated test): string literals with the value rules (JSON
        ones as JSON bodies), dict keys and keyword arguments with their values under the
        key rules."""
        data = path.read_bytes()
        try:
            tree = ast.parse(data)
        except (SyntaxError, ValueError):
            yield from self.text(data, str(path))
            return
        for node in ast.walk(tree):
            pairs: list[tuple[str, Any, int]] = []
            if isinstance(node, ast.Dict):
                for k, v in zip(node.keys, node.values, strict=True):
                    if isinstance(k, ast.Constant) and isinstance(k.value, str):
                        pairs.append((k.value, _literal(v), k.lineno))
            elif isinstance(node, ast.Call):
                for kw in node.keywords:
                    if kw.arg:
                        pairs.append((kw.arg, _literal(kw.value), kw.value.lineno))
            elif isinstance(node, ast.Assign) and len(node.targets) == 1:
                t = node.targets[0]
                if isinstance(t, ast.Name):
                    pairs.append((t.id, _literal(node.value), node.lineno))
            for key, value, lineno in pairs:
                if isinstance(value, str) and _HEADER_NAME.fullmatch(key):
                    # a header dict (`{"cookie": "sid=[REDACTED:cookie]; theme=dark"}`):
                    # the header rules, as capture applied them
                    for h in self.header(key, value, f"{path}:{lineno}"):
                        yield Hit(h.where, h.rule, f"key {key}")
                elif isinstance(value, (str, int)) and not isinstance(value, bool):
                    for h in self.json_value({key: value}, f"{path}:{lineno}", ""):
                        yield Hit(h.where, h.rule, f"key {h.location.lstrip('.')}")
            if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
                yield from self._literal_hits(node.value, f"{path}:{node.lineno}")

    def _literal_hits(self, value: str | bytes, where: str) -> Iterator[Hit]:
        data = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
        stripped = data.strip()
        if stripped[:1] in (b"{", b"["):
            try:
                obj = loads_json(stripped)
            except ValueError:
                obj = None
            if obj is not None:
                yield from self.json_value(obj, where, "literal$")
                return
        if _FORM_BODY.fullmatch(stripped) is not None:
            # a form body: its `+` is a space (`phone=%2B1+415+867+5309`), read as capture
            # reads forms; the text rules below still run on it as written
            found = list(self.form_value(stripped, where))
            yield from found
            if found:
                return
        for h in self.text(data, where):
            yield Hit(where, h.rule, "literal")

    def store(self, url: str, where: str) -> Iterator[Hit]:
        """A store's exchanges and its replay/shadow run results, opened read-only."""
        from amber._runs import RunLog
        from amber._store import Store

        with Store.open(url, read_only=True) as store:
            for ex in store.iter_exchanges():
                yield from self.exchange(ex, f"{where} exchange {ex.id}")
            log = RunLog(store)
            for run in log.list(limit=None):
                rw = f"{where} run {run.id}"
                meta = {"target": run.target, "params": run.params, "summary": run.summary}
                yield from self.json_value(meta, rw, "run")
                for i, r in enumerate(log.results(run.id)):
                    yield from self._result(r, f"{rw} result {i} (exchange {r.exchange_id})")

    def _result(self, r: Any, where: str) -> Iterator[Hit]:
        if r.error:
            for h in self.json_value({"error": r.error}, where, ""):
                yield Hit(h.where, h.rule, "error")
        for j, d in enumerate(r.differences or ()):
            if not isinstance(d, dict):
                continue
            field = _last_key(str(d.get("path") or ""))
            for side in ("expected", "actual"):
                if side in d:
                    obj = {field: d[side]} if field else [d[side]]
                    for h in self.json_value(obj, where, ""):
                        yield Hit(h.where, h.rule, f"differences[{j}].{side}")
        paths = list(r.regression_paths or ()) + list(r.suppressed_paths) + list(r.noise_paths)
        if paths or r.path:
            data = json.dumps([r.path, *paths]).encode()
            for h in self.text(data, where):
                yield Hit(where, h.rule, "paths")


def _probe(
    method: str = "GET",
    headers: Headers = (),
    body: bytes = b"",
    response: Response | None = None,
) -> Exchange:
    """An exchange that carries one value to check (a header, a form or JSON body) through
    the rules capture applies, to a host that cannot exist."""
    request = Request(
        method=method,
        scheme="http",
        host="scan.invalid",
        port=80,
        path="/",
        headers=headers,
        body=body,
    )
    return Exchange(id="scan", request=request, response=response)


def _amber_entry_lines(fp: Any) -> Iterator[bytes]:
    """The entry lines of a HAR amber wrote (one JSON object a line, up to `]}}`)."""
    for line in fp:
        stripped = line.strip()
        if stripped == b"]}}":
            return
        if stripped:
            yield stripped[:-1] if stripped.endswith(b",") else stripped


def _with_mime_types(ex: Exchange, entry: dict[str, Any]) -> Exchange:
    """The HAR's `postData.mimeType` and `content.mimeType` as content types, where the
    headers carry none: they say how to read the bodies (a multipart field, JSON)."""

    def mime(obj: Any, key: str) -> str:
        inner = obj.get(key) if isinstance(obj, dict) else None
        value = inner.get("mimeType") if isinstance(inner, dict) else None
        return value if isinstance(value, str) else ""

    req, resp = ex.request, ex.response
    post = mime(entry.get("request"), "postData")
    if post and req.body and req.content_type is None:
        req = dataclasses.replace(req, headers=(*req.headers, ("content-type", post)))
    content = mime(entry.get("response"), "content")
    if content and resp is not None and resp.body and resp.content_type is None:
        resp = dataclasses.replace(resp, headers=(*resp.headers, ("content-type", content)))
    if req is ex.request and resp is ex.response:
        return ex
    return dataclasses.replace(ex, request=req, response=resp)


def _last_key(path: str) -> str:
    m = re.search(r"[.$]([A-Za-z_][A-Za-z0-9_-]*)$|\[\"((?:[^\"\\]|\\.)*)\"\]$", path)
    if m is None:
        return ""
    return m.group(1) or m.group(2) or ""


def _yaml_scalar(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _row(text: str, yaml: Any) -> Any:
    text = text.strip()
    if text.startswith('{"'):
        try:
            return loads_json(text)
        except ValueError:
            pass
    try:
        row = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return None
    if isinstance(row, dict):
        return {
            str(k): (base64.b64encode(v).decode() if isinstance(v, bytes) else v)
            for k, v in row.items()
        }
    return row


def _literal(node: ast.expr) -> Any:
    if isinstance(node, ast.Constant):
        v = node.value
        if isinstance(v, bytes):
            return v.decode("latin-1")
        return v
    return None
