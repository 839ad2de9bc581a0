"""Noise: what a comparison ignores, written down as reviewable rules.

Two responses of the same build to the same request differ in places that mean nothing:
the `Date` header, a request id, a generated-at timestamp, a random nonce. `NoiseRules` says
which of those differences to ignore; `NoiseFile` keeps global rules plus rules per route
(`"GET /users/{id}"`) and is what `amber shadow --save-noise FILE` writes and what replay
and test generation read back.

Body paths are JSON paths: `$.user.name`, `$.items[3].id`, `$["odd key"]`. Globs add
`*` (any one child, key or index: `$.user.*`, `$.items[*].id`) and `..` (any depth:
`$..created_at`). An ignore glob covers the subtree under what it matches (`$.meta` hides
`$.meta.generated_at`). The root glob `$` hides the whole body, whatever its type.

*See also:* docs/shadow.md for the file format and how the rules are applied.

One module because the glob grammar, the rules and the file that holds them are one
format: the file's validation messages and the rules' matching share the grammar's parser,
and a change to either must be read next to the other.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from functools import cached_property
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from amber.errors import ConfigError

__all__ = [
    "DEFAULT_COMPARE_HEADERS",
    "DEFAULT_VOLATILE_HEADERS",
    "NAMED_VALUE_PATTERNS",
    "NOISE_FILE_VERSION",
    "VOLATILE_HEADER_PREFIXES",
    "NoiseFile",
    "NoiseRules",
    "path_matches",
]

NOISE_FILE_VERSION = 1

# Never compared by default. Every entry is an exact, lowercase header name.
DEFAULT_VOLATILE_HEADERS: frozenset[str] = frozenset(
    {
        "date",  # the clock at response time
        "x-request-id",  # per-request ids minted by the server or a proxy
        "request-id",
        "x-correlation-id",
        "x-runtime",  # server-side duration (Rails, Rack)
        "traceparent",  # W3C trace context
        "tracestate",
        "b3",  # Zipkin single header; x-b3-* via VOLATILE_HEADER_PREFIXES
        "x-datadog-trace-id",
        "x-amzn-trace-id",  # AWS load balancers
        "x-cloud-trace-context",  # Google Cloud
        "sentry-trace",
        "server-timing",  # durations
        "age",  # seconds in a cache
        "expires",  # absolute time, moves with the clock
        "last-modified",  # deployment or write time of the instance
        "etag",  # a hash or version: the body comparison decides
        "set-cookie",  # values only: cookie NAMES are still compared
        "content-length",  # the body comparison decides
        "connection",  # hop-by-hop
        "keep-alive",
        "transfer-encoding",
        "via",  # proxies in between
        "server",  # software and version banner of the instance
        "x-envoy-upstream-service-time",  # duration
        "cf-ray",  # Cloudflare request id
    }
)
"""Headers whose values change between any two responses; see docs/shadow.md."""

VOLATILE_HEADER_PREFIXES: tuple[str, ...] = ("x-b3-",)
"""Header name prefixes treated like `DEFAULT_VOLATILE_HEADERS` (Zipkin's `x-b3-traceid`...)."""

DEFAULT_COMPARE_HEADERS: tuple[str, ...] = (
    "access-control-allow-origin",
    "allow",
    "cache-control",
    "content-disposition",
    "content-language",
    "content-type",
    "location",
    "vary",
    "www-authenticate",
)
"""Headers compared by value unless ignored; others only with `compare_all_headers`."""

NAMED_VALUE_PATTERNS: dict[str, str] = {
    "uuid": r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}",
    "ulid": r"[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{26}",
    "iso8601": r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
    r"(?:Z|[+-]\d{2}:?\d{2})?)?",
    "epoch": r"1\d{9}(?:\d{3}(?:\d{3})?)?(?:\.\d+)?",
    "hex": r"[0-9a-fA-F]+",
    "number": r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?",
}
"""Patterns usable by name in a noise file: `{path: "$..id", like: uuid}`."""

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
# One path segment as `_compare` renders it: `.name`, `[3]` or `["any key"]`.
_SEG = r'(?:\.[A-Za-z_][A-Za-z0-9_\-]*|\[\d+\]|\["(?:[^"\\]|\\.)*"\])'
_ROUTE_KEY = re.compile(r"^(\*|[A-Z][A-Z0-9_-]*) (/\S*)$")
_RULE_KEYS = (
    "ignore_headers",
    "compare_headers",
    "compare_all_headers",
    "ignore_paths",
    "value_patterns",
    "ignore_order",
    "text_line_patterns",
)


