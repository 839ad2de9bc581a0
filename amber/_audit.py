"""The audit log: one JSON line per command that touches a target or a source database.

Append-only, created `0600` in a `0700` folder (default `.amber/audit.jsonl`, or `audit.path`
in amber.yaml). Each record: when, the OS user, the command line with secrets masked, the
target or source (passwords hidden), the reason given, and what was sent or read.
"""

from __future__ import annotations

import datetime as dt
import functools
import getpass
import json
import os
import re
import secrets
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from amber._model import dumps_json
from amber._urls import hide_passwords

__all__ = [
    "DEFAULT_AUDIT_LOG",
    "PRODUCTION",
    "append_audit",
    "audit_path",
    "mask_argv",
    "read_audit",
    "record",
    "refusal",
    "sanitize_reason",
]

DEFAULT_AUDIT_LOG = ".amber/audit.jsonl"
PRODUCTION = "production"
"""The label (amber.yaml `targets:` and `sources:`) whose use needs a reason, kept here."""

_SECRET_FLAG = re.compile(r"^--?(?:password|token|secret|key|api[-_]?key|auth)(?:=|$)", re.I)


def mask_argv(argv: Sequence[str]) -> list[str]:
    """The command line with URL passwords, secret-looking flag values and tokens masked."""
    from amber.sanitize import scan_bytes

    out: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            out.append("***")
            hide_next = False
            continue
        if _SECRET_FLAG.match(arg):
            if "=" in arg:
                out.append(arg.split("=", 1)[0] + "=***")
            else:
                out.append(arg)
                hide_next = True
            continue
        masked = hide_passwords(arg)
        # scan what is left once the (masked) userinfo is out of the way
        rest = re.sub(r"//[^/@\s]*@", "//", masked)
        findings = scan_bytes(rest.encode("utf-8", "surrogateescape"))
        out.append(
            "***"
            if any(f.rule not in ("email", "ip", "ipv6", "phone") for f in findings)
            else masked
        )
    return out


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"


@functools.cache
def _reason_sanitizer() -> Any:
    from amber._pseudonym import Pseudonymizer
    from amber.sanitize import SanitizeConfig
    from amber.sanitize import Sanitizer

    # the value rules need no key to mask a token; an email or a phone gets a pseudonym
    # of this process's key (an audit record is read by people, never compared)
    return Sanitizer(SanitizeConfig(), Pseudonymizer(secrets.token_bytes(32)))


def sanitize_reason(reason: str | None) -> str | None:
    """A `--reason` as the audit log keeps it: the value rules applied (a token pasted
    into it is masked, an email pseudonymized), like any text amber stores."""
    if not reason:
        return reason
    clean: str = _reason_sanitizer().sanitize_text(reason, "audit.reason")[0]
    return clean


def record(
    command: str,
    argv: Sequence[str],
    *,
    reason: str | None,
    target: str | None = None,
    **counts: Any,
) -> dict[str, Any]:
    """One audit record; `reason` (and its copy in `argv`) sanitized (`sanitize_reason`),
    `argv` masked (`mask_argv`)."""
    clean = sanitize_reason(reason)
    args = mask_argv(argv)
    if reason and clean != reason:
        args = [_replace_reason(a, reason, clean or "") for a in args]
    return {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "user": _user(),
        "command": command,
        "argv": args,
        "target": target,
        "reason": clean,
        **counts,
    }


def _replace_reason(arg: str, reason: str, clean: str) -> str:
    if arg == reason:
        return clean
    if arg.startswith("--reason=") and arg[9:] == reason:
        return "--reason=" + clean
    return arg


def audit_path(config_section: Mapping[str, Any] | None = None) -> Path:
    path = (config_section or {}).get("path") or os.environ.get("AMBER_AUDIT_LOG")
    return Path(path or DEFAULT_AUDIT_LOG)


def append_audit(path: str | os.PathLike[str], entry: Mapping[str, Any]) -> None:
    """Append `entry` as one JSON line (any string, lone surrogates included); creates the
    file 0600 (its folder 0700)."""
    p = Path(path)
    if not p.parent.exists():
        p.parent.mkdir(parents=True, mode=0o700, exist_ok=True)
    # amber's JSON writer: a value holding a raw byte kept by surrogateescape (a route, a
    # path) is written as a `\udce9` escape instead of failing the command that audits
    line = dumps_json(entry, newline=True, default=str)
    fd = os.open(p, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def read_audit(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Entries in order; a damaged line is reported as `{"unreadable_line": N}`."""
    p = Path(path)
    if not p.exists():
        return
    with p.open(encoding="utf-8") as fp:
        for n, line in enumerate(fp, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                yield {"unreadable_line": n}
                continue
            if isinstance(entry, dict):
                yield entry


def refusal(
    command: str,
    argv: Sequence[str],
    *,
    reason: str | None,
    target: str | None,
    refused: str,
    **counts: Any,
) -> dict[str, Any]:
    """The audit record of a run refused before anything was sent: `record`'s fields (the
    command line masked, the reason as `record` keeps it), `refused` (amber's own message:
    target names and counts, no traffic) and `sent: 0`."""
    return {
        **record(command, argv, reason=reason, target=target, **counts),
        "refused": refused,
        "sent": 0,
    }
