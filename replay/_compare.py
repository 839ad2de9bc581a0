"""Explainable comparison of two responses, beyond the noise the rules name.

Small named comparators in VCR.py's spirit: `status`, `headers`, `body` (and `error` when a
side has no response) each run, record whether they passed in `Comparison.checks`, and add
`Difference`s that say where and how. Differences the rules suppress are kept apart in
`Comparison.ignored`, so a report can show what the noise rules hid.

Bodies: JSON structurally when both sides parse (by content type, or sniffed `{`/`[`), text
line by line (difflib, at most `MAX_LINE_DIFFERENCES` reported), binary by SHA-256 and length.
A body larger than `MAX_JSON_BYTES` (JSON) or `MAX_TEXT_BYTES` (text) is compared by hash.
A body truncated at capture is not compared: `checks["body_truncated_prefix"]` notes whether
the captured prefix matches, and no `Difference` is produced (see docs/shadow.md).

One module because status, headers and bodies are one comparison: they share the displays,
the noise rules' hooks and `Difference`, whose kinds are what this code emits.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Literal

import orjson

from amber._model import Response
from amber._model import exact_json_loads as loads_json
from amber.replay._noise import NoiseRules
from amber.replay._noise import key_segment

__all__ = [
    "MAX_BODY_DIFFERENCES",
    "MAX_JSON_BYTES",
    "MAX_LINE_DIFFERENCES",
    "MAX_TEXT_BYTES",
    "Comparison",
    "Difference",
    "DifferenceKind",
    "compare_responses",
    "diff_bodies",
    "diff_json",
    "display",
    "generalize",
]

MAX_JSON_BYTES = 16 * 1024 * 1024
"""JSON bodies larger than this (either side) are compared by hash, not structurally."""
MAX_TEXT_BYTES = 2 * 1024 * 1024
"""Text bodies larger than this (either side) are compared by hash, not line by line."""
MAX_TEXT_LINES = 50_000
MAX_LINE_DIFFERENCES = 20
"""Differing lines reported per text body; the rest are summed up in one `body:lines`."""
MAX_BODY_DIFFERENCES = 500
"""Structural differences kept per JSON body (and as many ignored ones)."""
MAX_DISPLAY = 200
_MAX_DEPTH = 256

_ABSENT: Any = object()
_INDEX = re.compile(r'\["(?:[^"\\]|\\.)*"\]|\[\d+\]')
_SUM_OPTS = orjson.OPT_SORT_KEYS
_NUMBERS = (int, float)
_CACHE = 8192  # bounded caches below: cleared when full
_SEGMENTS: dict[str, str] = {}  # object key -> its path segment (`key_segment`)
_MATCHED: dict[re.Pattern[str], dict[str, bool]] = {}  # ignore pattern -> path -> match
_UNSHOWN: dict[tuple[str, str], Difference] = {}  # an ignored difference without displays
# integers beyond 64 bits (orjson reads those as floats) have 19 digits or more

DifferenceKind = Literal[
    "value",
    "type",
    "missing",
    "extra",
    "length",
    "order",
    "status",
    "header",
    "text",
    "binary",
    "error",
]
"""What differs: `value`, `type` (`1` vs `"1"`), `missing` (only expected has it), `extra`
(only actual has it), `length`, `order` (same elements, other order), `status`, `header`,
`text` (a line), `binary` (bodies by hash) or `error` (a side has no response)."""
_BodyKind = Literal["empty", "json", "invalid-json", "text", "binary", "large"]
_Raw = tuple[str, DifferenceKind, Any, Any]  # (path, kind, expected, actual) from the walker


@dataclass(frozen=True, slots=True)
class Difference:
    """One difference: where (`path`), what kind, and short displays of both sides.

    `path` is `status`, `header:<name>`, `body$.json.path`, `body:line N`, `body:lines`,
    `body:sha256`, `body` (the bodies' types differ) or `error`. `kind` is a
    `DifferenceKind`. Displays are at most 200 characters (truncated with `…`), `None` for
    an absent side.
    """

    path: str
    kind: DifferenceKind
    expected: str | None
    actual: str | None

    def describe(self) -> str:
        """One line: `$.user.name: "Ann" != "Bob"` (the `body` prefix dropped)."""
        where = self.path[4:] if self.path.startswith("body$") else self.path
        if self.kind == "missing":
            return f"{where}: missing (expected {self.expected})"
        if self.kind == "extra":
            return f"{where}: unexpected {self.actual}"
        if self.kind == "length":
            return f"{where}: length {self.expected} != {self.actual}"
        if self.kind == "order":
            return f"{where}: same elements, other order"
        return f"{where}: {self.expected} != {self.actual}"


@dataclass(frozen=True)
class Comparison:
    """The outcome of `compare_responses`: differences, checks that ran, what noise hid."""

    differences: tuple[Difference, ...] = ()
    checks: dict[str, bool] = field(default_factory=dict)
    ignored: tuple[Difference, ...] = ()

    @property
    def ok(self) -> bool:
        """True when no difference is left after the noise rules."""
        return not self.differences

    def explain(self) -> str:
        """Why the responses differ, for people.

        ```
        status differs: 200 != 500
        body differs at 2 paths:
          $.user.name: "Ann" != "Bob"
          $.items: length 3 != 4
        (1 difference ignored by noise rules)
        ```
        """
        if self.ok:
            ran = ", ".join(k for k in self.checks if self.checks[k]) or "nothing compared"
            out = [f"responses match ({ran})"]
        else:
            out = []
            groups: dict[str, list[Difference]] = {}
            for d in self.differences:
                area = (
                    "headers"
                    if d.path.startswith("header:")
                    else "body"
                    if d.path.startswith("body")
                    else d.path
                )
                groups.setdefault(area, []).append(d)
            for area, diffs in groups.items():
                if area in ("status", "error") and len(diffs) == 1:
                    d = diffs[0]
                    out.append(f"{area} differs: {d.expected} != {d.actual}")
                    continue
                unit = "header" if area == "headers" else "path"
                n = len(diffs)
                out.append(f"{area} differs at {n} {unit}{'s' if n != 1 else ''}:")
                out.extend(f"  {d.describe()}" for d in diffs[:50])
                if n > 50:
                    out.append(f"  ... and {n - 50} more")
        if self.ignored:
            n = len(self.ignored)
            out.append(f"({n} difference{'s' if n != 1 else ''} ignored by noise rules)")
        return "\n".join(out)


# -- display -----------------------------------------------------------------------------


def _cut(text: str) -> str:
    return text if len(text) <= MAX_DISPLAY else text[: MAX_DISPLAY - 1] + "…"


def display(value: Any) -> str | None:
    """A short display of a JSON value: JSON text, at most 200 characters."""
    if value is _ABSENT:
        return None
    if isinstance(value, str) and len(value) > MAX_DISPLAY:
        value = value[:MAX_DISPLAY]
    try:
        return _cut(orjson.dumps(value).decode())
    except TypeError:  # integers beyond 64 bits, nesting beyond 255
        try:
            return _cut(json.dumps(value, ensure_ascii=False, default=str))
        except RecursionError:
            return "…"


def _scalar_text(value: Any) -> str | None:
    """The text a value pattern is matched against: a string as is, a number as JSON."""
    if isinstance(value, str):
        return value
    if value is _ABSENT or isinstance(value, (dict, list)):
        return None
    return json.dumps(value)


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def generalize(path: str) -> str:
    """Replace array indexes with `[*]`, for aggregation and learned noise.

    ```python
    >>> generalize('body$.items[3].tags[0]')
    'body$.items[*].tags[*]'
    ```
    """
    if "[" not in path:
        return path
    return _INDEX.sub(lambda m: "[*]" if m.group(0)[1] != '"' else m.group(0), path)


# -- JSON --------------------------------------------------------------------------------


def _strict_equal(a: Any, b: Any) -> bool:
    """Equality that tells `true` from `1` (Python's `==` does not); `1 == 1.0` holds.
    Iterative, so any nesting depth is fine."""
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        tx, ty = type(x), type(y)
        if tx is dict:
            if ty is not dict or len(x) != len(y):
                return False
            for k, v in x.items():
                if k not in y:
                    return False
                stack.append((v, y[k]))
        elif tx is list:
            if ty is not list or len(x) != len(y):
                return False
            stack.extend(zip(x, y, strict=True))
        elif (tx is not ty and not (tx in _NUMBERS and ty in _NUMBERS)) or x != y:
            return False
    return True


def _same(a: Any, b: Any) -> bool:
    """Fast strict equality of two parsed JSON values. Containers: their orjson
    serializations (exact types, so `true` is not `1`; other key order -> False, and the
    walker descends to find nothing); scalars: `==` plus a type check."""
    if a is b:
        return True
    ta = type(a)
    if ta is dict or ta is list:
        if type(b) is not ta or len(a) != len(b):
            return False
        try:
            return orjson.dumps(a) == orjson.dumps(b)
        except TypeError:  # integers beyond 64 bits, nesting beyond 255
            return _strict_equal(a, b)
    tb = type(b)
    if ta is not tb and not (ta in _NUMBERS and tb in _NUMBERS):
        return False
    return bool(a == b)


def _canonical(value: Any) -> bytes:
    try:
        return orjson.dumps(value, option=_SUM_OPTS)
    except TypeError:  # integers beyond 64 bits, nesting beyond 255
        try:
            return json.dumps(value, sort_keys=True).encode()
        except RecursionError:
            return repr(value).encode()


class _Walker:
    """Structural JSON diff: descends only into subtrees that differ.

    Appends raw `(path, kind, expected, actual)` tuples; rules decide which are ignored.
    """

    __slots__ = ("ignore", "ignored", "limit", "matched", "order", "out", "patterns")

    def __init__(self, rules: NoiseRules | None, limit: int = MAX_BODY_DIFFERENCES) -> None:
        self.ignore = rules.ignore_regex if rules else None
        # whether `ignore` matches a path, by path (hashing a pattern hashes its program:
        # once per comparison, not per path)
        self.matched = _matches_of(self.ignore) if self.ignore is not None else {}
        self.order = rules.order_regex if rules else None
        self.patterns = rules.body_value_patterns if rules else ()
        self.out: list[_Raw] = []
        self.ignored: list[_Raw] = []
        self.limit = limit

    def emit(self, path: str, kind: DifferenceKind, a: Any, b: Any) -> None:
        if kind in ("value", "type") and isinstance(a, str) and "[REDACTED:" in a:
            # the recording holds a marker where the secret was: nothing to compare against
            if len(self.ignored) < self.limit:
                self.ignored.append((path, kind, a, b))
            return
        if self.patterns and kind in ("value", "type"):
            ta, tb = _scalar_text(a), _scalar_text(b)
            if ta is not None and tb is not None:
                for glob, rx in self.patterns:
                    if glob.match(path) and rx.fullmatch(ta) and rx.fullmatch(tb):
                        if len(self.ignored) < self.limit:
                            self.ignored.append((path, kind, a, b))
                        return
        if len(self.out) < self.limit:
            self.out.append((path, kind, a, b))

    def child(self, a: Any, b: Any, path: str, depth: int) -> None:
        """Compare one pair already known to differ (or to need a look)."""
        ignore = self.ignore
        if ignore is not None and (self.matched.get(path) or _ignored(ignore, self.matched, path)):
            if len(self.ignored) < self.limit:
                self.ignored.append((path, "value", a, b))
            return
        if a is _ABSENT:
            self.emit(path, "extra", a, b)
        elif b is _ABSENT:
            self.emit(path, "missing", a, b)
        else:
            self.walk(a, b, path, depth)

    def walk(self, a: Any, b: Any, path: str, depth: int = 0) -> None:
        if len(self.out) >= self.limit:
            return
        ta, tb = type(a), type(b)
        if ta is dict and tb is dict:
            if depth >= _MAX_DEPTH:
                if not _same(a, b):
                    self.emit(path, "value", a, b)
                return
            missing = 0
            for k, va in a.items():
                vb = b.get(k, _ABSENT)
                if vb is _ABSENT:
                    missing += 1
                    self.child(va, _ABSENT, path + _segment(k), depth + 1)
                    continue
                tv = type(va)
                if tv is type(vb) and tv is not dict and tv is not list:
                    if va == vb:  # `_same` of two scalars of one type, inline
                        continue
                elif _same(va, vb):
                    continue
                self.child(va, vb, path + (_SEGMENTS.get(k) or _segment(k)), depth + 1)
            if len(b) > len(a) - missing:
                for k, vb in b.items():
                    if k not in a:
                        self.child(_ABSENT, vb, path + _segment(k), depth + 1)
        elif ta is list and tb is list:
            if depth >= _MAX_DEPTH:
                if not _same(a, b):
                    self.emit(path, "value", a, b)
                return
            if self.order is not None and self.order.match(path):
                self.multiset(a, b, path)
                return
            na, nb = len(a), len(b)
            if na != nb:
                self.emit(path, "length", na, nb)
            common = [i for i in range(min(na, nb)) if not _same(a[i], b[i])]
            if na == nb and len(common) >= 2:
                ka = [_canonical(a[i]) for i in common]
                kb = [_canonical(b[i]) for i in common]
                # the same elements elsewhere; not when each differs from its counterpart
                # only in key order (the descent below finds nothing there)
                if ka != kb and sorted(ka) == sorted(kb):
                    self.emit(path, "order", a, b)
                    return
            for i in common:
                self.child(a[i], b[i], f"{path}[{i}]", depth + 1)
            for i in range(nb, na):
                self.child(a[i], _ABSENT, f"{path}[{i}]", depth + 1)
            for i in range(na, nb):
                self.child(_ABSENT, b[i], f"{path}[{i}]", depth + 1)
        elif ta is tb or (ta in (int, float) and tb in (int, float)):
            if a != b:
                self.emit(path, "value", a, b)
        else:
            self.emit(path, "type", a, b)

    def multiset(self, a: list[Any], b: list[Any], path: str) -> None:
        ka = [_canonical(x) for x in a]
        kb = [_canonical(x) for x in b]
        ca, cb = Counter(ka), Counter(kb)
        if ca == cb:
            return
        left = ca - cb
        for i, k in enumerate(ka):
            if left.get(k):
                left[k] -= 1
                self.child(a[i], _ABSENT, f"{path}[{i}]", 1)
        right = cb - ca
        for i, k in enumerate(kb):
            if right.get(k):
                right[k] -= 1
                self.child(_ABSENT, b[i], f"{path}[{i}]", 1)


def _segment(key: str) -> str:
    """`key_segment(key)`, cached."""
    seg = _SEGMENTS.get(key)
    if seg is None:
        if len(_SEGMENTS) >= _CACHE:
            _SEGMENTS.clear()
        seg = _SEGMENTS[key] = key_segment(key)
    return seg


def _matches_of(ignore: re.Pattern[str]) -> dict[str, bool]:
    """The cache of `_ignored` for one pattern."""
    found = _MATCHED.get(ignore)
    if found is None:
        if len(_MATCHED) >= 64:
            _MATCHED.clear()
        found = _MATCHED[ignore] = {}
    return found


def _ignored(ignore: re.Pattern[str], matched: dict[str, bool], path: str) -> bool:
    """Whether `ignore` matches `path`, cached in `matched` (`_matches_of(ignore)`: a
    route's paths repeat)."""
    found = matched.get(path)
    if found is None:
        if len(matched) >= _CACHE:
            matched.clear()
        found = matched[path] = ignore.match(path) is not None
    return found


def _unshown(raw: _Raw) -> Difference:
    """An ignored body difference without displays (one object per path and kind: they are
    immutable)."""
    key = (raw[0], raw[1])
    found = _UNSHOWN.get(key)
    if found is None:
        if len(_UNSHOWN) >= _CACHE:
            _UNSHOWN.clear()
        found = _UNSHOWN[key] = Difference("body" + raw[0], raw[1], None, None)
    return found


def _to_difference(raw: _Raw, prefix: str = "body") -> Difference:
    path, kind, a, b = raw
    if kind == "length":
        return Difference(prefix + path, kind, str(a), str(b))
    if kind == "type":
        return Difference(
            prefix + path, kind, f"{_type_name(a)} {display(a)}", f"{_type_name(b)} {display(b)}"
        )
    return Difference(prefix + path, kind, display(a), display(b))


def diff_json(a: Any, b: Any, path: str = "$") -> Iterator[Difference]:
    """Structural differences between two parsed JSON values, without any noise rules.

    Kinds: `value`, `type` (`1` vs `"1"`, `true` vs `1`), `missing`, `extra`, `length`,
    `order` (same elements in another order). Arrays are compared by index; the paths
    have no `body` prefix (`$.items[3].id`).
    """
    w = _Walker(None)
    w.walk(a, b, path)
    for raw in w.out:
        yield _to_difference(raw, "")


# -- bodies ------------------------------------------------------------------------------


def _looks_json(resp: Response) -> bool:
    ct = resp.content_type
    if ct is not None and "json" in ct.lower():
        return True
    head = resp.body[:64].lstrip()
    return head[:1] in (b"{", b"[")


class _Body:
    """A response body with its parsed form computed once (shared by both comparisons of a
    shadow request)."""

    __slots__ = ("_kind", "_parsed", "_value", "resp")

    def __init__(self, resp: Response, parsed: Callable[[bytes], Any] | None = None) -> None:
        self.resp = resp
        self._kind: _BodyKind | None = None
        self._value: Any = None
        self._parsed = parsed

    @property
    def kind(self) -> _BodyKind:
        """`empty`, `json`, `invalid-json`, `text`, `binary` or `large`."""
        if self._kind is None:
            body = self.resp.body
            if not body:
                self._kind = "empty"
            elif _looks_json(self.resp):
                if len(body) > MAX_JSON_BYTES:
                    self._kind = "large"
                else:
                    known = self._parsed(body) if self._parsed is not None else None
                    try:
                        self._value = known if known is not None else loads_json(body)
                        self._kind = "json"
                    except orjson.JSONDecodeError:
                        self._kind = "binary" if self.resp.is_binary else "invalid-json"
            elif len(body) > MAX_TEXT_BYTES:
                self._kind = "large"
            else:
                self._kind = "binary" if self.resp.is_binary else "text"
        return self._kind

    @property
    def value(self) -> Any:
        return self._value


def _digest(body: bytes) -> str:
    return f"sha256:{hashlib.sha256(body).hexdigest()[:16]}… ({len(body)} bytes)"


def _text_differences(
    e: Response, a: Response, rules: NoiseRules, out: list[Difference], ignored: list[Difference]
) -> None:
    te, ta = e.text, a.text
    if rules.text_line_patterns:
        for rx in rules.text_line_patterns:
            te = rx.sub("…", te)
            ta = rx.sub("…", ta)
        if te == ta:
            ignored.append(Difference("body:text", "text", None, None))
            return
    le, la = te.splitlines(), ta.splitlines()
    if len(le) > MAX_TEXT_LINES or len(la) > MAX_TEXT_LINES:
        out.append(Difference("body:sha256", "binary", _digest(e.body), _digest(a.body)))
        return
    matcher = difflib.SequenceMatcher(None, le, la, autojunk=True)
    shown, more = 0, 0
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        for k in range(max(i2 - i1, j2 - j1)):
            if shown >= MAX_LINE_DIFFERENCES:
                more += 1
                continue
            x = le[i1 + k] if i1 + k < i2 else None
            y = la[j1 + k] if j1 + k < j2 else None
            line = i1 + k + 1 if x is not None else i1 + 1
            kind: DifferenceKind = (
                "text"
                if x is not None and y is not None
                else ("missing" if x is not None else "extra")
            )
            out.append(
                Difference(
                    f"body:line {line}",
                    kind,
                    _cut(x) if x is not None else None,
                    _cut(y) if y is not None else None,
                )
            )
            shown += 1
    if more:
        out.append(Difference("body:lines", "text", f"{more} more differing lines", None))
    if not shown and not more:  # only line endings or a trailing newline differ
        out.append(Difference("body:line-endings", "text", display(te[-40:]), display(ta[-40:])))


def _diff_body_views(
    ve: _Body,
    va: _Body,
    rules: NoiseRules,
    out: list[Difference],
    ignored: list[Difference],
    ignored_displays: bool = True,
) -> None:
    e, a = ve.resp, va.resp
    if e.body == a.body:
        return
    if rules.ignores_body:
        ignored.append(Difference("body", "value", _digest(e.body), _digest(a.body)))
        return
    ke, ka = ve.kind, va.kind
    if ke == "large" or ka == "large":
        out.append(Difference("body:sha256", "binary", _digest(e.body), _digest(a.body)))
        return
    if ke == "json" and ka == "json":
        w = _Walker(rules)
        w.child(ve.value, va.value, "$", 0)
        if w.out:
            out.extend([_to_difference(r) for r in w.out])
        if ignored_displays:
            ignored.extend(_to_difference(r) for r in w.ignored)
        else:
            ignored.extend([_unshown(r) for r in w.ignored])
        return
    if ke == "empty" or ka == "empty":
        out.append(
            Difference(
                "body",
                "missing" if ka == "empty" else "extra",
                _digest(e.body) if e.body else None,
                _digest(a.body) if a.body else None,
            )
        )
        return
    textual = ("text", "invalid-json")
    if ke in textual and ka in textual:
        _text_differences(e, a, rules, out, ignored)
        return
    if ke == "json" or ka == "json":

        def what(kind: _BodyKind, r: Response) -> str:
            if kind == "json":
                return f"JSON {_type_name(ve.value if r is e else va.value)}"
            head = r.body[:60].decode("utf-8", "replace") if kind != "binary" else ""
            return f"{kind} {display(head)}" if head else f"{kind} {_digest(r.body)}"

        out.append(Difference("body", "type", what(ke, e), what(ka, a)))
        return
    out.append(Difference("body:sha256", "binary", _digest(e.body), _digest(a.body)))


def diff_bodies(expected: Response, actual: Response, rules: NoiseRules) -> list[Difference]:
    """The body differences left after `rules` (see the module docstring for how)."""
    out: list[Difference] = []
    _diff_body_views(_Body(expected), _Body(actual), rules, out, [])
    return out


# -- headers -----------------------------------------------------------------------------


def _norm_header(name: str, value: str) -> str:
    v = " ".join(value.split())
    if name == "content-type":
        v = v.lower().replace("; ", ";").replace(" ;", ";")
    return v


def _header_index(resp: Response, rules: NoiseRules) -> dict[str, list[str]]:
    """The headers `rules` look at, by lowercase name (skipped ones never copied)."""
    out: dict[str, list[str]] = {}
    names = rules.compared_names
    for k, v in resp.headers:
        lk = names.get(k)
        if lk is None:
            lk = rules.compared_name(k)
        if not lk:
            continue
        values = out.get(lk)
        if values is None:
            out[lk] = [v]
        else:
            values.append(v)
    return out


def _cookie_names(values: list[str]) -> list[str]:
    return sorted(v.split("=", 1)[0].strip() for v in values)


def _diff_headers(
    e: Response, a: Response, rules: NoiseRules, out: list[Difference], ignored: list[Difference]
) -> None:
    he, ha = _header_index(e, rules), _header_index(a, rules)
    if not he and not ha:
        return
    for name in (*he, *(n for n in ha if n not in he)):
        ve, va = he.get(name), ha.get(name)
        if ve == va:
            continue
        mode = rules.header_mode(name)
        if mode == "cookies":
            xe = _cookie_names(ve) if ve else []
            xa = _cookie_names(va) if va else []
        else:
            xe = [_norm_header(name, v) for v in ve] if ve else []
            xa = [_norm_header(name, v) for v in va] if va else []
        if xe == xa:
            continue
        d = Difference(
            f"header:{name}",
            "header",
            _cut(", ".join(xe)) if ve else None,
            _cut(", ".join(xa)) if va else None,
        )
        if mode == "ignore":
            ignored.append(d)
            continue
        pats = rules.header_value_patterns.get(name)
        if (
            pats
            and len(xe) == len(xa)
            and all(
                any(rx.fullmatch(x) and rx.fullmatch(y) for rx in pats)
                for x, y in zip(xe, xa, strict=True)
                if x != y
            )
        ):
            ignored.append(d)
            continue
        out.append(d)


# -- responses ---------------------------------------------------------------------------


def _compare_views(
    ve: _Body | None,
    va: _Body | None,
    rules: NoiseRules,
    *,
    expected_error: str | None = None,
    actual_error: str | None = None,
    expected_truncated: bool = False,
    ignored_displays: bool = True,
) -> Comparison:
    if ve is None or va is None:
        if ve is None and va is None:
            return Comparison(checks={"error": True})
        exp = f"HTTP {ve.resp.status}" if ve is not None else _cut(expected_error or "no response")
        act = f"HTTP {va.resp.status}" if va is not None else _cut(actual_error or "no response")
        return Comparison((Difference("error", "error", exp, act),), {"error": False})
    e, a = ve.resp, va.resp
    out: list[Difference] = []
    ignored: list[Difference] = []
    checks: dict[str, bool] = {}
    if e.status != a.status:
        out.append(Difference("status", "status", str(e.status), str(a.status)))
    checks["status"] = not out
    n = len(out)
    _diff_headers(e, a, rules, out, ignored)
    checks["headers"] = len(out) == n
    n = len(out)
    if expected_truncated or e.body_truncated or a.body_truncated:
        size = len(e.body) if (expected_truncated or e.body_truncated) else len(a.body)
        checks["body_truncated_prefix"] = e.body[:size] == a.body[:size]
    else:
        _diff_body_views(ve, va, rules, out, ignored, ignored_displays)
        checks["body"] = len(out) == n
    return _comparison(tuple(out), checks, tuple(ignored))


def _comparison(
    differences: tuple[Difference, ...], checks: dict[str, bool], ignored: tuple[Difference, ...]
) -> Comparison:
    """`Comparison(differences, checks, ignored)` without its frozen `__init__` (a field set
    through `object.__setattr__` each): one per replayed exchange, at half the cost."""
    c = object.__new__(Comparison)
    fields = c.__dict__
    fields["differences"] = differences
    fields["checks"] = checks
    fields["ignored"] = ignored
    return c


def compare_responses(
    expected: Response | None,
    actual: Response | None,
    rules: NoiseRules,
    *,
    expected_error: str | None = None,
    actual_error: str | None = None,
    expected_truncated: bool = False,
    ignored_displays: bool = True,
    parsed: Callable[[bytes], Any] | None = None,
) -> Comparison:
    """Compare a recorded (or baseline) response with a replayed one, beyond `rules`.

    - **status**: exactly.
    - **headers**: `rules.header_mode` decides: volatile ones are skipped, `set-cookie` is
      compared by cookie names, selected ones by value (whitespace normalized).
    - **body**: JSON structurally, text by lines, binary by hash (module docstring).
    - **error**: when a side has no response; two failures count as a match.

    `ignored_displays=False`: the ignored body differences carry no displays (None on
    both sides; a caller that only counts them saves their encoding). `parsed(body)`, when
    given, returns a JSON body's document when the caller has it already (None otherwise:
    the body is parsed here), e.g. `TargetSanitizer.parsed`.

    ```python
    >>> from amber._model import Response
    >>> a = Response(200, body=b'{"user": {"name": "Ann"}}')
    >>> b = Response(200, body=b'{"user": {"name": "Bob"}}')
    >>> print(compare_responses(a, b, NoiseRules()).explain())
    body differs at 1 path:
      $.user.name: "Ann" != "Bob"
    ```
    """
    return _compare_views(
        _Body(expected, parsed) if expected is not None else None,
        _Body(actual, parsed) if actual is not None else None,
        rules,
        expected_error=expected_error,
        actual_error=actual_error,
        expected_truncated=expected_truncated,
        ignored_displays=ignored_displays,
    )
