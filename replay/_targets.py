"""Targets named in amber.yaml, and the rules a target labelled production imposes.

```yaml
targets:
  prod:    {url: https://api.example.com, label: production, rate: 5}
  staging: {url: https://staging.example.com, label: staging}
  local:   {url: http://127.0.0.1:8000, label: local}
```

Against a target labelled `production` (docs/safety.md), a run:
- needs a reason (it goes to the audit log);
- refuses writes unless they are allowed and confirmed with the target's own name. A write
  is what is sent, not what is typed: any method but GET, HEAD, OPTIONS and TRACE (PURGE,
  MKCOL, `replay.unsafe_methods` included), and a read carrying a method override
  (`X-HTTP-Method-Override`, `X-Method-Override`, `X-HTTP-Method`, a `_method` query or
  form field) that names a write;
- is rate-limited by default (the target's `rate`, else 10 requests/s) unless a rate is given.

A URL equal to a named target's (scheme, host, port and path) is that target: its label and
rules apply however it was given. A refused run is audited too (`amber._audit.refusal`).

Only replay and shadow send to targets, so these rules live here; the label itself and the
audit log are the core's (`amber._audit`), shared with source databases.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx

from amber._audit import PRODUCTION
from amber._audit import append_audit
from amber._audit import record
from amber._audit import refusal
from amber._config import Config
from amber._model import Exchange
from amber._model import Request
from amber.errors import UsageError
from amber.replay._runner import Target

__all__ = [
    "DEFAULT_PRODUCTION_RATE",
    "METHOD_OVERRIDES",
    "SAFE_METHODS",
    "UNSAFE_METHODS",
    "Safety",
    "count_writes",
    "effective_method",
    "guard_targets",
    "is_write",
    "resolve_target",
    "unsafe_methods",
]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
"""The only methods that are reads: every other one counts as a write."""
UNSAFE_METHODS = (
    "POST",
    "PUT",
    "PATCH",
    "DELETE",
    # the other registered methods (IANA HTTP Method Registry, WebDAV, CalDAV, versioning)
    # and the common unregistered ones: counted by name in the store before a run starts
    "PURGE",
    "MKCOL",
    "COPY",
    "MOVE",
    "LOCK",
    "UNLOCK",
    "PROPFIND",
    "PROPPATCH",
    "SEARCH",
    "REPORT",
    "QUERY",
    "ACL",
    "BIND",
    "REBIND",
    "UNBIND",
    "LINK",
    "UNLINK",
    "MERGE",
    "MKCALENDAR",
    "MKACTIVITY",
    "MKWORKSPACE",
    "MKREDIRECTREF",
    "UPDATEREDIRECTREF",
    "ORDERPATCH",
    "CHECKIN",
    "CHECKOUT",
    "UNCHECKOUT",
    "VERSION-CONTROL",
    "BASELINE-CONTROL",
    "LABEL",
    "UPDATE",
    "CONNECT",
    "BAN",
)
METHOD_OVERRIDES = ("x-http-method-override", "x-method-override", "x-http-method")
"""Headers that make a server treat a request as another method (and the `_method` query or
form field, which frameworks read the same way)."""
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
    if "://" in spec:
        named = _named_by_url(targets, spec)
        if named is not None:
            if warn is not None:
                warn(f"{spec} is target {named!r} in amber.yaml: its rules apply")
            spec = named
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


def _url_key(url: str) -> tuple[str, str, int | None, str] | None:
    """What makes two target URLs the same place: scheme, host, port and path (credentials,
    case, a default port and a trailing slash aside)."""
    try:
        u = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        return None
    port = u.port or {"http": 80, "https": 443}.get(u.scheme)
    return u.scheme, u.host.lower(), port, u.path.rstrip("/")


def _named_by_url(targets: Mapping[str, Any], url: str) -> str | None:
    """The name of the target in `targets` whose URL is `url`'s place, if any."""
    key = _url_key(url)
    if key is None:
        return None
    for name, t in targets.items():
        if isinstance(t, dict) and isinstance(t.get("url"), str) and _url_key(t["url"]) == key:
            return str(name)
    return None


def effective_method(req: Request) -> str:
    """The method a server acts on: `req.method`, or the one a method-override header, or a
    `_method` query or form field, names (upper case)."""
    method = req.method.upper()
    for k, v in req.headers:
        if k.lower() in METHOD_OVERRIDES and v.strip():
            return v.strip().upper()
    if "_method=" in req.query:
        for k, v in parse_qsl(req.query, keep_blank_values=True):
            if k == "_method" and v.strip():
                return v.strip().upper()
    if req.body and b"_method=" in req.body[:65536]:
        text = req.body[:65536].decode("utf-8", "replace")
        for k, v in parse_qsl(text, keep_blank_values=True):
            if k == "_method" and v.strip():
                return v.strip().upper()
    return method


