"""`amber ls`: list captured exchanges, newest first."""

from __future__ import annotations

import argparse
import sys

import orjson
from rich.table import Table

from amber.cli._common import Command
from amber.cli._common import add_filter_args
from amber.cli._common import add_store_args
from amber.cli._common import console
from amber.cli._common import format_time
from amber.cli._common import open_from_args
from amber.cli._common import query_from_args


def register(p: argparse.ArgumentParser) -> None:
    add_filter_args(p, limit_default=50)
    p.add_argument("--oldest-first", action="store_true", help="chronological order")
    p.add_argument(
        "--json", action="store_true", help="one JSON object per line (no bodies or headers)"
    )
    add_store_args(p)


def _status(s: int | None, error: str | None) -> str:
    if s is None:
        return "ERR" if error else "-"
    return str(s)


def run(args: argparse.Namespace) -> int:
    _config, store = open_from_args(args)
    with store:
        q = query_from_args(args, newest_first=not args.oldest_first)
        rows = store.iter_summaries(q)
        out = sys.stdout
        if args.json:
            for r in rows:
                d = {
                    "id": r.id, "request_id": r.request_id, "started_at": r.started_at,
                    "method": r.method, "host": r.host, "path": r.path, "query": r.query,
                    "route": r.route, "status": r.status, "error": r.error,
                    "duration_ms": r.duration_ms, "truncated": r.truncated,
                }
                out.write(orjson.dumps(d).decode() + "\n")
            return 0
        table = Table(box=None, pad_edge=False, header_style="bold")
        columns = ("ID", "CAPTURED (UTC)", "METHOD", "STATUS", "MS", "ROUTE", "PATH", "REQUEST ID")
        for col in columns:
            table.add_column(col, no_wrap=col != "PATH", overflow="fold")
        n = 0
        for r in rows:
            n += 1
            path = r.path + ("?" + r.query if r.query else "")
            status = _status(r.status, r.error)
            style = "red" if (r.status or 0) >= 500 or r.error else ""
            table.add_row(
                r.id, format_time(r.started_at), r.method, status,
                f"{r.duration_ms:.0f}" if r.duration_ms is not None else "-",
                r.route, path + (" [truncated]" if r.truncated else ""), r.request_id or "-",
                style=style,
            )
        c = console()
        if n == 0:
            c.print("no exchanges match (the store is empty or the filters exclude everything)")
            return 0
        c.print(table)
        return 0


COMMAND = Command(
    "ls", "list captured exchanges (newest first)", register, run,
    description="List captured exchanges, newest first. Filters combine with AND.",
)
