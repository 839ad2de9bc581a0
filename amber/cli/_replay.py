"""`amber replay` and `amber runs`."""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING
from typing import Any

import orjson
from rich.progress import BarColumn
from rich.progress import MofNCompleteColumn
from rich.progress import Progress
from rich.progress import TextColumn
from rich.progress import TimeRemainingColumn
from rich.table import Table

from amber import _aio
from amber._config import Config
from amber._model import Exchange
from amber._runs import RunLog
from amber._runs import RunResult
from amber.cli._common import Command
from amber.cli._common import UsageError
from amber.cli._common import add_filter_args
from amber.cli._common import add_store_args
from amber.cli._common import console
from amber.cli._common import format_time
from amber.cli._common import open_from_args
from amber.cli._common import query_from_args
from amber.cli._safety import add_safety_args
from amber.cli._safety import audit
from amber.cli._safety import guard

if TYPE_CHECKING:
    from amber._store import Store
    from amber.replay import Comparison
    from amber.replay import NoiseFile
    from amber.replay import Outcome


def add_pacing_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("pacing")
    g.add_argument("--concurrency", "-c", type=int, default=8, metavar="N",
                   help="requests in flight at most (default 8)")
    g.add_argument("--rate", type=float, metavar="R", help="at most R requests per second")
    g.add_argument("--speed", type=float, default=0.0, metavar="X",
                   help="follow the recorded inter-arrival times scaled by X (1 = real time, "
                   "2 = twice as fast); 0, the default, sends as fast as pacing allows")
    g.add_argument("--session-key", metavar="header:NAME|cookie:NAME",
                   help="what makes a session: its requests keep their recorded order and "
                   "share learned tokens and ids (default: the client address)")
    g.add_argument("--timeout", type=float, metavar="SECONDS",
                   help="per-request timeout (default: replay.timeout in amber.yaml, else 30)")
    g.add_argument("--insecure", action="store_true",
                   help="accept self-signed or otherwise invalid TLS certificates (staging)")
    g.add_argument("--keep-host", action="store_true",
                   help="send the captured Host header instead of the target's")
    g.add_argument("--skip-truncated", action="store_true",
                   help="skip exchanges whose bodies were truncated at capture (default: send "
                   "them with a warning; their request body is incomplete)")
    g.add_argument("--no-carry", action="store_true",
                   help="do not carry tokens and minted ids from earlier responses of a session")


def register_replay(p: argparse.ArgumentParser) -> None:
    p.add_argument("ids", nargs="*", metavar="ID",
                   help="amber ids or request ids (default: everything the filters match)")
    p.add_argument("--target", "-t", required=True, metavar="URL|NAME",
                   help="where to send: a base URL (an optional path prefix is kept, e.g. "
                   "http://localhost:8000/v2) or a target named in amber.yaml")
    p.add_argument("--noise", metavar="FILE", action="append", default=[],
                   help="noise rules learned by `amber shadow --save-noise` (repeatable)")
    p.add_argument("--json", action="store_true",
                   help="one JSON object per exchange on stdout, then a summary object")
    p.add_argument("--exit-zero", action="store_true",
                   help="exit 0 even when responses differ from the recording")
    p.add_argument("--oldest-first", action="store_true", default=True, help=argparse.SUPPRESS)
    add_safety_args(p)
    add_pacing_args(p)
    add_filter_args(p)
    add_store_args(p)


