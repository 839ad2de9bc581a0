"""The safety flags of commands that touch targets or source databases (docs/safety.md).

Targets (`amber replay`, `amber shadow`): the flags become an `amber.replay.Safety`, whose
rules `amber.replay` applies (a reason for production targets, confirmed writes, a default
rate, the audit record). Source databases (`amber fixtures`, `amber gen-test --source-db`)
are named in amber.yaml the same way, and `--reason` is required for those labelled
`production`:

```yaml
sources:
  replica: {url: postgresql://amber_ro@replica.internal/app, label: production}
```
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

from amber._audit import PRODUCTION
from amber._audit import audit_path
from amber._config import Config
from amber._urls import hide_password
from amber.errors import UsageError

if TYPE_CHECKING:
    from amber.replay import Safety

__all__ = ["SourceRef", "add_safety_args", "guard_source", "resolve_source", "safety_from_args"]


def add_safety_args(p: argparse.ArgumentParser, *, allow_writes: bool = True) -> None:
    g = p.add_argument_group("safety (see docs/safety.md)")
    g.add_argument(
        "--reason",
        metavar="TEXT",
        help="why you are doing this; kept in the audit log and required for "
        "targets labelled production",
    )
    if allow_writes:
        g.add_argument(
            "--allow-writes",
            action="store_true",
            help="also send writes: any method but GET, HEAD, OPTIONS and TRACE (POST, PUT, "
            "PATCH, DELETE, PURGE, MKCOL, ...), and requests whose method-override header "
            "or _method field names one",
        )
    g.add_argument(
        "--confirm",
        metavar="NAME",
        help="with --allow-writes against a production target: its name, to "
        "show you mean that target",
    )


def safety_from_args(args: argparse.Namespace, config: Config) -> Safety:
    """The safety flags (and `argv`, for the audit log amber.yaml names) as a `Safety`."""
    from amber.replay import Safety
    from amber.replay import unsafe_methods

    return Safety(
        reason=args.reason,
        allow_writes=args.allow_writes,
        confirm=args.confirm,
        unsafe_methods=unsafe_methods(config),
        audit_log=audit_path(config.section("audit")),
        argv=tuple(args.argv),
        command=next((a for a in args.argv[1:] if not a.startswith("-")), None),
    )


@dataclasses.dataclass(frozen=True)
class SourceRef:
    """A source database as given on the command line: a name from `sources:`, or a URL."""

    url: str
    name: str | None = None
    label: str | None = None

    @property
    def display(self) -> str:
        return self.name or hide_password(self.url)


_LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]", "")


def resolve_source(config: Config, spec: str) -> SourceRef:
    """`spec` as a source: a name under `sources:` in amber.yaml, else a database URL.

    A URL to a database on another host is unlabelled: amber warns, because the
    production rules cannot apply to what it does not know is production."""
    sources = config.section("sources")
    if "://" not in spec:
        if spec not in sources:
            known = ", ".join(sorted(sources)) or "none configured"
            raise UsageError(
                f"unknown source database {spec!r}: give a URL (postgresql://..., "
                f"sqlite:///PATH) or one of ({known}) from sources: in amber.yaml"
            )
        s = sources[spec]
        if not isinstance(s, Mapping) or not isinstance(s.get("url"), str):
            raise config.error("expected a mapping with url and label", f"sources.{spec}")
        label = s.get("label")
        if label is not None and not isinstance(label, str):
            raise config.error(
                "expected a label such as production, staging or local", f"sources.{spec}.label"
            )
        return SourceRef(url=s["url"], name=spec, label=label)
    rest = spec.split("://", 1)[1]
    host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    host = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
    if host not in _LOCAL_HOSTS:
        print(
            f"amber: warning: {SourceRef(spec).display} is an unlabelled source database; "
            "name it in amber.yaml (sources:) to get its safety rules",
            file=sys.stderr,
        )
    return SourceRef(url=spec)


def guard_source(source: SourceRef, reason: str | None) -> None:
    """Refuse to read a production-labelled source without a reason. Raises UsageError."""
    if source.label == PRODUCTION and not reason:
        raise UsageError(
            f"source database {source.display!r} is labelled production: say "
            'why with --reason "..." (it is kept in the audit log)'
        )
