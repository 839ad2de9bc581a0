"""Targets named in amber.yaml, and the rules a target labelled production imposes.

```yaml
targets:
  prod:    {url: https://api.example.com, label: production, rate: 5}
  staging: {url: https://staging.example.com, label: staging}
  local:   {url: http://127.0.0.1:8000, label: local}
```

Against a target labelled `production` (docs/safety.md), a run:
- needs a reason (it goes to the audit log);
- refuses non-idempotent requests (POST, PUT, PATCH, DELETE and `replay.unsafe_methods`)
  unless writes are allowed and confirmed with the target's own name;
- is rate-limited by default (the target's `rate`, else 10 requests/s) unless a rate is given.

Only replay and shadow send to targets, so these rules live here; the label itself and the
audit log are the core's (`amber._audit`), shared with source databases.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from amber._audit import PRODUCTION
from amber._audit import append_audit
from amber._audit import record
from amber._config import Config
from amber.errors import UsageError
from amber.replay._runner import Target

__all__ = [
    "DEFAULT_PRODUCTION_RATE",
    "UNSAFE_METHODS",
    "Safety",
    "guard_targets",
    "resolve_target",
    "unsafe_methods",
]

UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
DEFAULT_PRODUCTION_RATE = 10.0
_LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


def resolve_target(
    config: Config,
    spec: str,
    *,
    timeout: float | None = None,
    verify: bool = True,
    keep_host: bool = False,
    warn: Callable[[str], None] | None = None,
) -> Target:
    """`spec` as a target: a name under `targets:` in amber.yaml, else a base URL.

    `timeout` defaults to `replay.timeout`, else 30 s. A URL to another host than this one
    is unlabelled: `warn` is told, since the production rules cannot apply to what amber does
    not know is production. *Raises:* `UsageError` for an unknown name, `ConfigError` for
    a malformed entry.
    """
    timeout = timeout or float(config.section("replay").get("timeout", 30))
    targets = config.section("targets")
    if "://" not in spec:
        if spec not in targets:
            known = ", ".join(sorted(targets)) or "none configured"
            raise UsageError(f"unknown target {spec!r}: give a URL or one of ({known})")
        t = targets[spec]
        if not isinstance(t, dict) or "url" not in t:
            raise config.error("expected a mapping with url and label", f"targets.{spec}")
        rate = t.get("rate")
        if rate is not None and (
            isinstance(rate, bool) or not isinstance(rate, (int, float)) or rate <= 0
        ):
            raise config.error(
                "expected requests per second (a number > 0)", f"targets.{spec}.rate"
            )
        return Target(
            url=str(t["url"]),
            name=spec,
            label=t.get("label"),
            timeout=timeout,
            verify=verify,
            keep_host=keep_host,
            rate=float(rate) if rate is not None else None,
        )
    host = spec.split("://", 1)[1].split("/", 1)[0].rsplit("@", 1)[-1].split(":")[0]
    if host not in _LOCAL_HOSTS and warn is not None:
        warn(
            f"warning: {spec} is an unlabelled target; name it in amber.yaml (targets:) to "
            "get its safety rules"
        )
    return Target(url=spec, timeout=timeout, verify=verify, keep_host=keep_host)


def unsafe_methods(config: Config) -> tuple[str, ...]:
    """The methods a production target refuses: POST, PUT, PATCH, DELETE and those listed
    in `replay.unsafe_methods`."""
    extra = config.section("replay").get("unsafe_methods") or []
    if not isinstance(extra, list):
        raise config.error("expected a list of HTTP methods", "replay.unsafe_methods")
    return tuple(dict.fromkeys([*UNSAFE_METHODS, *(str(m).upper() for m in extra)]))


@dataclass(frozen=True)
class Safety:
    """What the person starting a run declared, and where the run is audited.

    `reason` is required by production targets; `allow_writes` with `confirm` (the
    target's name) lets `unsafe_methods` through to them. `audit_log`, when set, gets one
    record when the run ends, with `argv` (masked) as the command line.
    """

    reason: str | None = None
    allow_writes: bool = False
    confirm: str | None = None
    unsafe_methods: tuple[str, ...] = UNSAFE_METHODS
    audit_log: Path | None = None
    argv: tuple[str, ...] = ()

    def audit(self, command: str, target: str, **counts: object) -> None:
        """Append the run's record to `audit_log` (nothing when it is None)."""
        if self.audit_log is not None:
            append_audit(
                self.audit_log,
                record(command, self.argv, reason=self.reason, target=target, **counts),
            )


def guard_targets(
    targets: Iterable[Target | None],
    safety: Safety,
    *,
    rate: float | None,
    count_unsafe: Callable[[tuple[str, ...]], int],
    notify: Callable[[str], None],
) -> float | None:
    """Refuse what production targets do not allow; return the request rate to use.

    `count_unsafe(methods)` counts the run's requests with those methods (asked only when a
    production target is among `targets`). Without a `rate`, a production target's own
    (else `DEFAULT_PRODUCTION_RATE`) applies, and `notify` says so. *Raises:* `UsageError`
    naming the flags that would allow the run.
    """
    for target in targets:
        if target is None or target.label != PRODUCTION:
            continue
        name = target.name or target.url
        if not safety.reason:
            raise UsageError(
                f"target {name!r} is labelled production: say why with "
                '--reason "..." (it is kept in the audit log)'
            )
        unsafe = count_unsafe(safety.unsafe_methods)
        if unsafe and not (safety.allow_writes and safety.confirm == target.name):
            raise UsageError(
                f"refusing to send {unsafe} non-idempotent requests (POST, PUT, PATCH, "
                f"DELETE) to production target {name!r}: add --allow-writes --confirm "
                f"{target.name} to send them, or filter them out (e.g. --method GET)"
            )
        if rate is None:
            rate = float(target.rate or DEFAULT_PRODUCTION_RATE)
            notify(
                f"reads against production target {name!r} are limited to {rate:g} "
                "requests/s (--rate to change)"
            )
    return rate