def resolve_target(config: Config, spec: str, args: argparse.Namespace) -> Any:
    from amber.replay import Target

    section = config.section("replay")
    timeout = args.timeout or float(section.get("timeout", 30))
    targets = config.section("targets")
    if "://" not in spec:
        if spec not in targets:
            known = ", ".join(sorted(targets)) or "none configured"
            raise UsageError(f"unknown target {spec!r}: give a URL or one of ({known})")
        t = targets[spec]
        if not isinstance(t, dict) or "url" not in t:
            raise config.error("expected a mapping with url and label", f"targets.{spec}")
        rate = t.get("rate")
        if rate is not None and (isinstance(rate, bool) or not isinstance(rate, (int, float))
                                 or rate <= 0):
            raise config.error("expected requests per second (a number > 0)",
                               f"targets.{spec}.rate")
        return Target(url=str(t["url"]), name=spec, label=t.get("label"), timeout=timeout,
                      verify=not args.insecure, keep_host=args.keep_host,
                      rate=float(rate) if rate is not None else None)
    host = spec.split("://", 1)[1].split("/", 1)[0].rsplit("@", 1)[-1].split(":")[0]
    if host not in ("127.0.0.1", "localhost", "::1", "[::1]"):
        print(f"amber: warning: {spec} is an unlabelled target; name it in amber.yaml "
              "(targets:) to get its safety rules", file=sys.stderr)
    return Target(url=spec, timeout=timeout, verify=not args.insecure,
                  keep_host=args.keep_host)


def load_noise(config: Config, files: list[str]) -> NoiseFile:
    from amber.replay import NoiseFile

    section = config.section("replay")
    noise = config.with_key("replay.noise",
                            lambda: NoiseFile.from_mapping(section.get("noise") or {}))
    for path in files:
        noise = noise.merged(NoiseFile.load(path))
    return noise


def _selected(store: Store, args: argparse.Namespace) -> Iterator[Exchange]:
    """The exchanges named by id, else the store's stream for the filters (returned as is:
    the replayer reads a stream's rows in a thread and decodes them on its loop)."""
    if args.ids:
        return (store.get(key) for key in args.ids)
    return store.iter_exchanges(query_from_args(args))


def _safe_text(config: Config) -> Any:
    """A sanitizer for display values taken from target responses (stored in runs)."""
    from amber._pseudonym import Pseudonymizer
    from amber.sanitize import SanitizeConfig
    from amber.sanitize import Sanitizer

    key = os.environ.get("AMBER_KEY", "").encode() or secrets.token_bytes(32)
    if len(key) < 16:
        key = secrets.token_bytes(32)
    scfg = config.with_key("sanitize",
                           lambda: SanitizeConfig.from_mapping(config.section("sanitize")))
    sanitizer = Sanitizer(scfg, Pseudonymizer(key))

    def clean(value: str | None) -> str | None:
        if value is None:
            return None
        return sanitizer.sanitize_text(value, "report")[0]

    return clean


TABLE_ROWS = 200
"""The first results shown in `amber replay`'s table (all of them are in the run)."""
TABLE_DIFFS = 1000
"""Differing results shown after those (the table is kept in memory until the end)."""


def comparison_detail(cmp: Comparison, clean: Any, limit: int = 50) -> dict[str, Any]:
    """What a run stores about one comparison (values already sanitized by `clean`)."""
    return {
        "checks": cmp.checks,
        "differences": [
            {"path": d.path, "kind": d.kind, "expected": clean(d.expected),
             "actual": clean(d.actual)}
            for d in cmp.differences[:limit]
        ],
        "more": max(0, len(cmp.differences) - limit),
        "ignored": len(cmp.ignored),
    }