@lru_cache(maxsize=16384)
def key_segment(key: str) -> str:
    """The path segment of object key `key`: `.name`, or `["odd key"]` (JSON-quoted)."""
    if _IDENT.fullmatch(key):
        return "." + key
    return "[" + json.dumps(key, ensure_ascii=False) + "]"


def _glob_regex(glob: str) -> str:
    """Translate a path glob into a regex (without anchors). *Raises:* ValueError."""
    g = glob.strip()
    if g.startswith("body"):
        g = g[4:]
    if not g.startswith("$"):
        raise ValueError(f"a path glob starts with '$', got {glob!r}")
    out = [r"\$"]
    i, n = 1, len(g)
    while i < n:
        if g.startswith("..", i):
            out.append(f"{_SEG}*?")
            i += 1 if i + 2 < n and g[i + 2] != "[" else 2
            if i >= n:
                raise ValueError(f"'..' must be followed by a name in {glob!r}")
            continue
        c = g[i]
        if c == ".":
            j = i + 1
            while j < n and g[j] not in ".[":
                j += 1
            name = g[i + 1 : j]
            if not name:
                raise ValueError(f"empty name at offset {i} in {glob!r}")
            out.append(_SEG if name == "*" else re.escape(key_segment(name)))
            i = j
        elif c == "[":
            if g.startswith('["', i):
                m = re.compile(r'"(?:[^"\\]|\\.)*"\]').match(g, i + 1)
                if not m:
                    raise ValueError(f'unterminated ["..."] at offset {i} in {glob!r}')
                name = json.loads(m.group(0)[:-1])
                out.append(re.escape(key_segment(name)))
                i = m.end()
                continue
            j = g.find("]", i)
            if j < 0:
                raise ValueError(f"unterminated [ at offset {i} in {glob!r}")
            inner = g[i + 1 : j].strip()
            if inner == "*":
                out.append(_SEG)
            elif inner.isdigit():
                out.append(re.escape(f"[{int(inner)}]"))
            else:
                raise ValueError(f'expected [*], [N] or ["key"], got [{inner}] in {glob!r}')
            i = j + 1
        else:
            raise ValueError(f"unexpected {c!r} at offset {i} in {glob!r}")
    return "".join(out)


@lru_cache(maxsize=4096)
def _compiled(glob: str, subtree: bool) -> re.Pattern[str]:
    body = _glob_regex(glob)
    return re.compile(body + (r"(?:[.\[]|\Z)" if subtree else r"\Z"))


def path_matches(glob: str, path: str, *, subtree: bool = True) -> bool:
    """True when JSON `path` matches `glob`, or lies under a match when `subtree`.

    Compiled globs are cached. A leading `body` on either side is ignored.

    ```python
    >>> path_matches("$..created_at", "$.items[2].created_at")
    True
    >>> path_matches("$.user", "$.user.name"), path_matches("$.user", "$.username")
    (True, False)
    ```

    *Raises:* `ValueError` on a malformed glob.
    """
    if path.startswith("body"):
        path = path[4:]
    return _compiled(glob, subtree).match(path) is not None


def _combine(globs: Iterable[str], subtree: bool) -> re.Pattern[str] | None:
    parts = [f"(?:{_glob_regex(g)})" for g in globs]
    if not parts:
        return None
    return re.compile("(?:" + "|".join(parts) + ")" + (r"(?:[.\[]|\Z)" if subtree else r"\Z"))


def _header_matcher(names: Iterable[str]) -> tuple[frozenset[str], tuple[str, ...]]:
    exact, prefixes = set(), []
    for n in names:
        n = n.strip().lower()
        if n.endswith("*"):
            prefixes.append(n[:-1])
        else:
            exact.add(n)
    return frozenset(exact), tuple(prefixes)


