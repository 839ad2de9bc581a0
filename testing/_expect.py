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
`amber gen-test` writes it into the test as `assert_fixed`'s arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from amber._model import Exchange
from amber.errors import ConfigError

__all__ = ["EXPECT_KEYS", "expectation_for"]

EXPECT_KEYS = ("route", "status", "json", "contains", "not_contains", "lines", "rows", "predicate")


def expectation_for(entries: Any, ex: Exchange) -> dict[str, Any]:
    """The first `testing.expect` entry whose `route` (`METHOD /template` or `/template`)
    is the exchange's, without its `route` key; {} when none is. *Raises:* `ConfigError`
    for entries that are not what docs/testing.md describes."""
    if not isinstance(entries, list):
        raise ConfigError("expected a list of {route: ..., status: ...}", key="testing.expect")
    route = ex.route or ex.request.path
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
        if template == route and (not method or method.upper() == ex.request.method):
            return {k: v for k, v in entry.items() if k != "route"}
    return {}


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