def run_replay(args: argparse.Namespace) -> int:
    from amber.replay import Auth
    from amber.replay import Replayer
    from amber.replay import compare_responses

    config, store = open_from_args(args)
    target = resolve_target(config, args.target, args)
    guard(config, [target], args, store, None if args.ids else query_from_args(args))
    noise = load_noise(config, args.noise)
    section = config.section("replay")
    auth = config.with_key("replay.auth", lambda: Auth.from_mapping(section.get("auth") or {}))
    drop = section.get("drop_headers") or []
    clean = _safe_text(config)
    log = RunLog(store)
    params = {"ids": args.ids, "filters": {k: getattr(args, k, None) for k in (
        "status", "method", "path", "route", "since", "until", "limit")},
        "concurrency": args.concurrency, "rate": args.rate, "speed": args.speed}
    run_id = log.start("replay", target.display, params)
    out = sys.stdout
    counts = {"sent": 0, "ok": 0, "mismatch": 0, "error": 0, "skipped": 0}
    results = log.writer(run_id)  # stored from a thread: the loop never waits on the store
    rows: list[tuple[str, ...]] = []
    interactive = not args.json and sys.stderr.isatty()

    def accept(ex: Exchange) -> bool:
        if ex.request.body_truncated:
            if args.skip_truncated:
                counts["skipped"] += 1
                return False
            print(f"amber: warning: {ex.id}: request body was truncated at capture; "
                  "replaying it anyway (--skip-truncated to skip)", file=sys.stderr)
        return True

    total = None if args.ids else store.count(query_from_args(args))
    progress = Progress(TextColumn("replay"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.fields[rate]:.0f}/s"), TimeRemainingColumn(),
                        console=console(sys.stderr), disable=not interactive, transient=True)
    task = progress.add_task("replay", total=total, rate=0.0)
    started = time.monotonic()
    # the bar redraws ten times a second: updating it per outcome only costs time
    shown = {"count": 0, "at": started}

    def on_outcome(o: Outcome) -> None:
        # Runs for every exchange on the replay's event loop: kept lean (no per-result
        # dataclass; the row goes to the run's writer thread as is).
        ex = o.exchange
        req = ex.request
        recorded = ex.response
        rules = noise.rules_for(req.method, ex.route)
        cmp = compare_responses(recorded, o.response, rules, expected_error=ex.error,
                                actual_error=o.error, expected_truncated=bool(
                                    recorded and recorded.body_truncated))
        ok = not cmp.differences
        counts["sent"] += 1
        if o.error:
            counts["error"] += 1
        counts["ok" if ok else "mismatch"] += 1
        detail = comparison_detail(cmp, clean)
        detail["method"] = req.method
        detail["path"] = req.path
        detail["route"] = ex.route
        detail["recorded_status"] = ex.status
        status = o.response.status if o.response is not None else None
        error = clean(o.error) if o.error else None
        results.append(ex.id, o.sent_at, status, o.latency_ms, ok, error, detail)
        if args.json:
            out.write(orjson.dumps({"exchange": ex.id, "run": run_id, "status": status,
                                    "latency_ms": o.latency_ms, "ok": ok, "error": error,
                                    **detail}).decode() + "\n")
        elif len(rows) < TABLE_ROWS or (not ok and len(rows) < TABLE_ROWS + TABLE_DIFFS):
            first = cmp.differences[0] if cmp.differences else None
            rows.append((
                ex.id, req.method, req.path[:60],
                str(ex.status or "ERR"), str(status or "ERR"),
                f"{o.latency_ms:.0f}" if o.latency_ms is not None else "-",
                "ok" if ok else "DIFF",
                (f"{first.path}: {clean(first.expected)!s:.40} != {clean(first.actual)!s:.40}"
                 if first else ""),
            ))
        now = time.monotonic()
        if interactive and now - shown["at"] >= 0.1:
            sent = counts["sent"]
            progress.update(task, advance=sent - shown["count"],
                            rate=sent / (now - started) if now > started else 0.0)
            shown.update(count=sent, at=now)

    state = "completed"
    replayer = Replayer(
        target, concurrency=args.concurrency, rate=args.rate, speed=args.speed,
        session_key=args.session_key or section.get("session_key"), auth=auth,
        drop_headers=drop, carry_state=not args.no_carry,
    )
    try:
        with progress:
            _aio.run(replayer.run(_selected(store, args), on_outcome, accept=accept))
    except KeyboardInterrupt:
        state = "interrupted"
    finally:
        try:
            results.close()
        finally:
            summary = dict(counts, elapsed_s=round(time.monotonic() - started, 3))
            log.finish(run_id, state, summary)
            store.close()
            audit(config, "replay", args.argv, reason=args.reason, target=target.display,
                  run=run_id, state=state, **counts)
    if args.json:
        out.write(orjson.dumps({"run": run_id, "state": state, **summary}).decode() + "\n")
    else:
        c = console()
        if rows:
            t = Table(box=None, header_style="bold")
            for col in ("ID", "METHOD", "PATH", "RECORDED", "NOW", "MS", "", "FIRST DIFFERENCE"):
                t.add_column(col, overflow="fold")
            for r in rows:
                t.add_row(*r, style="" if r[6] == "ok" else "red")
            c.print(t)
        shown_diffs = sum(1 for r in rows if r[6] != "ok")
        if counts["mismatch"] > shown_diffs:
            c.print(f"({counts['mismatch'] - shown_diffs} more differ than the table shows: "
                    f"amber runs {run_id} --failed)")
        c.print(f"run {run_id} ({state}): {counts['sent']} sent to {target.display}, "
                f"{counts['ok']} as recorded, {counts['mismatch']} differ "
                f"({counts['error']} transport errors), {counts['skipped']} skipped. "
                f"Details: amber runs {run_id}")
    if state == "interrupted":
        return 130
    return 1 if counts["mismatch"] and not args.exit_zero else 0


