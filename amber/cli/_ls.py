"""`amber ls`: list captured exchanges, newest first.

The store is opened read-only. Text that is not UTF-8 (a raw byte in a path, kept by
`surrogateescape`) is shown escaped (`\\xe9`) in the table; `--json` gives the exact value.
"""

from __future__ import annotations

import argparse
import sys

from rich.table import Table

from amber._model import dumps_json
from amber._model import printable
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
        "--json",
        action="store_true",
        help='one JSON object per line, "type": "exchange" (no bodies or headers; docs/cli.md)',
    )
    add_store_args(p)


def _status(s: int | None, error: str | None) -> str:
    if s is None:
        return "ERR" if error else "-"
    return str(s)


def _target(path: str, query: str, truncated: bool) -> str:
    return path + ("?" + query if query else "") + (" [truncated]" if truncated else "")


def run(args: argparse.Namespace) -> int:
    _config, store = open_from_args(args, read_only=True)
    with store:
        q = query_from_args(args, newest_first=not args.oldest_first)
        rows = store.iter_summaries(q)
        out = sys.stdout
        if args.json:
            for r in rows:
                d = {
                    "type": "exchange",
                    "id": r.id,
                    "request_id": r.request_id,
                    "started_at": float(r.started_at),
                    "method": r.method,
                    "host": r.host,
                    "path": r.path,
                    "query": r.query,
                    "route": r.route,
                    "status": r.status,
                    "error": r.error,
                    "duration_ms": float(r.duration_ms) if r.duration_ms is not None else None,
                    "truncated": bool(r.truncated),
                }
                out.write(dumps_json(d, newline=True).decode())
            return 0
        columns = ("ID", "CAPTURED (UTC)", "METHOD", "STATUS", "MS", "ROUTE", "PATH", "REQUEST ID")
        lines = (
            tuple(
                map(
                    printable,
                    (
                        r.id,
                        format_time(r.started_at),
                        r.method,
                        _status(r.status, r.error),
                        f"{r.duration_ms:.0f}" if r.duration_ms is not None else "-",
                        r.route,
                        _target(r.path, r.query, r.truncated),
                        r.request_id or "-",
                    ),
                )
            )
            for r in rows
        )
        if not out.isatty():
            # pipes and files get every character, tab-separated, streamed
            out.write("\t".join(columns) + "\n")
            for line in lines:
                out.write("\t".join(line) + "\n")
            return 0
        table = Table(box=None, pad_edge=False, header_style="bold")
        for col in columns:
            table.add_column(
                col, no_wrap=col not in ("PATH", "ROUTE"), min_width=len(col), overflow="fold"
            )
        n = 0
        for line in lines:
            n += 1
            err = line[3] == "ERR" or line[3].startswith("5")
            table.add_row(*line, style="red" if err else "")
        c = console()
        if n == 0:
            c.print("no exchanges match (the store is empty or the filters exclude everything)")
            return 0
        c.print(table)
        return 0


COMMAND = Command(
    "ls",
    "list captured exchanges (newest first)",
    register,
    run,
    description="List captured exchanges, newest first. Filters combine with AND.",
)
