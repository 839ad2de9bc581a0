"""`amber audit`: list and filter the audit log."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.table import Table

from amber._audit import audit_path
from amber._audit import read_audit
from amber._config import find_config
from amber._model import dumps_json
from amber.cli._common import Command
from amber.cli._common import console
from amber.cli._common import parse_time
from amber.cli._common import readable_file


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--command",
        dest="cmd",
        metavar="NAME",
        help="only this command (replay, shadow, fixtures, ...)",
    )
    p.add_argument("--target", metavar="TEXT", help="only entries whose target contains TEXT")
    p.add_argument("--user", metavar="NAME", help="only this OS user")
    p.add_argument("--since", metavar="TIME", help="entries at or after TIME (ISO 8601 or 2h)")
    p.add_argument(
        "--json",
        action="store_true",
        help='the entries as JSON lines, "type": "audit" (a damaged line: "type": '
        '"unreadable"; docs/cli.md)',
    )
    p.add_argument(
        "--file",
        metavar="PATH",
        help="the audit log (default: audit.path in amber.yaml, else .amber/audit.jsonl)",
    )
    p.add_argument("--config", metavar="FILE", help="amber.yaml to use")


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def entry_json(entry: Mapping[str, Any]) -> dict[str, Any]:
    """An audit entry as a JSON line with stable types (docs/cli.md): `"type": "audit"`,
    `when`, `user`, `command` strings; `argv` an array of strings; `target`, `source`,
    `reason` strings or null; then the entry's other keys as recorded (counts, `tables`,
    `refused`, ...). A line of the log that did not parse is `"type": "unreadable"` with
    its `line` number."""
    if "unreadable_line" in entry and len(entry) == 1:
        return {"type": "unreadable", "line": int(entry["unreadable_line"])}
    argv = entry.get("argv")
    fixed = {
        "type": "audit",
        "when": str(entry.get("when") or ""),
        "user": str(entry.get("user") or ""),
        # records written before `command` was kept were all extractions
        "command": str(entry.get("command") or "fixtures"),
        "argv": [str(a) for a in argv] if isinstance(argv, list) else [],
        "target": _text(entry.get("target")),
        "source": _text(entry.get("source")),
        "reason": _text(entry.get("reason")),
    }
    return {**fixed, **{k: v for k, v in entry.items() if k not in fixed}}


def run(args: argparse.Namespace) -> int:
    path = args.file or audit_path(find_config(args.config).section("audit"))
    if Path(path).exists():  # a log not written yet has no entries
        readable_file(str(path))
    since = parse_time(args.since) if args.since else None
    entries = []
    for e in read_audit(path):
        if args.cmd and e.get("command") != args.cmd:
            continue
        if args.target and args.target not in str(e.get("target") or e.get("source") or ""):
            continue
        if args.user and e.get("user") != args.user:
            continue
        if since is not None and e.get("when") and parse_time(str(e["when"])) < since:
            continue
        entries.append(e)
    if args.json:
        for e in entries:
            sys.stdout.write(dumps_json(entry_json(e), newline=True).decode())
        return 0
    t = Table(box=None, header_style="bold")
    for col in ("WHEN (UTC)", "USER", "COMMAND", "TARGET / SOURCE", "REASON", "COUNTS"):
        t.add_column(col, overflow="fold")
    skip = {"when", "user", "command", "target", "source", "reason", "argv"}
    for e in entries:
        counts = ", ".join(
            f"{k} {v}" for k, v in e.items() if k not in skip and not isinstance(v, (dict, list))
        )
        t.add_row(
            str(e.get("when", "")),
            str(e.get("user", "")),
            str(e.get("command", "fixtures")),
            str(e.get("target") or e.get("source") or ""),
            str(e.get("reason") or "-"),
            counts,
        )
    console().print(t if entries else f"no audit entries in {path}")
    return 0


COMMAND = Command(
    "audit",
    "list the audit log (who sent what where, and why)",
    register,
    run,
    description="List and filter the append-only audit log of commands that "
    "touched a target or a source database.",
)