def _dedupe(*groups: Iterable[Any]) -> tuple[Any, ...]:
    seen: dict[Any, None] = {}
    for g in groups:
        for x in g:
            seen.setdefault(x, None)
    return tuple(seen)


def _canon(*groups: Iterable[str]) -> tuple[str, ...]:
    """Union in canonical (sorted) order, so equal rules compare equal however written."""
    return tuple(sorted({x for g in groups for x in g}))


def _canon_patterns(*groups: Iterable[Any]) -> tuple[Any, ...]:
    def sort_key(x: Any) -> tuple[str, str]:
        return (x[0], x[1].pattern) if isinstance(x, tuple) else ("", x.pattern)

    return tuple(sorted(_dedupe(*groups), key=sort_key))


class _Skips(dict[str, bool]):
    """Header name as spelled -> whether `mode(name)` is `skip`, filled on first use
    (bounded: past 4,096 names it answers without keeping)."""

    __slots__ = ("mode",)

    def __init__(self, mode: Callable[[str], str]) -> None:
        super().__init__()
        self.mode = mode

    def __missing__(self, name: str) -> bool:
        skips = self.mode(name) == "skip"
        if len(self) < 4096:
            self[name] = skips
        return skips


@dataclass(frozen=True)
class NoiseRules:
    """What a comparison ignores (and which headers it looks at).

    **Fields:**

    - `ignore_headers`: names ignored *in addition to* `DEFAULT_VOLATILE_HEADERS`, exact
      and lowercase; a trailing `*` makes a prefix (`x-cache-*`). Listing `set-cookie` stops
      comparing cookie names too.
    - `compare_headers`: headers compared by value (default `DEFAULT_COMPARE_HEADERS`). A
      volatile header listed here *is* compared (`etag`, say); `ignore_headers` still wins.
    - `compare_all_headers`: also compare every header that is neither volatile nor ignored.
    - `ignore_paths`: JSON path globs whose differences (subtree included) are ignored.
    - `value_patterns`: `(glob, regex)`: a difference at a matching path is ignored when
      *both* values fully match the regex (UUIDs, timestamps). Globs starting with
      `header:` (`header:location`) apply to that header's values.
    - `ignore_order`: globs of arrays compared as multisets (exact match, not subtree).
    - `text_line_patterns`: regexes replaced by `…` in text bodies before the line diff.
    """

    ignore_headers: frozenset[str] = frozenset()
    compare_headers: tuple[str, ...] = DEFAULT_COMPARE_HEADERS
    compare_all_headers: bool = False
    ignore_paths: tuple[str, ...] = ()
    value_patterns: tuple[tuple[str, re.Pattern[str]], ...] = ()
    ignore_order: tuple[str, ...] = ()
    text_line_patterns: tuple[re.Pattern[str], ...] = ()

    # -- compiled views (cached on the instance; dataclass equality ignores them) ---------

    @cached_property
    def ignore_regex(self) -> re.Pattern[str] | None:
        """One regex for all `ignore_paths` (subtree semantics), or None."""
        return _combine(self.ignore_paths, subtree=True)

    @cached_property
    def order_regex(self) -> re.Pattern[str] | None:
        """One regex for all `ignore_order` globs (exact semantics), or None."""
        return _combine(self.ignore_order, subtree=False)

    @cached_property
    def body_value_patterns(self) -> tuple[tuple[re.Pattern[str], re.Pattern[str]], ...]:
        return tuple(
            (_compiled(g, True), rx) for g, rx in self.value_patterns if not g.startswith("header:")
        )

    @cached_property
    def header_value_patterns(self) -> dict[str, tuple[re.Pattern[str], ...]]:
        out: dict[str, list[re.Pattern[str]]] = {}
        for g, rx in self.value_patterns:
            if g.startswith("header:"):
                out.setdefault(g[7:].strip().lower(), []).append(rx)
        return {k: tuple(v) for k, v in out.items()}

    @cached_property
    def header_modes(self) -> dict[str, str]:
        """The `header_mode` cache: header name as spelled -> mode."""
        return {}

    @cached_property
    def ignores_body(self) -> bool:
        """Whether `ignore_paths` hide the whole body (`$`)."""
        return self.ignore_regex is not None and self.ignore_regex.match("$") is not None

    @cached_property
    def skips_header(self) -> Callable[[str], bool]:
        """Whether header `name` (as spelled) is skipped by the comparison (`header_mode`
        says `skip`): one function per rules, called per header field (a dict's lookup:
        no Python frame once a name was met)."""
        return _Skips(self.header_mode).__getitem__

    @cached_property
    def compared_names(self) -> dict[str, str]:
        """Header name as spelled -> its lowercase form, or "" when the comparison skips it
        (`header_mode`); filled as names are met (`compared_name`)."""
        return {}

    def compared_name(self, name: str) -> str:
        """`name` in lowercase, or "" when the comparison skips it; cached per spelling."""
        found = self.compared_names.get(name)
        if found is None:
            found = "" if self.header_mode(name) == "skip" else name.lower()
            if len(self.compared_names) < 4096:
                self.compared_names[name] = found
        return found

    @cached_property
    def _ignore_matcher(self) -> tuple[frozenset[str], tuple[str, ...]]:
        return _header_matcher(self.ignore_headers)

    @cached_property
    def _compare_set(self) -> frozenset[str]:
        return frozenset(h.strip().lower() for h in self.compare_headers)

    def header_mode(self, name: str) -> str:
        """How header `name` (any case) is compared: `ignore` (a rule of yours hides it),
        `skip` (volatile by default, or not selected), `cookies` (names only) or
        `compare`. Cached per spelling of the name."""
        modes = self.header_modes
        mode = modes.get(name)
        if mode is not None:
            return mode
        lname = name.lower()
        exact, prefixes = self._ignore_matcher
        if lname in exact or lname.startswith(prefixes):
            mode = "ignore"
        elif lname == "set-cookie":
            mode = "cookies"
        elif lname in self._compare_set:
            mode = "compare"
        elif lname in DEFAULT_VOLATILE_HEADERS or lname.startswith(VOLATILE_HEADER_PREFIXES):
            mode = "skip"
        else:
            mode = "compare" if self.compare_all_headers else "skip"
        if len(modes) < 4096:
            modes[name] = mode
        return mode

    # -- building ----------------------------------------------------------------------

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], key: str = "replay.noise") -> NoiseRules:
        """Rules from a mapping (amber.yaml `replay.noise`, or a route in a noise file).

        Names given in `compare_headers` are added to `DEFAULT_COMPARE_HEADERS`.

        *Raises:* `ConfigError` naming the key, e.g. `replay.noise.ignore_paths[2]`.
        """
        if not isinstance(data, Mapping):
            raise ConfigError(f"expected a mapping, got {type(data).__name__}", key=key)
        p = f"{key}." if key else ""
        unknown = sorted(str(k) for k in data if k not in _RULE_KEYS)
        if unknown:
            raise ConfigError(
                f"unknown key {unknown[0]!r} (known: {', '.join(_RULE_KEYS)})",
                key=f"{p}{unknown[0]}",
            )
        ignore_headers = _names(data.get("ignore_headers"), f"{p}ignore_headers")
        compare = _names(data.get("compare_headers"), f"{p}compare_headers")
        all_headers = data.get("compare_all_headers", False)
        if not isinstance(all_headers, bool):
            raise ConfigError(
                f"expected true or false, got {all_headers!r}", key=f"{p}compare_all_headers"
            )
        ignore_paths = _globs(data.get("ignore_paths"), f"{p}ignore_paths")
        ignore_order = _globs(data.get("ignore_order"), f"{p}ignore_order")
        patterns = _value_patterns(data.get("value_patterns"), f"{p}value_patterns")
        lines = tuple(
            _regex(v, f"{p}text_line_patterns[{i}]")
            for i, v in enumerate(_list(data.get("text_line_patterns"), f"{p}text_line_patterns"))
        )
        return cls(
            ignore_headers=frozenset(ignore_headers),
            compare_headers=_dedupe(DEFAULT_COMPARE_HEADERS, sorted(set(compare))),
            compare_all_headers=all_headers,
            ignore_paths=_canon(ignore_paths),
            value_patterns=_canon_patterns(patterns),
            ignore_order=_canon(ignore_order),
            text_line_patterns=_canon_patterns(lines),
        )

    def to_mapping(self) -> dict[str, Any]:
        """The reviewable form: only what differs from the defaults, in a stable order."""
        out: dict[str, Any] = {}
        if self.ignore_headers:
            out["ignore_headers"] = sorted(self.ignore_headers)
        extra = sorted(set(self.compare_headers) - set(DEFAULT_COMPARE_HEADERS))
        if extra:
            out["compare_headers"] = extra
        if self.compare_all_headers:
            out["compare_all_headers"] = True
        if self.ignore_paths:
            out["ignore_paths"] = sorted(set(self.ignore_paths))
        if self.value_patterns:
            out["value_patterns"] = [
                {"path": g, "regex": p}
                for g, p in sorted({(g, rx.pattern) for g, rx in self.value_patterns})
            ]
        if self.ignore_order:
            out["ignore_order"] = sorted(set(self.ignore_order))
        if self.text_line_patterns:
            out["text_line_patterns"] = sorted({p.pattern for p in self.text_line_patterns})
        return out

    def merged(self, other: NoiseRules) -> NoiseRules:
        """Both rule sets at once: unions of every list (sorted), `compare_all_headers` if
        either."""
        if other == _EMPTY:
            return self
        if self == _EMPTY:
            return other
        return NoiseRules(
            ignore_headers=self.ignore_headers | other.ignore_headers,
            compare_headers=_dedupe(self.compare_headers, other.compare_headers),
            compare_all_headers=self.compare_all_headers or other.compare_all_headers,
            ignore_paths=_canon(self.ignore_paths, other.ignore_paths),
            value_patterns=_canon_patterns(self.value_patterns, other.value_patterns),
            ignore_order=_canon(self.ignore_order, other.ignore_order),
            text_line_patterns=_canon_patterns(self.text_line_patterns, other.text_line_patterns),
        )

    @property
    def empty(self) -> bool:
        """True when these are the default rules."""
        return not self.to_mapping()


