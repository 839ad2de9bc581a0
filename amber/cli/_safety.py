"""Guarded targets: the safe thing is the default, the risky thing is deliberate.

Named targets in amber.yaml carry a label:

```yaml
targets:
  prod:    {url: https://api.example.com, label: production, rate: 5}
  staging: {url: https://staging.example.com, label: staging}
  local:   {url: http://127.0.0.1:8000, label: local}
```

Against a target labelled `production`:
- `--reason "..."` is required (it goes to the audit log);
- non-idempotent requests (POST, PUT, PATCH, DELETE and `replay.unsafe_methods`) are refused
  unless both `--allow-writes` and `--confirm NAME` (the target's own name) are given;
- reads are rate-limited by default (the target's `rate`, else 10 requests/s) unless
  `--rate` says otherwise.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Iterable
from typing import Any

from amber._audit import append_audit
from amber._audit import audit_path
from amber._audit import record
from amber._config import Config
from amber._store import ExchangeQuery
from amber._store import Store
from amber.cli._common import UsageError

__all__ = ["PRODUCTION", "UNSAFE_METHODS", "add_safety_args", "audit", "guard",
           "unsafe_methods"]

PRODUCTION = "production"
UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
DEFAULT_PRODUCTION_RATE = 10.0


def add_safety_args(p: argparse.ArgumentParser, *, allow_writes: bool = True) -> None:
    g = p.add_argument_group("safety (see docs/safety.md)")
    g.add_argument("--reason", metavar="TEXT",
                   help="why you are doing this; kept in the audit log and required for "
                   "targets labelled production")
    if allow_writes:
        g.add_argument("--allow-writes", action="store_true",
                       help="also send non-idempotent requests (POST, PUT, PATCH, DELETE)")
    g.add_argument("--confirm", metavar="NAME",
                   help="with --allow-writes against a production target: its name, to "
                   "show you mean that target")


def unsafe_methods(config: Config) -> tuple[str, ...]:
    extra = config.section("replay").get("unsafe_methods") or []
    if not isinstance(extra, list):
        raise config.error("expected a list of HTTP methods", "replay.unsafe_methods")
    return tuple(dict.fromkeys([*UNSAFE_METHODS, *(str(m).upper() for m in extra)]))


def count_unsafe(store: Store, args: argparse.Namespace, query: ExchangeQuery | None,
                 methods: Iterable[str]) -> int:
    methods = tuple(methods)
    if getattr(args, "ids", None):
        return sum(1 for i in args.ids if store.get(i).request.method.upper() in methods)
    if query is None:
        return 0
    wanted = [m for m in methods if not query.methods or m in query.methods]
    if not wanted:
        return 0
    return store.count(dataclasses.replace(query, methods=wanted, limit=None))


def guard(config: Config, targets: Iterable[Any], args: argparse.Namespace, store: Store,
          query: ExchangeQuery | None) -> None:
    """Refuse what production targets do not allow; slow reads down. Raises UsageError."""
    for target in targets:
        if target is None or target.label != PRODUCTION:
            continue
        name = target.name or target.url
        if not args.reason:
            raise UsageError(f"target {name!r} is labelled production: say why with "
                             "--reason \"...\" (it is kept in the audit log)")
        unsafe = count_unsafe(store, args, query, unsafe_methods(config))
        writes_allowed = getattr(args, "allow_writes", False)
        if unsafe and not (writes_allowed and args.confirm == target.name):
            raise UsageError(
                f"refusing to send {unsafe} non-idempotent requests (POST, PUT, PATCH, "
                f"DELETE) to production target {name!r}: add --allow-writes --confirm "
                f"{target.name} to send them, or filter them out (e.g. --method GET)"
            )
        if args.rate is None:
            args.rate = float(getattr(target, "rate", None) or DEFAULT_PRODUCTION_RATE)
            print(f"amber: reads against production target {name!r} are limited to "
                  f"{args.rate:g} requests/s (--rate to change)", file=sys.stderr)


def audit(config: Config, command: str, argv: list[str], *, reason: str | None,
          target: str | None, **counts: Any) -> None:
    """Append this command's audit record."""
    append_audit(audit_path(config.section("audit")),
                 record(command, argv, reason=reason, target=target, **counts))
