"""What every subcommand shares: store and config options, filters, time parsing, output."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from rich.console import Console

from amber._config import Config
from amber._config import find_config
from amber._config import resolve_store_url
from amber._store import ExchangeQuery
from amber._store import Store
from amber.errors import UsageError

__all__ = [
    "Command",
    "UsageError",  # lives in amber.errors; importable from here for the commands' imports
    "add_filter_args",
    "add_store_args",
    "console",
    "format_time",
    "open_from_args",
    "parse_duration",
    "parse_time",
    "query_from_args",
    "readable_file",
    "writable_dir",
    "writable_file",
]


@dataclass(frozen=True)
class Command:
    """A subcommand: `register` adds its parser; `run` returns the exit status."""

    name: str
    help: str
    register: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    description: str = ""
    epilog: str = ""
    """Printed after the flags in `--help` (e.g. the command's exit statuses)."""


def console(file: TextIO | None = None) -> Console:
    out = file or sys.stdout
    # rich assumes 80 columns when not on a terminal: tables in logs and CI get a wider page
    width = None if out.isatty() else 160
    return Console(file=out, highlight=False, soft_wrap=True, width=width)


def add_store_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("store and config")
    g.add_argument(
        "--store",
        metavar="URL",
        help="exchange store: sqlite:///PATH or postgresql://USER@HOST/DB "
        "(default: $AMBER_STORE, else `store` in amber.yaml, else sqlite:///.amber/store.db)",
    )
    g.add_argument(
        "--config",
        metavar="FILE",
        help="amber.yaml to use (default: $AMBER_CONFIG, else ./amber.yaml when present)",
    )


def open_from_args(
    args: argparse.Namespace, *, create: bool = False, read_only: bool = False
) -> tuple[Config, Store]:
    """The config and the store a command's `--config` and `--store` name.

    Commands that only read pass `read_only`: the store is then opened so that nothing,
    not even SQLite's WAL housekeeping, writes to it (see `Store.open`). Every open judges
    an existing file by its bytes first, so a file that is not an amber store is refused
    before anything touches it.
    """
    config = find_config(getattr(args, "config", None))
    url = resolve_store_url(getattr(args, "store", None), config)
    return config, Store.open(url, create=create, read_only=read_only)


def readable_file(path: str) -> None:
    """Check, before anything else happens, that the command can read the file `path`.

    *Raises:* `UsageError` naming the file and what to do when it is missing, a directory
    or unreadable; a command given a wrong path stops before it opens (or creates) a store.
    """
    p = Path(path)
    if not p.exists():
        raise UsageError(f"{path}: no such file; check the path")
    if p.is_dir():
        raise UsageError(f"{path}: is a directory; give the file in it")
    if not os.access(p, os.R_OK):
        raise UsageError(f"{path}: permission denied; make it readable or copy it elsewhere")


def writable_file(path: str, flag: str, *, make_parents: bool = False) -> None:
    """Check, before the command does its work, that it will be able to write the file
    `path` (given with `flag`): not a directory, in a directory it may write (created with
    its parents when `make_parents`). A run or an export does not end in an unwritable path.

    *Raises:* `UsageError` naming the flag, the path and what to do.
    """
    p = Path(path)
    if p.is_dir():
        raise UsageError(f"{flag} {path}: is a directory; give a file name")
    if not make_parents and not p.parent.is_dir():
        raise UsageError(f"{flag} {path}: no directory {p.parent}; create it or write elsewhere")
    _creatable(p.parent, flag, path)


def writable_dir(path: str, flag: str) -> None:
    """Check that the directory `path` (given with `flag`) exists or can be created, and
    can be written. *Raises:* `UsageError` naming the flag, the path and what to do."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise UsageError(f"{flag} {path}: is a file, not a directory; give a directory")
    _creatable(p, flag, path)


def _creatable(directory: Path, flag: str, shown: str) -> None:
    """`directory`, or the nearest of its parents that exists, is a directory amber may
    write in (so it can create what is missing below it)."""
    existing = directory
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"{flag} {shown}: {existing} is a file, not a directory; write elsewhere")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(
            f"{flag} {shown}: cannot write in {existing} (permission denied); write elsewhere"
        )


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d|w)?\s*$", re.I)
_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> float:
    """`90`, `90s`, `15m`, `2h`, `1d`, `1w` -> seconds."""
    m = _DURATION.match(text)
    if not m:
        raise UsageError(f"invalid duration {text!r}: use e.g. 30s, 15m, 2h, 1d")
    return float(m.group(1)) * _UNITS[(m.group(2) or "s").lower()]


def parse_time(text: str, now: float | None = None) -> float:
    """An absolute or relative time -> epoch seconds.

    Accepts ISO 8601 (`2026-11-23T10:00`, `2026-11-23 10:00:00+01:00`; without an offset the
    time is UTC), epoch seconds (`1763892000`), or a duration meaning "that long ago"
    (`15m`, `2h`, `1d`).
    """
    t = text.strip()
    now = time.time() if now is None else now
    if re.fullmatch(r"\d{9,}(\.\d+)?", t):
        return float(t)
    if _DURATION.match(t):
        return now - parse_duration(t)
    try:
        parsed = dt.datetime.fromisoformat(t.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"invalid time {text!r}: use ISO 8601 (2026-11-23T10:00, UTC unless an offset "
            "is given), epoch seconds, or an age such as 15m, 2h, 1d"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.timestamp()


def format_time(ts: float | None) -> str:
    if ts is None:
        return "-"
    d = dt.datetime.fromtimestamp(ts, tz=dt.UTC)
    return d.strftime("%Y-%m-%d %H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


def add_filter_args(p: argparse.ArgumentParser, *, limit_default: int | None = None) -> None:
    g = p.add_argument_group("filters (combined with AND; repeat a flag or use commas for OR)")
    g.add_argument(
        "--status",
        action="append",
        metavar="CODE",
        help="response status: 500, 5xx, 4xx, or `error` for upstream errors (no response)",
    )
    g.add_argument("--method", action="append", metavar="METHOD", help="HTTP method, e.g. POST")
    g.add_argument("--path", metavar="GLOB", help="path glob, e.g. '/api/*/orders' (no query)")
    g.add_argument(
        "--route", action="append", metavar="TEMPLATE", help="route template, e.g. /users/{id}"
    )
    g.add_argument("--host", action="append", metavar="HOST", help="upstream host name")
    g.add_argument("--request-id", metavar="ID", help="request/trace id lifted at capture")
    g.add_argument(
        "--since",
        metavar="TIME",
        help="captured at or after TIME: ISO 8601 (UTC unless an offset is given), "
        "epoch seconds, or an age such as 15m, 2h, 1d",
    )
    g.add_argument("--until", metavar="TIME", help="captured before TIME (same forms)")
    g.add_argument(
        "--limit",
        type=int,
        default=limit_default,
        metavar="N",
        help="at most N exchanges"
        + (f" (default {limit_default}; 0 for all)" if limit_default else " (default: all)"),
    )


def _split(values: list[str] | None) -> list[str]:
    out: list[str] = []
    for v in values or ():
        out.extend(x.strip() for x in v.split(",") if x.strip())
    return out


def query_from_args(args: argparse.Namespace, *, newest_first: bool = False) -> ExchangeQuery:
    q = ExchangeQuery(newest_first=newest_first)
    statuses: list[int] = []
    classes: list[int] = []
    for s in _split(getattr(args, "status", None)):
        low = s.lower()
        if low in ("error", "err", "errors"):
            q.errors_only = True
        elif re.fullmatch(r"[1-5]xx", low):
            classes.append(int(low[0]))
        elif re.fullmatch(r"\d{3}", low):
            statuses.append(int(low))
        else:
            raise UsageError(f"invalid --status {s!r}: use a code (500), a class (5xx) or error")
    q.statuses, q.status_classes = statuses, classes
    q.methods = [m.upper() for m in _split(getattr(args, "method", None))]
    q.routes = _split(getattr(args, "route", None))
    q.hosts = _split(getattr(args, "host", None))
    q.path_glob = getattr(args, "path", None)
    q.request_id = getattr(args, "request_id", None)
    if getattr(args, "since", None):
        q.since = parse_time(args.since)
    if getattr(args, "until", None):
        q.until = parse_time(args.until)
    limit = getattr(args, "limit", None)
    if limit is not None and limit < 0:
        raise UsageError("--limit must be 0 (all) or more")
    q.limit = limit or None
    return q