_EMPTY = NoiseRules()


def _list(value: Any, key: str) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ConfigError(f"expected a list, got {value!r}", key=key)
    return list(value)


def _names(value: Any, key: str) -> tuple[str, ...]:
    out = []
    for i, v in enumerate(_list(value, key)):
        if not isinstance(v, str) or not v.strip() or v.strip() == "*":
            raise ConfigError(f"expected a header name, got {v!r}", key=f"{key}[{i}]")
        out.append(v.strip().lower())
    return tuple(out)


def _globs(value: Any, key: str) -> tuple[str, ...]:
    out = []
    for i, v in enumerate(_list(value, key)):
        if not isinstance(v, str):
            raise ConfigError(f"expected a path glob like '$.a.b', got {v!r}", key=f"{key}[{i}]")
        try:
            _compiled(v.strip(), True)
        except ValueError as e:
            raise ConfigError(str(e), key=f"{key}[{i}]") from None
        out.append(v.strip())
    return tuple(out)


def _regex(value: Any, key: str) -> re.Pattern[str]:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"expected a regular expression, got {value!r}", key=key)
    try:
        return re.compile(value)
    except re.error as e:
        raise ConfigError(f"invalid regular expression {value!r}: {e}", key=key) from None


def _value_patterns(value: Any, key: str) -> tuple[tuple[str, re.Pattern[str]], ...]:
    out = []
    for i, item in enumerate(_list(value, key)):
        where = f"{key}[{i}]"
        if not isinstance(item, Mapping) or "path" not in item:
            raise ConfigError(
                "expected {path: GLOB, regex: REGEX} or {path: GLOB, like: NAME}", key=where
            )
        unknown = sorted(str(k) for k in item if k not in ("path", "regex", "like"))
        if unknown:
            raise ConfigError(
                f"unknown key {unknown[0]!r} (known: path, regex, like)",
                key=f"{where}.{unknown[0]}",
            )
        glob = item["path"]
        if isinstance(glob, str) and glob.strip().startswith("header:"):
            if not glob.strip()[7:].strip():
                raise ConfigError("expected header:NAME", key=f"{where}.path")
            glob = "header:" + glob.strip()[7:].strip().lower()
        else:
            glob = _globs([glob], f"{where}.path")[0]
        if ("regex" in item) == ("like" in item):
            raise ConfigError("give exactly one of regex or like", key=where)
        if "like" in item:
            name = item["like"]
            if name not in NAMED_VALUE_PATTERNS:
                raise ConfigError(
                    f"unknown pattern {name!r} (known: {', '.join(sorted(NAMED_VALUE_PATTERNS))})",
                    key=f"{where}.like",
                )
            rx = re.compile(NAMED_VALUE_PATTERNS[name])
        else:
            rx = _regex(item["regex"], f"{where}.regex")
        out.append((glob, rx))
    return tuple(out)


