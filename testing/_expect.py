"""`testing.expect` in amber.yaml: what a working build answers, per route.

```yaml
testing:
  expect:
    - route: GET /api/customers/{customer_id}/orders   # METHOD /template, or /template
      status: 200                # or a list of codes
      json: {currency: EUR}      # fields of the JSON body (a subset), or the whole body
      contains: [order_id]       # texts the body holds; not_contains: texts it must not
      lines: 3                   # non-empty lines; rows: CSV rows after the header
      predicate: myapp.checks:orders_ok
```

`expectation_for` picks the exchange's entry (the first whose route is the exchange's);
`amber gen-test` writes it into the test as `assert_fixed`'s arguments, and its verify
judges a run by it (`checks`: what an answer shows for each declared check, so that a run
reproduces a wrong answer when it misses the expectation as the recording does).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from amber._model import Exchange
from amber.errors import ConfigError

__all__ = ["EXPECT_KEYS", "Check", "checks", "describe_expectation", "expectation_for"]

EXPECT_KEYS = ("route", "status", "json", "contains", "not_contains", "lines", "rows", "predicate")


def expectation_for(entries: Any, ex: Exchange) -> dict[str, Any]:
    """The first `testing.expect` entry whose `route` (`METHOD /template` or `/template`)
    is the exchange's (the recorded route template, or a template that matches the request
    path, as `fixtures.rules` routes do), without its `route` key; {} when none is.
    *Raises:* `ConfigError` for entries that are not what docs/testing.md describes."""
    if not isinstance(entries, list):
        raise ConfigError("expected a list of {route: ..., status: ...}", key="testing.expect")
    route = ex.route or ex.request.path
    path = ex.request.path.split("?", 1)[0] or "/"
    for i, entry in enumerate(entries):
        key = f"testing.expect[{i}]"
        if not isinstance(entry, Mapping) or not isinstance(entry.get("route"), str):
            raise ConfigError("expected {route: 'METHOD /template', status: ...}", key=key)
        unknown = sorted(set(entry) - set(EXPECT_KEYS))
        if unknown:
            raise ConfigError(
                f"unknown key {unknown[0]!r} (known: {', '.join(EXPECT_KEYS)})",
                key=f"{key}.{unknown[0]}",
            )
        _check_expect(entry, key)
        method, _, template = entry["route"].strip().rpartition(" ")
        if method and method.upper() != ex.request.method.upper():
            continue
        if template == route or _matches(template, path, key):
            return {k: v for k, v in entry.items() if k != "route"}
    return {}


def _matches(template: str, path: str, key: str) -> bool:
    """Whether the route `template` matches the request `path` (its parameters as any one
    segment, `{name*}` as the rest)."""
    from amber._routes import RoutePattern

    try:
        pattern = RoutePattern.parse(template)
    except ConfigError as e:
        raise ConfigError(str(e), key=f"{key}.route") from None
    return pattern.match("", path) is not None


def _check_expect(entry: Mapping[str, Any], key: str) -> None:
    status = entry.get("status")
    if status is not None and not (
        (isinstance(status, int) and not isinstance(status, bool) and 100 <= status <= 599)
        or (isinstance(status, list) and all(isinstance(x, int) for x in status))
    ):
        raise ConfigError("expected a status code or a list of them", key=f"{key}.status")
    for name in ("contains", "not_contains"):
        value = entry.get(name)
        if value is not None and not (
            isinstance(value, str)
            or (isinstance(value, list) and all(isinstance(x, str) for x in value))
        ):
            raise ConfigError("expected a text or a list of texts", key=f"{key}.{name}")
    for name in ("lines", "rows"):
        value = entry.get(name)
        if value is not None and (not isinstance(value, int) or value < 0):
            raise ConfigError("expected a count (an integer >= 0)", key=f"{key}.{name}")
    pred = entry.get("predicate")
    if pred is not None and (not isinstance(pred, str) or ":" not in pred):
        raise ConfigError("expected 'module:function'", key=f"{key}.predicate")


@dataclass(frozen=True)
class Check:
    """One declared check on one answer: its name (`rows`, `contains 'x'`, `json.total`),
    whether the answer meets it and what the answer shows for it (a count, a status,
    `present`...), as `assert_fixed` would judge it."""

    name: str
    ok: bool
    observed: str

    def describe(self) -> str:
        return f"{self.name}: {self.observed}"


def describe_expectation(expect: Mapping[str, Any]) -> str:
    """`status 200, rows 3, contains 'x'`: the declared checks, in `EXPECT_KEYS` order."""
    parts = []
    for key in EXPECT_KEYS[1:]:
        value = expect.get(key)
        if value is None:
            continue
        if key in ("contains", "not_contains"):
            texts = [value] if isinstance(value, str) else list(value)
            parts += [f"{key.replace('_', ' ')} {t!r}" for t in texts]
        elif key == "json":
            parts.append(f"json {_short(value)}")
        else:
            parts.append(f"{key} {value}")
    if "whole_json" in expect:
        parts.append(f"whole JSON body {_short(expect['whole_json'])}")
    return ", ".join(parts) or "nothing"


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


_MISSING = object()


def checks(
    expect: Mapping[str, Any],
    status: int,
    body: bytes,
    predicate: Callable[[str], bool | None] | None = None,
) -> list[Check]:
    """Each declared check of `expect` (a `testing.expect` entry without its route; a
    `whole_json` key: a body that must equal it, as `--expect-json` asserts) on one answer,
    as `assert_fixed` judges it: `status` a code or a list, `json` fields of a mapping (a
    subset) or the whole body, `contains`/`not_contains` texts, `lines` the non-empty lines,
    `rows` those after the header. `predicate(spec)` runs a predicate on the answer (True,
    False, or None when it cannot be run here: that check is left out)."""
    out: list[Check] = []
    wanted = expect.get("status")
    if wanted is not None:
        codes = (wanted,) if isinstance(wanted, int) else tuple(wanted)
        out.append(Check("status", status in codes, str(status)))
    text = body.decode("utf-8", "replace")
    doc: Any = _MISSING
    if expect.get("json") is not None or "whole_json" in expect:
        try:
            doc = json.loads(body)
        except ValueError:
            doc = _MISSING
    expected_json = expect.get("json")
    if expected_json is not None:
        if isinstance(expected_json, Mapping) and isinstance(doc, Mapping):
            for k, v in expected_json.items():
                ok = doc.get(k, _MISSING) == v
                out.append(Check(f"json.{k}", ok, "as expected" if ok else "differs"))
        elif doc is _MISSING:
            out.append(Check("json", False, "not a JSON body"))
        else:
            ok = doc == expected_json
            out.append(Check("json", ok, "as expected" if ok else "differs"))
    if "whole_json" in expect:
        ok = doc is not _MISSING and doc == expect["whole_json"]
        out.append(Check("whole JSON body", ok, "as expected" if ok else "differs"))
    for key, want in (("contains", True), ("not_contains", False)):
        value = expect.get(key)
        if value is None:
            continue
        for part in [value] if isinstance(value, str) else value:
            present = part in text
            name = f"{key.replace('_', ' ')} {part!r}"
            out.append(Check(name, present == want, "present" if present else "absent"))
    counted = [line for line in text.splitlines() if line.strip()]
    if expect.get("lines") is not None:
        out.append(Check("lines", len(counted) == expect["lines"], str(len(counted))))
    if expect.get("rows") is not None:
        rows = max(len(counted) - 1, 0)
        out.append(Check("rows", rows == expect["rows"], str(rows)))
    spec = expect.get("predicate")
    if spec is not None and predicate is not None:
        verdict = predicate(str(spec))
        if verdict is not None:
            out.append(Check(f"predicate {spec}", verdict, "accepts" if verdict else "refuses"))
    return out