def _result_dict(r: RunResult) -> dict[str, Any]:
    return {"status": r.status, "latency_ms": r.latency_ms, "ok": r.ok, "error": r.error,
            **(r.detail or {})}


def register_runs(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", nargs="?", metavar="RUN_ID", help="show this run's results")
    p.add_argument("--limit", type=int, default=20, metavar="N", help="runs to list")
    p.add_argument("--failed", action="store_true", help="with RUN_ID: only differing results")
    p.add_argument("--json", action="store_true", help="JSON lines")
    add_store_args(p)


def run_runs(args: argparse.Namespace) -> int:
    _config, store = open_from_args(args)
    with store:
        log = RunLog(store)
        out = sys.stdout
        if not args.run:
            infos = log.list(args.limit)
            if args.json:
                for i in infos:
                    out.write(orjson.dumps({
                        "id": i.id, "kind": i.kind, "started_at": i.started_at,
                        "state": i.state, "target": i.target, "summary": i.summary,
                    }).decode() + "\n")
                return 0
            t = Table(box=None, header_style="bold")
            for col in ("RUN", "KIND", "STARTED (UTC)", "STATE", "TARGET", "SUMMARY"):
                t.add_column(col, overflow="fold")
            for i in infos:
                s = i.summary or {}
                t.add_row(i.id, i.kind, format_time(i.started_at), i.state, i.target,
                          ", ".join(f"{k} {v}" for k, v in s.items() if not isinstance(v, dict)))
            console().print(t if infos else "no runs yet")
            return 0
        info = log.get(args.run)
        if not args.json:
            console().print(f"run {info.id}: {info.kind} against {info.target}, {info.state}, "
                            f"started {format_time(info.started_at)}; {info.summary}")
        for r in log.results(info.id):
            if args.failed and r.ok:
                continue
            if args.json:
                out.write(orjson.dumps({"exchange": r.exchange_id, **_result_dict(r)}).decode()
                          + "\n")
                continue
            d = r.detail or {}
            verdict = "ok" if r.ok else "DIFF"
            out.write(f"{r.exchange_id} {d.get('method', '')} {d.get('path', '')} "
                      f"{d.get('recorded_status')} -> {r.status} {verdict}"
                      + (f" ({r.error})" if r.error else "") + "\n")
            for diff in d.get("differences", [])[:10] if not r.ok else []:
                out.write(f"    {diff['path']}: {diff['expected']!r} != {diff['actual']!r}\n")
    return 0


REPLAY = Command(
    "replay", "send stored requests to a build and compare with the recording",
    register_replay, run_replay,
    description="Replay stored requests against a target (a URL or a named target) and "
    "compare each response with the recording, beyond known noise. Every run is kept in the "
    "store (amber runs). Exit status 1 when any response differs (--exit-zero to disable).",
)
RUNS = Command("runs", "list replay and shadow runs, or show one", register_runs, run_runs,
               description="List recent replay and shadow runs, or show one run's results.")
