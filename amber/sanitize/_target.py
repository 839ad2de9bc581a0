"""`TargetSanitizer`: a target's live response put in the capture's sanitized space.

Replay, shadow and snapshot tests compare what a target answers with what was recorded,
and the recording is sanitized: a real name is stored as its pseudonym, a token as
`[REDACTED:<rule>]`. Comparing the raw answer with it would report every pseudonymized
field as different, and keep the raw values in run results and reports. So the answer goes
through the same `Sanitizer`, with the same key, first: the keyed pseudonymizer gives the
same fake for the same real value, a marker meets a marker, and nothing raw is kept.

Cheap where it can be (a full pass of the rules over a 3 KB JSON body costs ~0.6 ms, five
times its comparison):

* a body byte-equal to the recorded one is taken as is (it *is* the stored, sanitized
  body), as is each header field equal to a recorded one (name and value) and a reason
  equal to the recorded one;
* a JSON body is compared with the recorded one first (C-level `==` per member, descending
  only into members that differ): every subtree equal to the recorded one is kept as it
  is, the rest is walked with the sanitizer's own JSON rules (`JsonWalker`, on a copy whose
  equal subtrees are blanked, so key rules, inherited verdicts and person context are
  those of the whole document), and the replacements are made in the parsed document,
  re-serialized (compact JSON: the comparison is structural). Only the leaves that differ
  (pseudonymized ones, volatile ones, real changes) and the added ones pay. Keys the rules
  would rename, truncated bodies and every other body get the full body rules;
* each differing header field gets the header rules, the reason the value rules.
  Pseudonyms are cached by the `Pseudonymizer`.

Fails closed: a body that cannot be sanitized is replaced by `[REDACTED:unsanitized-body]`
(it then differs, visibly) rather than kept raw.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING
from typing import Any
from typing import cast

import orjson

from amber._model import Exchange
from amber._model import Headers
from amber._model import Redaction
from amber._model import Response
from amber._model import exact_json_loads
from amber._pseudonym import marker

from ._json import PERSON_VERDICTS
from ._json import JsonWalker
from ._json import Path
from ._keys import Verdict
from ._sanitizer import Sanitizer

if TYPE_CHECKING:
    from ._bodies import BodySanitizer

__all__ = ["IGNORED", "UNSANITIZED_BODY", "TargetSanitizer"]

UNSANITIZED_BODY = marker("unsanitized-body").encode()
"""The body kept in place of one the sanitizer failed on."""
IGNORED = marker("ignored")
"""What replaces a differing value the comparison ignores (`response(..., ignore=)`): it
is neither sanitized nor kept."""


_loads = exact_json_loads  # integers of any width exact (`ValueError` when not JSON)

_NOT_PLAIN_JSON = ("multipart/", "ndjson", "jsonl", "json-seq", "event-stream")
_RECORDED_CACHE = 32
_FIELDS_CACHE = 4096
_MAX_PRUNED_BODY = 1024 * 1024  # above this, the full body rules (and their byte-exact edits)
_ABSENT: Any = object()
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")  # as amber.replay's noise rules spell keys
_PAIR_VALUE = ("value", "Value")
_PAIR_NAMES = frozenset(("name", "Name", "key", "Key", "NAME", "KEY"))
_WALKS_CACHE = 4096
_MAX_WALK_KEY = 1024  # bytes of a pruned document's JSON, at most, to be a `_walks` key (a
# larger one rarely repeats; the cache stays under ~4 MB)
_PATHS_CACHE = 8192


def _segment(key: str) -> str:
    """The path segment of object key `key` as noise rules spell it (`amber.replay`):
    `.name`, or `["odd key"]`."""
    if _IDENT.fullmatch(key):
        return "." + key
    return "[" + json.dumps(key, ensure_ascii=False) + "]"


class _IgnoredAt:
    """Whether the noise rules' `ignore` pattern matches a member's path (`spath` of its
    object and its key): (the member's path, whether it matches), cached (a route's
    documents repeat their keys; bounded)."""

    __slots__ = ("cache", "ignore")

    def __init__(self, ignore: re.Pattern[str]) -> None:
        self.ignore = ignore
        self.cache: dict[tuple[str, Any], tuple[str, bool]] = {}

    def __call__(self, spath: str, key: Any) -> tuple[str, bool]:
        found = self.cache.get((spath, key))
        if found is None:
            sub = spath + _segment(key) if type(key) is str else f"{spath}[{key}]"
            found = (sub, self.ignore.match(sub) is not None)
            if len(self.cache) >= _PATHS_CACHE:
                self.cache.clear()
            self.cache[(spath, key)] = found
        return found


class _Pruning:
    """What `_prune` collects: leaves equal to the recorded ones that must stay (`keep`),
    and, with an `ignore` pattern, the members it matches (`ignored`, not sanitized)."""

    __slots__ = ("ignore", "ignored", "keep", "person")

    def __init__(self, ignore: _IgnoredAt | None, person: Callable[[str], bool]) -> None:
        self.keep: set[Path] = set()
        self.ignore = ignore
        self.ignored: list[Path] = []
        self.person = person


def _prune(actual: Any, recorded: Any, path: Path, p: _Pruning, spath: str = "$") -> Any:
    """`actual` with every member equal to `recorded`'s left out, but for those whose key
    says the object is a person's (`p.person`: they decide whether a `name` is a person's),
    blanked to None (a no-op for every rule); a left-out key is the recorded one, already
    in sanitized space. In a name/value pair the name is kept (it decides the value's
    verdict) and noted in `keep`: not to be changed.
    A differing member whose path (`spath`, as noise rules spell it) `p.ignore` matches is
    blanked too and noted in `p.ignored` (the comparison ignores it: not worth sanitizing)."""
    ta = type(actual)
    if ta is not type(recorded):
        return actual
    ignore = p.ignore
    if ta is dict:
        out: dict[str, Any] = {}
        pair = "value" in actual or "Value" in actual
        for k, v in actual.items():
            was = recorded.get(k, _ABSENT)
            tv = type(v)
            if was is not _ABSENT and tv is type(was) and v == was:
                if pair and k in _PAIR_NAMES:
                    out[k] = v
                    p.keep.add((path, k))
                elif pair or p.person(k):
                    out[k] = None
                continue
            sub = ""
            if ignore is not None:
                found = ignore.cache.get((spath, k))
                sub, ignored = found if found is not None else ignore(spath, k)
                if ignored:
                    out[k] = None
                    p.ignored.append((path, k))
                    continue
            if was is _ABSENT or (tv is not dict and tv is not list):
                out[k] = v  # (what `_prune` makes of a leaf: itself)
            else:
                out[k] = _prune(v, was, (path, k), p, sub)
        return out
    if ta is list:
        if len(actual) != len(recorded):
            return actual
        items: list[Any] = []
        for i, (v, w) in enumerate(zip(actual, recorded, strict=True)):
            if type(v) is type(w) and v == w:
                items.append(None)
                continue
            sub = ""
            if ignore is not None:
                sub, ignored = ignore(spath, i)
                if ignored:
                    items.append(None)
                    p.ignored.append((path, i))
                    continue
            items.append(_prune(v, w, (path, i), p, sub))
        return items
    return actual


RESPONSE_FIELDS = (
    "status",
    "reason",
    "http_version",
    "headers",
    "body",
    "content_encoding",
    "timestamp_start",
    "timestamp_end",
    "body_truncated",
)
"""The fields of `Response` that `_replaced` copies (a test holds them to the model's)."""


def _replaced(resp: Response, headers: Headers, body: bytes, reason: str) -> Response:
    """`dataclasses.replace(resp, headers=, body=, reason=)` at a seventh of its cost (it
    looks the fields up on every call: ~10 us per replayed exchange on a busy machine)."""
    return Response(
        resp.status,
        reason,
        resp.http_version,
        headers,
        body,
        resp.content_encoding,
        resp.timestamp_start,
        resp.timestamp_end,
        resp.body_truncated,
    )


def _set(doc: Any, path: Path, value: Any) -> None:
    assert path is not None
    parent, key = path
    if parent is None:  # a member of the document itself (the common case)
        doc[key] = value
        return
    keys: list[Any] = []
    while path is not None:
        path, key = path
        keys.append(key)
    for key in keys[:0:-1]:  # keys[1:] reversed (mypyc cannot compile reversed(list[Any]))
        doc = doc[key]
    doc[keys[0]] = value


class _PrunedWalker(JsonWalker):
    """`JsonWalker` that leaves the leaves in `keep` as they are."""

    def __init__(
        self, keep: set[Path], owner: BodySanitizer, location: str, out: list[Redaction]
    ) -> None:
        # (named, not `*args`: mypyc passes a star tuple on as one argument)
        super().__init__(owner, location, out)
        self.keep = keep

    def _leaf(
        self,
        v: Any,
        verdict: Verdict,
        path: Path,
        *,
        inherited: bool = False,
        siblings: dict[str, Any] | None = None,
    ) -> Any:
        if v is None or path in self.keep:
            # a blanked member (or a null: no rule changes one), or a name/value pair's
            # name equal to the recorded one: already in sanitized space
            return v
        return super()._leaf(v, verdict, path, inherited=inherited, siblings=siblings)


class TargetSanitizer:
    """Puts target responses and texts in the sanitized space of `sanitizer`.

    ```python
    >>> ts = TargetSanitizer(Sanitizer(SanitizeConfig(), Pseudonymizer(load_key())))
    >>> clean = ts.response(live_response, recorded_exchange)
    ```

    Safe to share between threads: its caches (parsed recorded bodies, never changed;
    sanitized header fields) hold results only.
    """

    def __init__(self, sanitizer: Sanitizer) -> None:
        self.sanitizer = sanitizer
        self._cache: dict[bytes, Any] = {}
        self._fields: dict[tuple[str, str], tuple[str, str]] = {}
        self._last: tuple[bytes, str | None, bytes, re.Pattern[str] | None, bytes] | None = None
        self._docs: tuple[bytes, Any, bytes, Any] | None = None  # see `parsed`
        self._walks: dict[bytes, dict[Path, Any] | None] = {}  # see `_walked`
        self._ignores: dict[re.Pattern[str], _IgnoredAt] = {}
        self._types: dict[str | None, tuple[bool, bool]] = {}  # see `_body`
        classify = sanitizer.bodies.keys.classify
        persons: dict[str, bool] = {}  # key -> whether it says its object is a person's

        def person(key: str) -> bool:
            found = persons.get(key)
            if found is None:
                if len(persons) >= _FIELDS_CACHE:
                    persons.clear()
                found = persons[key] = classify(key) in PERSON_VERDICTS
            return found

        self._person = person

    def response(
        self,
        actual: Response,
        recorded: Exchange | Response | None = None,
        *,
        ignore: re.Pattern[str] | None = None,
        drop_header: Callable[[str], bool] | None = None,
        parsed: tuple[bytes, Any, bytes, Any] | None = None,
    ) -> Response:
        """`actual` with its headers, body and reason sanitized; the parts equal to the
        `recorded` response's (an exchange's or a response) are kept as they are.

        For a comparison that ignores some of it (replay's noise rules), so that only what
        is compared pays: a JSON member that differs from the recorded one and whose path
        (`$.a.b[0]`, matched with `ignore.match`) is ignored becomes `IGNORED` (a body
        whose `$` is ignored becomes `IGNORED` whole); header fields for which
        `drop_header(name)` is true are left out of the result.

        `parsed`, when the caller parsed the bodies already: (recorded body, its JSON
        document, `actual`'s body, its JSON document), each used only when its body is that
        very object (`is`). The document of `actual`'s body is changed in place (the
        replacements): it must not be used again."""
        rec = recorded.response if isinstance(recorded, Exchange) else recorded
        out: list[Redaction] = []
        fields = actual.headers
        if drop_header is not None and fields:
            kept = tuple([f for f in fields if not drop_header(f[0])])
            if len(kept) != len(fields):
                fields = kept
        headers = self.headers(fields, rec.headers if rec is not None else ())
        body = actual.body
        if body and (rec is None or body != rec.body):
            # a truncated body keeps the full rules' byte-exact edits (its prefix is compared)
            exact = rec is None or actual.body_truncated or rec.body_truncated
            if ignore is not None and not exact and ignore.match("$"):
                body = IGNORED.encode()
            else:
                body = self.body(
                    body,
                    actual.content_type,
                    b"" if exact or rec is None else rec.body,
                    None if exact else ignore,
                    parsed,
                )
        reason = actual.reason
        if reason and (rec is None or reason != rec.reason):
            reason = self.sanitizer.scanner.apply(reason, "response.reason", out)
        if headers is actual.headers and body is actual.body and reason is actual.reason:
            return actual
        return _replaced(actual, headers, body, reason)

    def headers(self, headers: Headers, recorded: Headers = ()) -> Headers:
        """`headers` with every field not among `recorded` (same name and value)
        sanitized by the header rules; the same tuple when nothing changed."""
        if not headers or headers == recorded:
            return headers
        known = set(recorded)
        rules = self.sanitizer.headers
        cache = self._fields
        out: list[Redaction] = []
        result: list[tuple[str, str]] = []
        changed = False
        for field in headers:
            if field in known:
                result.append(field)
                continue
            new = cache.get(field)
            if new is None:  # fields repeat (`Server`, a `Date` within its second)
                new = rules.sanitize((field,), "response", out)[0]
                if len(cache) >= _FIELDS_CACHE:
                    cache.clear()
                cache[field] = new
            if new != field:
                changed = True
            result.append(new)
        return tuple(result) if changed else headers

    def body(
        self,
        body: bytes,
        content_type: str | None,
        recorded: bytes = b"",
        ignore: re.Pattern[str] | None = None,
        parsed: tuple[bytes, Any, bytes, Any] | None = None,
    ) -> bytes:
        """`body` by the sanitizer's body rules; of a JSON body, only what differs from
        `recorded` (a JSON body too) is walked by them (module doc), but for the members
        `ignore` matches, which become `IGNORED` (see `response`; `parsed` too). Fails
        closed: `UNSANITIZED_BODY`."""
        last = self._last
        if (
            last is not None
            and last[0] == body
            and last[1] == content_type
            and last[2] == recorded
            and last[3] == ignore
        ):
            return last[4]  # shadow: the three targets often answer the same bytes
        out: list[Redaction] = []
        done = self._body(body, content_type, recorded, out, ignore, parsed)
        self._last = (body, content_type, recorded, ignore, done)
        return done

    def _body(
        self,
        body: bytes,
        content_type: str | None,
        recorded: bytes,
        out: list[Redaction],
        ignore: re.Pattern[str] | None = None,
        parsed: tuple[bytes, Any, bytes, Any] | None = None,
    ) -> bytes:
        try:
            kind = self._types.get(content_type)
            if kind is None:  # (says "json", is not a stream of documents), per type
                ct = (content_type or "").lower()
                kind = ("json" in ct, not any(x in ct for x in _NOT_PLAIN_JSON))
                if len(self._types) >= _RECORDED_CACHE:
                    self._types.clear()
                self._types[content_type] = kind
            if recorded and (kind[0] or body.lstrip()[:1] in (b"{", b"[")) and kind[1]:
                done = self._json(body, recorded, out, ignore, parsed)
                if done is not None:
                    return done
            return self.sanitizer.bodies.sanitize(body, content_type, "response.body", out)
        except Exception:
            return UNSANITIZED_BODY

    def _json(
        self,
        body: bytes,
        recorded: bytes,
        out: list[Redaction],
        ignore: re.Pattern[str] | None = None,
        parsed: tuple[bytes, Any, bytes, Any] | None = None,
    ) -> bytes | None:
        """The JSON body with only what differs from `recorded` walked by the rules (module
        doc); None to use the full body rules (not JSON, a recording that is not JSON, a
        key the rules rename, a document that is a bare value)."""
        if len(body) > _MAX_PRUNED_BODY:
            return None
        if parsed is not None and parsed[0] is recorded:
            rec = parsed[1]  # parsed by the caller already (the same parse as `_loads`)
        else:
            rec = self._recorded(recorded)
            if rec is _ABSENT:
                return None
        if parsed is not None and parsed[2] is body:
            doc = parsed[3]
        else:
            try:
                doc = _loads(body)
            except (ValueError, RecursionError):
                return None
        if type(doc) not in (dict, list):
            return None
        p = _Pruning(self._ignored_at(ignore) if ignore is not None else None, self._person)
        pruned = _prune(doc, rec, None, p)
        edits = self._walked(pruned, p.keep, out)
        if edits is None:
            return None
        if not edits and not p.ignored:
            self._docs = (recorded, rec, body, doc)
            return body
        for path, value in edits.items():
            _set(doc, path, value)
        for path in p.ignored:
            _set(doc, path, IGNORED)
        try:
            done = orjson.dumps(doc)
        except TypeError:  # integers wider than 64 bits
            done = json.dumps(doc, ensure_ascii=False).encode("utf-8", "surrogatepass")
        self._docs = (recorded, rec, done, doc)
        return done

    def _ignored_at(self, ignore: re.Pattern[str]) -> _IgnoredAt:
        found = self._ignores.get(ignore)
        if found is None:
            if len(self._ignores) >= _RECORDED_CACHE:
                self._ignores.clear()
            found = self._ignores[ignore] = _IgnoredAt(ignore)
        return found

    def _walked(self, pruned: Any, keep: set[Path], out: list[Redaction]) -> dict[Path, Any] | None:
        """The JSON rules' replacements in the pruned document, by path (None: use the full
        body rules, a key would be renamed). They depend on nothing but the pruned document
        (its members that differ from the recording, the rest blanked) when `keep` is
        empty: then they are cached by its JSON text (a bounded cache: the same customer's
        pseudonymized name and email in many responses, whose timestamps and nonces the
        noise rules blank, are walked once)."""
        key = None
        if not keep:
            with contextlib.suppress(TypeError):  # integers wider than 64 bits: not cached
                key = orjson.dumps(pruned)
            if key is not None:
                if len(key) > _MAX_WALK_KEY:
                    key = None
                else:
                    found = self._walks.get(key, _ABSENT)
                    if found is not _ABSENT:
                        return cast("dict[Path, Any] | None", found)
        walker = _PrunedWalker(keep, self.sanitizer.bodies, "response.body", out)
        walker.walk(pruned)
        edits = None if walker.renames or None in walker.edits else walker.edits
        if key is not None:
            if len(self._walks) >= _WALKS_CACHE:
                self._walks.clear()
            self._walks[key] = edits
        return edits

    def parsed(self, body: bytes) -> Any:
        """The JSON document of `body` when it is (the very object) the recorded body or the
        result of the last JSON body sanitized here, else None: a comparison that follows
        need not parse them again. Treat it as read-only."""
        docs = self._docs
        if docs is not None:
            if body is docs[2]:
                return docs[3]
            if body is docs[0]:
                return docs[1]
        return None

    def _recorded(self, recorded: bytes) -> Any:
        """The recorded body parsed (`_ABSENT` when it is not JSON), cached: shadow asks
        three times per request."""
        cache = self._cache
        found = cache.get(recorded, _ABSENT)
        if found is _ABSENT:
            try:
                found = _loads(recorded)
            except (ValueError, RecursionError):
                found = _ABSENT
            if len(cache) >= _RECORDED_CACHE:
                # another thread may be evicting too: then this one has nothing to do
                with contextlib.suppress(KeyError, RuntimeError, StopIteration):
                    del cache[next(iter(cache))]
            cache[recorded] = found
        return found

    def text(self, value: str, location: str = "report") -> str:
        """Free text from a target (an error message, a display) by the value rules."""
        return self.sanitizer.sanitize_text(value, location)[0]