# -- noise files ------------------------------------------------------------------------


@dataclass(frozen=True)
class NoiseFile:
    """Global rules plus rules per route, keyed `"METHOD /route/{template}"`.

    A route key's method may be `*` (any method). `rules_for` merges, in order: the global
    rules, the `* route` rules and the `METHOD route` rules; results are cached.

    ```yaml
    # learned by amber shadow ... (comments are kept only by hand; `dump` writes a header)
    version: 1
    global:
      ignore_headers: [x-cache]
    routes:
      GET /users/{id}:
        ignore_paths: ["$.last_seen_at", "$.session.*"]
    ```
    """

    global_rules: NoiseRules = field(default_factory=NoiseRules)
    routes: Mapping[str, NoiseRules] = field(default_factory=dict)

    @cached_property
    def _cache(self) -> dict[tuple[str, str], NoiseRules]:
        return {}

    def rules_for(self, method: str, route: str) -> NoiseRules:
        """The rules for one request: global, then `* route`, then `METHOD route`."""
        k = (method, route)
        cache = self._cache
        rules = cache.get(k)
        if rules is None:
            rules = self.global_rules
            for rk in (f"* {route}", f"{method.upper()} {route}"):
                extra = self.routes.get(rk)
                if extra is not None:
                    rules = rules.merged(extra)
            if len(cache) < 65536:
                cache[k] = rules
        return rules

    def merged(self, other: NoiseFile) -> NoiseFile:
        """Both files' rules: global rules merged, route rules merged per key."""
        routes = dict(self.routes)
        for rk, rules in other.routes.items():
            routes[rk] = routes[rk].merged(rules) if rk in routes else rules
        return NoiseFile(self.global_rules.merged(other.global_rules), routes)

    # -- reading -----------------------------------------------------------------------

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any], key: str = "replay.noise", *, require_version: bool = False
    ) -> NoiseFile:
        """A noise file from its mapping; in amber.yaml (`replay.noise`) `version` is
        optional, and rule keys at the top level are global rules.

        *Raises:* `ConfigError` naming the key (`replay.noise.routes.GET /x.ignore_paths[0]`).
        """
        if not isinstance(data, Mapping):
            raise ConfigError(f"expected a mapping, got {type(data).__name__}", key=key)
        prefix = f"{key}." if key else ""
        version = data.get("version")
        if version is None and require_version:
            raise ConfigError(
                f"missing version (expected version: {NOISE_FILE_VERSION})", key=f"{prefix}version"
            )
        if version is not None and version != NOISE_FILE_VERSION:
            raise ConfigError(
                f"unsupported version {version!r} (this amber reads {NOISE_FILE_VERSION})",
                key=f"{prefix}version",
            )
        known = {"version", "global", "routes", *_RULE_KEYS}
        unknown = sorted(str(k) for k in data if k not in known)
        if unknown:
            raise ConfigError(
                f"unknown key {unknown[0]!r} (known: version, global, routes, or rule keys)",
                key=f"{prefix}{unknown[0]}",
            )
        top = {k: v for k, v in data.items() if k in _RULE_KEYS}
        global_rules = NoiseRules.from_mapping(top, key) if top else _EMPTY
        g = data.get("global")
        if g is not None:
            global_rules = global_rules.merged(NoiseRules.from_mapping(g, f"{prefix}global"))
        routes_raw = data.get("routes") or {}
        if not isinstance(routes_raw, Mapping):
            raise ConfigError(
                "expected a mapping of 'METHOD /route' to rules", key=f"{prefix}routes"
            )
        routes: dict[str, NoiseRules] = {}
        for rk, rules in routes_raw.items():
            where = f"{prefix}routes.{rk}"
            m = _ROUTE_KEY.match(str(rk).strip()) if isinstance(rk, str) else None
            if not m:
                raise ConfigError(
                    f"expected a route key like 'GET /users/{{id}}', got {rk!r}", key=where
                )
            norm = f"{m.group(1)} {m.group(2)}"
            parsed = NoiseRules.from_mapping(rules or {}, where)
            routes[norm] = routes[norm].merged(parsed) if norm in routes else parsed
        return cls(global_rules, routes)

    @classmethod
    def load(cls, path: str | Path) -> NoiseFile:
        """Read a noise file (`version: 1` required).

        *Raises:* `ConfigError` naming the file, the line and the key.
        """
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as e:
            raise ConfigError(f"cannot read noise file: {e.strerror or e}", path=str(p)) from None
        try:
            data = yaml.safe_load(text)
            lines = _line_index(text)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            raise ConfigError(
                f"invalid YAML: {getattr(e, 'problem', None) or e}",
                path=str(p),
                line=mark.line + 1 if mark else None,
            ) from None
        if data is None:
            data = {"version": NOISE_FILE_VERSION}
        try:
            return cls.from_mapping(data, "", require_version=True)
        except ConfigError as e:
            k = e.key or ""
            line = None
            probe = k
            while probe and line is None:
                line = lines.get(probe)
                cut = max(probe.rfind("."), probe.rfind("["))
                probe = probe[:cut] if cut > 0 else ""
            message = str(e).removeprefix(f"{k}: ") if k else str(e)
            raise ConfigError(message, path=str(p), line=line, key=k or None) from None

    # -- writing -----------------------------------------------------------------------

    def to_mapping(self) -> dict[str, Any]:
        """The file's mapping in its stable order (routes sorted by route, then method)."""
        routes = {
            rk: self.routes[rk].to_mapping()
            for rk in sorted(self.routes, key=lambda r: (r.split(" ", 1)[1], r))
            if not self.routes[rk].empty
        }
        out: dict[str, Any] = {"version": NOISE_FILE_VERSION}
        out["global"] = self.global_rules.to_mapping()
        out["routes"] = routes
        return out

    def dump(self, comment: str | None = None) -> str:
        """The YAML text: byte-stable for equal rules; `comment` becomes `# ` lines on top."""
        head = ""
        if comment:
            head = "".join(f"# {line}".rstrip() + "\n" for line in comment.splitlines())
        body = yaml.safe_dump(
            self.to_mapping(),
            sort_keys=False,
            allow_unicode=True,
            default_flow_style=False,
            width=100,
        )
        return head + body

    def save(self, path: str | Path, comment: str | None = None) -> None:
        """Write `dump(comment)` to `path` (UTF-8)."""
        Path(path).write_text(self.dump(comment), encoding="utf-8")

    @property
    def empty(self) -> bool:
        return self.global_rules.empty and all(r.empty for r in self.routes.values())


def _line_index(text: str) -> dict[str, int]:
    """The 1-based line of every key path (dotted, `[i]` for items) in a YAML text."""
    out: dict[str, int] = {}
    root = yaml.compose(text, Loader=yaml.SafeLoader)

    def walk(node: yaml.Node, prefix: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                kp = f"{prefix}.{k.value}" if prefix else str(k.value)
                out[kp] = k.start_mark.line + 1
                walk(v, kp)
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                kp = f"{prefix}[{i}]"
                out[kp] = v.start_mark.line + 1
                walk(v, kp)

    if root is not None:
        walk(root, "")
    return out
