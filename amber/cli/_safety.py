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

Source databases (read by `amber fixtures` and `amber gen-test --source-db`) are named the
same way, and `--reason` is required for those labelled `production`:

```yaml
sources:
  replica: {url: postgresql://amber_ro@replica.internal/app, label: production}
```
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Iterable
from collections.abc import Mapping
from typing import Any

from amber._audit import append_audit
from amber._audit import audit_path
from amber._audit import mask_userinfo
from amber._audit import record
from amber._config import Config
from amber._store import ExchangeQuery
from amber._store import Store
from amber.cli._common import UsageError

__all__ = ["PRODUCTION", "UNSAFE_METHODS", "SourceRef", "add_safety_args", "audit", "guard",
           "guard_source", "resolve_source", "unsafe_methods"]

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


@dataclasses.dataclass(frozen=True)
class SourceRef:
    """A source database as given on the command line: a name from `sources:`, or a URL."""

    url: str
    name: str | None = None
    label: str | None = None

    @property
    def display(self) -> str:
        return self.name or mask_userinfo(self.url)

_LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]", "")


def resolve_source(config: Config, spec: str) -> SourceRef:
    """`spec` as a source: a name under `sources:` in amber.yaml, else a database URL.

    A URL to a database on another host is unlabelled: amber warns, because the
    production rules cannot apply to what it does not know is production."""
    sources = config.section("sources")
    if "://" not in spec:
        if spec not in sources:
            known = ", ".join(sorted(sources)) or "none configured"
            raise UsageError(f"unknown source database {spec!r}: give a URL (postgresql://..., "
                             f"sqlite:///PATH) or one of ({known}) from sources: in amber.yaml")
        s = sources[spec]
        if not isinstance(s, Mapping) or not isinstance(s.get("url"), str):
            raise config.error("expected a mapping with url and label", f"sources.{spec}")
        label = s.get("label")
        if label is not None and not isinstance(label, str):
            raise config.error("expected a label such as production, staging or local",
                               f"sources.{spec}.label")
        return SourceRef(url=s["url"], name=spec, label=label)
    rest = spec.split("://", 1)[1]
    host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    host = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
    if host not in _LOCAL_HOSTS:
        print(f"amber: warning: {SourceRef(spec).display} is an unlabelled source database; "
              "name it in amber.yaml (sources:) to get its safety rules", file=sys.stderr)
    return SourceRef(url=spec)


def guard_source(source: SourceRef, reason: str | None) -> None:
    """Refuse to read a production-labelled source without a reason. Raises UsageError."""
    if source.label == PRODUCTION and not reason:
        raise UsageError(f"source database {source.display!r} is labelled production: say "
                         "why with --reason \"...\" (it is kept in the audit log)")


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
