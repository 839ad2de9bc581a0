"""`amber audit`: list and filter the audit log."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

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
    p.add_argument("--json", action="store_true", help="the entries as JSON lines")
    p.add_argument(
        "--file",
        metavar="PATH",
        help="the audit log (default: audit.path in amber.yaml, else .amber/audit.jsonl)",
    )
    p.add_argument("--config", metavar="FILE", help="amber.yaml to use")


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
            sys.stdout.write(dumps_json(e, newline=True).decode())
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