def is_write(req: Request, unsafe: Iterable[str] = ()) -> bool:
    """Whether sending `req` writes: its method or an override it carries (`effective_method`)
    is not GET, HEAD, OPTIONS or TRACE, or is one of `unsafe` (`replay.unsafe_methods`)."""
    extra = {m.upper() for m in unsafe}
    return any(
        m not in SAFE_METHODS or m in extra for m in (req.method.upper(), effective_method(req))
    )


def count_writes(exchanges: Iterable[Exchange], unsafe: Iterable[str] = ()) -> int:
    """How many of `exchanges` write (`is_write`): what `guard_targets` asks before a run."""
    methods = tuple(unsafe)
    return sum(1 for ex in exchanges if is_write(ex.request, methods))


def unsafe_methods(config: Config) -> tuple[str, ...]:
    """The methods a production target refuses by name: `UNSAFE_METHODS` (every registered
    method but GET, HEAD, OPTIONS and TRACE) and those listed in `replay.unsafe_methods`."""
    extra = config.section("replay").get("unsafe_methods") or []
    if not isinstance(extra, list):
        raise config.error("expected a list of HTTP methods", "replay.unsafe_methods")
    return tuple(dict.fromkeys([*UNSAFE_METHODS, *(str(m).upper() for m in extra)]))


@dataclass(frozen=True)
class Safety:
    """What the person starting a run declared, and where the run is audited.

    `reason` is required by production targets; `allow_writes` with `confirm` (the
    target's name) lets writes through to them (`is_write`: `unsafe_methods` and method
    overrides). `audit_log`, when set, gets one record when the run ends, and one when a
    run is refused, with `argv` (masked) as the command line and `command` (`replay`,
    `shadow`) naming it.
    """

    reason: str | None = None
    allow_writes: bool = False
    confirm: str | None = None
    unsafe_methods: tuple[str, ...] = UNSAFE_METHODS
    audit_log: Path | None = None
    argv: tuple[str, ...] = ()
    command: str | None = None

    def audit(self, command: str, target: str, **counts: object) -> None:
        """Append the run's record to `audit_log` (nothing when it is None)."""
        if self.audit_log is not None:
            append_audit(
                self.audit_log,
                record(command, self.argv, reason=self.reason, target=target, **counts),
            )

    def refuse(self, target: Target, message: str, **counts: object) -> UsageError:
        """Audit a refused run against `target` (nothing is sent) and return the error
        to raise, saying `message`."""
        if self.audit_log is not None:
            append_audit(
                self.audit_log,
                refusal(
                    self.command or "replay",
                    self.argv,
                    reason=self.reason,
                    target=target.name or target.display,
                    refused=message,
                    **counts,
                ),
            )
        return UsageError(message)


def guard_targets(
    targets: Iterable[Target | None],
    safety: Safety,
    *,
    rate: float | None,
    count_unsafe: Callable[[tuple[str, ...]], int],
    notify: Callable[[str], None],
    count_writes: Callable[[tuple[str, ...]], int] | None = None,
) -> float | None:
    """Refuse what production targets do not allow; return the request rate to use.

    `count_writes(unsafe_methods)` counts the run's requests that write as they will be
    sent (`count_writes` of this module over the selection: any method but the four reads,
    method overrides included); without it, `count_unsafe(methods)` counts the requests
    with those methods (the store counts them by name). Either is asked only when a
    production target is among `targets`. Without a `rate`, a production target's own
    (else `DEFAULT_PRODUCTION_RATE`) applies, and `notify` says so. *Raises:* `UsageError`
    naming the flags that would allow the run; the refusal is audited first.
    """
    for target in targets:
        if target is None or target.label != PRODUCTION:
            continue
        name = target.name or target.url
        if not safety.reason:
            raise safety.refuse(
                target,
                f"target {name!r} is labelled production: say why with "
                '--reason "..." (it is kept in the audit log)',
            )
        counter = count_writes or count_unsafe
        unsafe = counter(safety.unsafe_methods)
        if unsafe and not (safety.allow_writes and safety.confirm == target.name):
            raise safety.refuse(
                target,
                f"refusing to send {unsafe} writes (methods other than GET, HEAD, OPTIONS "
                f"and TRACE, or a method override) to production target {name!r}: add "
                f"--allow-writes --confirm {target.name} to send them, or filter them out "
                "(e.g. --method GET)",
                writes=unsafe,
            )
        if rate is None:
            rate = float(target.rate or DEFAULT_PRODUCTION_RATE)
            notify(
                f"reads against production target {name!r} are limited to {rate:g} "
                "requests/s (--rate to change)"
            )
    return rate
