"""`amber stats`: exchanges and error rates by route and status over time buckets.

The first view of an incident: when did errors start, and which routes are affected. The
store is opened read-only. Counts group by the stored route and method, so one holding raw
non-UTF-8 bytes shows them escaped (`\\xe9`), as `amber ls` does.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from rich.table import Table

from amber._model import dumps_json
from amber._store import StatsRow
from amber.cli._common import Command
from amber.cli._common import add_filter_args
from amber.cli._common import add_store_args
from amber.cli._common import console
from amber.cli._common import format_time
from amber.cli._common import open_from_args
from amber.cli._common import parse_duration
from amber.cli._common import query_from_args

_NICE = (1, 5, 10, 30, 60, 300, 600, 900, 1800, 3600, 10800, 21600, 43200, 86400, 604800)


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--bucket",
        metavar="DURATION",
        help="time bucket width, e.g. 1m, 5m, 1h (default: about 30 buckets over the range)",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help='buckets and routes as one JSON object, "type": "stats" (docs/cli.md)',
    )
    p.add_argument("--top", type=int, default=20, metavar="N", help="routes to show (default 20)")
    add_filter_args(p)
    add_store_args(p)


def choose_bucket(span: float, target: int = 30) -> int:
    for b in _NICE:
        if span / b <= target:
            return b
    return _NICE[-1]


@dataclass
class Counts:
    total: int = 0
    by_class: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    first_error: float | None = None
    last_error: float | None = None

    def add(self, row: StatsRow) -> None:
        self.total += row.count
        self.by_class[row.status_class] += row.count
        if row.status_class in (0, 5):
            if self.first_error is None or row.bucket_start < self.first_error:
                self.first_error = row.bucket_start
            if self.last_error is None or row.bucket_start > self.last_error:
                self.last_error = row.bucket_start

    @property
    def errors(self) -> int:
        return self.by_class.get(5, 0) + self.by_class.get(0, 0)

    @property
    def error_rate(self) -> float:
        return self.errors / self.total if self.total else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "2xx": self.by_class.get(2, 0),
            "3xx": self.by_class.get(3, 0),
            "4xx": self.by_class.get(4, 0),
            "5xx": self.by_class.get(5, 0),
            "upstream_errors": self.by_class.get(0, 0),
            "error_rate": round(self.error_rate, 4),
            "first_error_bucket": self.first_error,
            "last_error_bucket": self.last_error,
        }


def summarize(rows: list[StatsRow]) -> tuple[dict[float, Counts], dict[str, Counts]]:
    buckets: dict[float, Counts] = defaultdict(Counts)
    routes: dict[str, Counts] = defaultdict(Counts)
    for r in rows:
        buckets[r.bucket_start].add(r)
        routes[f"{r.method} {r.route}"].add(r)
    return dict(sorted(buckets.items())), routes


def incident_start(buckets: dict[float, Counts]) -> float | None:
    """The first bucket whose error rate is well above the rate of the buckets before it."""
    seen_total = seen_err = 0
    for start, c in buckets.items():
        base = seen_err / seen_total if seen_total else 0.0
        if c.errors and c.error_rate > max(2 * base, base + 0.01):
            return start
        seen_total += c.total
        seen_err += c.errors
    return None


def run(args: argparse.Namespace) -> int:
    _config, store = open_from_args(args, read_only=True)
    with store:
        q = query_from_args(args)
        span = store.time_range(q)
        if span is None:
            console().print("no exchanges match (the store is empty or the filters exclude all)")
            return 0
        bucket = (
            int(parse_duration(args.bucket)) if args.bucket else choose_bucket(span[1] - span[0])
        )
        bucket = max(1, bucket)
        rows = store.stats(q, bucket)
    buckets, routes = summarize(rows)
    start = incident_start(buckets)
    ranked = sorted(routes.items(), key=lambda kv: (-kv[1].errors, -kv[1].total, kv[0]))
    if args.json:
        doc = {
            "type": "stats",
            "bucket_seconds": bucket,
            "incident_start": start,
            "buckets": [{"start": s, **c.as_dict()} for s, c in buckets.items()],
            "routes": [{"route": k, **c.as_dict()} for k, c in ranked],
        }
        sys.stdout.write(dumps_json(doc, indent=True, newline=True).decode())
        return 0
    c = console()
    total = sum(b.total for b in buckets.values())
    errors = sum(b.errors for b in buckets.values())
    c.print(
        f"{total} exchanges from {format_time(span[0])} to {format_time(span[1])}, "
        f"{errors} server or upstream errors ({(errors / total if total else 0):.1%}); "
        f"bucket {bucket}s"
    )
    if start is not None:
        affected = [k for k, v in ranked if v.errors and (v.last_error or 0) >= start]
        c.print(
            f"[bold red]errors rise from {format_time(start)}[/]; affected: "
            + ", ".join(affected[:5])
        )
    t = Table(title="over time", box=None, header_style="bold", title_justify="left")
    for col in ("BUCKET (UTC)", "TOTAL", "2xx", "3xx", "4xx", "5xx", "ERR", "ERROR RATE", ""):
        t.add_column(col, justify="left" if col.startswith("B") or not col else "right")
    peak = max((b.total for b in buckets.values()), default=1)
    for s, b in buckets.items():
        bar = "#" * max(1, round(20 * b.total / peak)) if b.total else ""
        ebar = "!" * round(20 * b.errors / peak) if b.errors else ""
        t.add_row(
            format_time(s),
            str(b.total),
            str(b.by_class.get(2, 0)),
            str(b.by_class.get(3, 0)),
            str(b.by_class.get(4, 0)),
            str(b.by_class.get(5, 0)),
            str(b.by_class.get(0, 0)),
            f"{b.error_rate:.1%}",
            (ebar + bar[len(ebar) :]),
            style="red" if b.errors else "",
        )
    c.print(t)
    rt = Table(title="by route", box=None, header_style="bold", title_justify="left")
    for col in ("ROUTE", "TOTAL", "2xx", "4xx", "5xx", "ERR", "ERROR RATE", "FIRST ERROR"):
        rt.add_column(col, justify="left" if col in ("ROUTE", "FIRST ERROR") else "right")
    for k, v in ranked[: args.top]:
        rt.add_row(
            k,
            str(v.total),
            str(v.by_class.get(2, 0)),
            str(v.by_class.get(4, 0)),
            str(v.by_class.get(5, 0)),
            str(v.by_class.get(0, 0)),
            f"{v.error_rate:.1%}",
            format_time(v.first_error) if v.first_error is not None else "-",
            style="red" if v.errors else "",
        )
    c.print(rt)
    return 0


COMMAND = Command(
    "stats",
    "error rates by route and status over time (the first view of an incident)",
    register,
    run,
    description="Exchanges and error rates by route and status over time buckets.",
)
