"""`amber replay` and `amber runs`: flags in, `amber.replay.replay_exchanges` called, the
results printed (JSON lines, or a summary per route and differing field, with `--rows` a
line per result) and an exit status out.

One module because `amber replay` prints its results exactly as `amber runs ID` does: the
same result lines (`result_lines`) and the same JSON objects (`result_json`, `run_json`).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from typing import TYPE_CHECKING
from typing import Any

from rich.progress import BarColumn
from rich.progress import MofNCompleteColumn
from rich.progress import Progress
from rich.progress import TaskID
from rich.progress import TextColumn
from rich.progress import TimeRemainingColumn
from rich.table import Table

from amber._config import Config
from amber._model import dumps_json
from amber._model import printable
from amber._runs import RunInfo
from amber._runs import RunLog
from amber._runs import RunResult
from amber.cli._common import Command
from amber.cli._common import add_filter_args
from amber.cli._common import add_store_args
from amber.cli._common import console
from amber.cli._common import format_time
from amber.cli._common import open_from_args
from amber.cli._common import query_from_args
from amber.cli._safety import add_safety_args
from amber.cli._safety import safety_from_args
from amber.errors import TargetUnreachable
from amber.errors import UsageError

if TYPE_CHECKING:
    from amber.replay import NoiseFile
    from amber.replay import ReplaySummary
    from amber.replay import Selection
    from amber.replay import SendOptions
    from amber.replay import Target


UNREACHABLE_AFTER = 20
"""`--unreachable-after`'s default: `amber.replay.SendOptions.unreachable_after` (not
imported here: the replay package loads only when a command runs)."""


def add_pacing_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("pacing")
    g.add_argument(
        "--concurrency",
        "-c",
        type=int,
        default=8,
        metavar="N",
        help="requests in flight at most (default 8)",
    )
    g.add_argument("--rate", type=float, metavar="R", help="at most R requests per second")
    g.add_argument(
        "--speed",
        type=float,
        default=0.0,
        metavar="X",
        help="follow the recorded inter-arrival times scaled by X (1 = real time, "
        "2 = twice as fast); 0, the default, sends as fast as pacing allows",
    )
    g.add_argument(
        "--session-key",
        metavar="header:NAME|cookie:NAME",
        help="what makes a session: its requests keep their recorded order and "
        "share learned tokens and ids (default: the client address)",
    )
    g.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="per-request timeout (default: replay.timeout in amber.yaml, else 30)",
    )
    g.add_argument(
        "--insecure",
        action="store_true",
        help="accept self-signed or otherwise invalid TLS certificates (staging)",
    )
    g.add_argument(
        "--keep-host",
        action="store_true",
        help="send the captured Host header instead of the target's",
    )
    g.add_argument(
        "--skip-truncated",
        action="store_true",
        help="skip exchanges whose bodies were truncated at capture (default: send "
        "them with a warning; their request body is incomplete)",
    )
    g.add_argument(
        "--no-carry",
        action="store_true",
        help="do not carry tokens and minted ids from earlier responses of a session",
    )
    g.add_argument(
        "--unreachable-after",
        type=int,
        metavar="N",
        help="stop (exit status 3) once N requests in a row to a target could not connect: "
        f"refused, no such host, connect timeout (default {UNREACHABLE_AFTER}; 0 never stops)",
    )


def register_replay(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "ids",
        nargs="*",
        metavar="ID",
        help="amber ids or request ids (default: everything the filters match)",
    )
    p.add_argument(
        "--target",
        "-t",
        required=True,
        metavar="URL|NAME",
        help="where to send: a base URL (an optional path prefix is kept, e.g. "
        "http://localhost:8000/v2) or a target named in amber.yaml",
    )
    p.add_argument(
        "--noise",
        metavar="FILE",
        action="append",
        default=[],
        help="noise rules learned by `amber shadow --save-noise` (repeatable)",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help='JSON lines on stdout: one "type": "result" object per exchange, then a '
        '"type": "summary" object with the counts per route and field (docs/cli.md)',
    )
    p.add_argument(
        "--rows",
        action="store_true",
        help="also print a line per result as it comes (what `amber runs ID` prints); by "
        "default only the summary per route and differing field is printed at the end",
    )
    p.add_argument(
        "--exit-zero",
        action="store_true",
        help="exit 0 even when responses differ from the recording",
    )
    add_safety_args(p)
    add_pacing_args(p)
    add_filter_args(p)
    add_store_args(p)


def resolve_target(config: Config, spec: str, args: argparse.Namespace) -> Target:
    """`--target`-like `spec` with the pacing flags' timeout, TLS and Host choices."""
    from amber.replay import resolve_target as resolve

    return resolve(
        config,
        spec,
        timeout=args.timeout,
        verify=not args.insecure,
        keep_host=args.keep_host,
        warn=notice,
    )


def notice(message: str) -> None:
    """Tell the person running the command, on stderr."""
    print(f"amber: {message}", file=sys.stderr)


def load_noise(config: Config, files: list[str]) -> NoiseFile:
    """amber.yaml's `replay.noise`, then each `--noise` file merged over it."""
    from amber.replay import NoiseFile

    section = config.section("replay")
    noise = config.with_key(
        "replay.noise", lambda: NoiseFile.from_mapping(section.get("noise") or {})
    )
    for path in files:
        noise = noise.merged(NoiseFile.load(path))
    return noise


def selection_from_args(args: argparse.Namespace) -> Selection:
    """The exchanges named by id, else those the filter flags match."""
    from amber.replay import Selection

    if args.ids:
        return Selection(ids=tuple(args.ids))
    return Selection(query=query_from_args(args))


def sending_from_args(args: argparse.Namespace, config: Config) -> SendOptions:
    """The pacing flags, with amber.yaml's `replay:` session key, dropped headers and auth."""
    from amber.replay import Auth
    from amber.replay import SendOptions

    section = config.section("replay")
    if args.unreachable_after is None:
        args.unreachable_after = UNREACHABLE_AFTER
    if args.unreachable_after < 0:
        raise UsageError("--unreachable-after must be 0 (never stop) or more")

    def auth() -> Auth:
        return config.with_key("replay.auth", lambda: Auth.from_mapping(section.get("auth") or {}))

    return SendOptions(
        concurrency=args.concurrency,
        rate=args.rate,
        speed=args.speed,
        session_key=args.session_key or section.get("session_key"),
        carry_state=not args.no_carry,
        drop_headers=tuple(section.get("drop_headers") or []),
        auth=auth,
        unreachable_after=args.unreachable_after,
    )


FILTERS = ("status", "method", "path", "route", "since", "until", "limit")
"""The filter flags kept with a run, as given."""
SUMMARY_ROUTES = 30
"""Routes shown in `amber replay`'s summary table (most differing first; all are in the run
and in the JSON summary)."""
TOP_FIELDS = 3
"""Differing fields named per route in the summary table (the JSON summary has them all)."""


class RouteTally:
    """One route's results in a replay: `sent` = `ok` + `mismatch` + `error` (a transport
    error is counted as an error only), and how often each field differed (array indexes as
    `[*]`)."""

    __slots__ = ("error", "fields", "mismatch", "ok", "sent")

    def __init__(self) -> None:
        self.sent = self.ok = self.mismatch = self.error = 0
        self.fields: Counter[str] = Counter()

    def as_dict(self, method: str, route: str) -> dict[str, Any]:
        return {
            "method": method,
            "route": route,
            "sent": self.sent,
            "ok": self.ok,
            "mismatch": self.mismatch,
            "error": self.error,
            "fields": [{"path": k, "count": n} for k, n in self.fields.most_common()],
        }


def result_json(r: RunResult, run_id: str, kind: str) -> dict[str, Any]:
    """One result as a JSON line (`"type": "result"`, the same keys and types for replay
    and shadow results; docs/cli.md)."""
    return {
        "type": "result",
        "run": run_id,
        "kind": kind,
        "exchange": r.exchange_id,
        "sent_at": r.sent_at,
        "method": r.method,
        "path": r.path,
        "route": r.route,
        "recorded_status": r.recorded_status,
        "status": r.status,
        "latency_ms": r.latency_ms,
        "ok": r.ok,
        "error": r.error,
        "checks": r.checks,
        "differences": list(r.differences),
        "more": r.more,
        "ignored": r.ignored,
        "regression_paths": list(r.regression_paths or ()),
        "suppressed_paths": list(r.suppressed_paths),
        "noise_paths": list(r.noise_paths),
    }


class ReplayOutput:
    """What `amber replay` prints while it runs (`amber.replay.RunEvents`): a JSON line per
    result, or (`rows`) a line per result as `amber runs ID` prints it; results are tallied
    per route and field for the summary at the end; a progress bar on a terminal."""

    def __init__(self, json: bool, rows: bool = False) -> None:
        from amber.replay import generalize

        self.json = json
        self.rows = rows and not json
        self.generalize = generalize
        self.routes: dict[tuple[str, str], RouteTally] = {}
        self.run_id = ""
        self.interactive = not json and sys.stderr.isatty()
        self.progress = Progress(
            TextColumn("replay"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:.0f}/s"),
            TimeRemainingColumn(),
            console=console(sys.stderr),
            disable=not self.interactive,
            transient=True,
        )
        self._task: TaskID | None = None
        self._count = self._shown = 0
        self._started = self._at = time.monotonic()

    def started(self, run_id: str, total: int | None) -> None:
        self.run_id = run_id
        self._task = self.progress.add_task("replay", total=total, rate=0.0)
        self._started = self._at = time.monotonic()
        if self.rows:
            sys.stdout.write(RESULT_HEADER)

    def notice(self, message: str) -> None:
        notice(message)

    def result(self, r: RunResult) -> None:
        # called for every exchange on the replay's loop: kept lean
        key = (r.method, r.route or r.path)
        tally = self.routes.get(key)
        if tally is None:
            tally = self.routes[key] = RouteTally()
        tally.sent += 1
        if r.ok:
            tally.ok += 1
        elif r.error:
            tally.error += 1
        else:
            tally.mismatch += 1
            fields, gen = tally.fields, self.generalize
            for d in r.differences:
                fields[gen(d["path"])] += 1
        if self.json:
            sys.stdout.write(
                dumps_json(result_json(r, self.run_id, "replay"), newline=True).decode()
            )
        elif self.rows:
            sys.stdout.write(result_lines(r))
        if self.interactive:
            self._count += 1
            now = time.monotonic()
            # the bar redraws ten times a second: updating it per result only costs time
            if now - self._at >= 0.1 and self._task is not None:
                elapsed = now - self._started
                self.progress.update(
                    self._task,
                    advance=self._count - self._shown,
                    rate=self._count / elapsed if elapsed > 0 else 0.0,
                )
                self._shown, self._at = self._count, now

    def ranked(self) -> list[tuple[tuple[str, str], RouteTally]]:
        """The routes, those with the most differing and failed results first."""
        return sorted(
            self.routes.items(), key=lambda kv: (-(kv[1].mismatch + kv[1].error), -kv[1].sent)
        )

    def summary(self, s: ReplaySummary) -> None:
        """The last JSON line (`"type": "summary"`, with the routes), or the route x field
        table and a sentence."""
        ranked = self.ranked()
        if self.json:
            sys.stdout.write(
                dumps_json(
                    {
                        "type": "summary",
                        "run": s.run_id,
                        "target": s.target,
                        "state": s.state,
                        **s.counts(),
                        "elapsed_s": float(s.elapsed_s),
                        "routes": [t.as_dict(m, route) for (m, route), t in ranked],
                    },
                    newline=True,
                ).decode()
            )
            return
        c = console()
        if ranked:
            t = Table(box=None, header_style="bold")
            for col in ("METHOD", "ROUTE", "SENT", "OK", "DIFFER", "ERRORS"):
                t.add_column(col, overflow="fold", justify="left" if col[0] in "MR" else "right")
            t.add_column("TOP DIFFERING FIELDS", overflow="fold")
            for (method, route), tally in ranked[:SUMMARY_ROUTES]:
                top = ", ".join(f"{k} {n}" for k, n in tally.fields.most_common(TOP_FIELDS))
                if len(tally.fields) > TOP_FIELDS:
                    top += f" (+{len(tally.fields) - TOP_FIELDS} more)"
                t.add_row(
                    printable(method),
                    printable(route),
                    str(tally.sent),
                    str(tally.ok),
                    str(tally.mismatch),
                    str(tally.error),
                    printable(top),
                    style="red" if tally.mismatch or tally.error else "",
                )
            c.print(t)
            if len(ranked) > SUMMARY_ROUTES:
                c.print(f"({len(ranked) - SUMMARY_ROUTES} more routes: amber runs {s.run_id})")
        unreachable = f", {s.unreachable} could not connect" if s.unreachable else ""
        c.print(
            f"run {s.run_id} ({s.state}): {s.sent} sent to {s.target}, "
            f"{s.ok} as recorded, {s.mismatch} differ "
            f"({s.error} transport errors{unreachable}), {s.skipped} skipped. "
            f"Every result: amber runs {s.run_id}" + (" --failed" if s.mismatch else "")
        )


def run_replay(args: argparse.Namespace) -> int:
    from amber.replay import ReplaySettings
    from amber.replay import replay_exchanges
    from amber.replay import result_cleaner

    config, store = open_from_args(args)
    with store:
        settings = ReplaySettings(
            target=resolve_target(config, args.target, args),
            clean=result_cleaner(config),
            selection=selection_from_args(args),
            sending=sending_from_args(args, config),
            safety=safety_from_args(args, config),
            noise=load_noise(config, args.noise),
            skip_truncated=args.skip_truncated,
            params={"filters": {k: getattr(args, k, None) for k in FILTERS}},
        )
        output = ReplayOutput(args.json, rows=args.rows)
        try:
            with output.progress:
                summary = replay_exchanges(store, settings, output)
        except TargetUnreachable as e:
            # one line instead of a row per request; the results so far are in the run
            # (a login that could not connect stops the run before anything is sent)
            how = (
                ""
                if str(e).startswith("login request")
                else f" (--unreachable-after {args.unreachable_after})"
            )
            raise TargetUnreachable(
                f"{settings.clean(str(e))}; stopped{how}, the results so far are in run "
                f"{output.run_id}"
            ) from None
    output.summary(summary)
    if summary.state == "interrupted":
        return 130
    if summary.unreachable:
        return 3
    return 1 if summary.mismatch and not args.exit_zero else 0


def register_runs(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", nargs="?", metavar="RUN_ID", help="show this run's results")
    p.add_argument("--limit", type=int, default=20, metavar="N", help="runs to list")
    p.add_argument("--failed", action="store_true", help="with RUN_ID: only differing results")
    p.add_argument("--json", action="store_true", help="JSON lines")
    add_store_args(p)


def run_runs(args: argparse.Namespace) -> int:
    _config, store = open_from_args(args, read_only=True)  # listing runs changes nothing
    with store:
        log = RunLog(store)
        if args.run:
            _show_run(log, args)
        else:
            _list_runs(log, args)
    return 0


def run_json(i: RunInfo) -> dict[str, Any]:
    """A run as a JSON line (`"type": "run"`; docs/cli.md)."""
    return {
        "type": "run",
        "id": i.id,
        "kind": i.kind,
        "started_at": i.started_at,
        "finished_at": i.finished_at,
        "state": i.state,
        "target": i.target,
        "summary": i.summary or {},
    }


def _list_runs(log: RunLog, args: argparse.Namespace) -> None:
    infos = log.list(args.limit)
    if args.json:
        for i in infos:
            sys.stdout.write(dumps_json(run_json(i), newline=True).decode())
        return
    t = Table(box=None, header_style="bold")
    for col in ("RUN", "KIND", "STARTED (UTC)", "STATE", "TARGET", "SUMMARY"):
        t.add_column(col, overflow="fold")
    for i in infos:
        s = i.summary or {}
        t.add_row(
            i.id,
            i.kind,
            format_time(i.started_at),
            i.state,
            i.target,
            ", ".join(
                f"{k} {v}" if not isinstance(v, list) else f"{k} {len(v)} reasons"
                for k, v in s.items()
                if not isinstance(v, dict) and (v or not isinstance(v, list))
            ),
        )
    console().print(t if infos else "no runs yet")


RUN_COLUMNS = (("EXCHANGE", 26), ("METHOD", 7), ("PATH", 40), ("RECORDED", 8), ("NOW", 5))
"""`amber runs ID`'s fixed-width columns (then MS, the verdict and its detail): the table
streams, a line per result, however many results the run has."""
RESULT_HEADER = (
    "".join(name.ljust(w + 1) for name, w in RUN_COLUMNS) + f"{'MS':>7}  VERDICT  DETAIL\n"
)
"""The header line of `result_lines`."""


def _cell(text: str, width: int) -> str:
    text = printable(text)
    return (text if len(text) <= width else text[: width - 1] + "…").ljust(width)


def _summary_lines(summary: dict[str, Any] | None) -> list[str]:
    """A run's stored summary as `key  value` lines: counts on one line, each mapping on
    its own (`errors  baseline 0, candidate 45`), each list item (the gate) indented."""
    if not summary:
        return []
    flat = [f"{k} {v}" for k, v in summary.items() if not isinstance(v, (dict, list))]
    lines = [", ".join(flat)] if flat else []
    for k, v in summary.items():
        if isinstance(v, dict):
            lines.append(f"{k}: " + ", ".join(f"{kk} {vv}" for kk, vv in v.items()))
        elif isinstance(v, list):
            lines.append(f"{k}:" + ("" if v else " -"))
            lines.extend(f"  - {item}" for item in v)
    return [printable(line) for line in lines]


def _verdict_detail(r: RunResult) -> tuple[str, str]:
    if r.ok:
        return "ok", ""
    if r.error:
        return "ERR", r.error
    if r.regression_paths is not None:  # a shadow result
        return "DIFF", "regressed: " + ", ".join(r.regression_paths)
    n = len(r.differences) + r.more
    return "DIFF", f"{n} difference{'s' if n != 1 else ''}" if n else ""


def result_lines(r: RunResult) -> str:
    """A result as a table line under `RESULT_HEADER`, then (differing) its first 10
    differences, one indented line each."""
    verdict, detail = _verdict_detail(r)
    recorded, now = str(r.recorded_status or "-"), str(r.status or "-")
    cells = (r.exchange_id, r.method, r.path, recorded, now)
    ms = f"{r.latency_ms:.0f}" if r.latency_ms is not None else "-"
    row = "".join(_cell(c, w) + " " for c, (_, w) in zip(cells, RUN_COLUMNS, strict=True))
    out = f"{row}{ms:>7}  {verdict:<7}  {printable(detail)}".rstrip() + "\n"
    for diff in r.differences[:10] if not r.ok else []:
        out += printable(f"    {diff['path']}: {diff['expected']!r} != {diff['actual']!r}") + "\n"
    return out


def _show_run(log: RunLog, args: argparse.Namespace) -> None:
    """One run: its header and summary, then a table with a line per result (streamed), or
    JSON lines (`"type": "run"`, then one `"type": "result"` object per result)."""
    info = log.get(args.run)
    out = sys.stdout
    if args.json:
        out.write(dumps_json(run_json(info), newline=True).decode())
    else:
        out.write(
            printable(
                f"run {info.id}: {info.kind} against {info.target}, {info.state}, "
                f"started {format_time(info.started_at)}"
                + (f", finished {format_time(info.finished_at)}" if info.finished_at else "")
            )
            + "\n"
        )
        for line in _summary_lines(info.summary):
            out.write(f"  {line}\n")
        out.write(RESULT_HEADER)
    shown = 0
    for r in log.results(info.id):
        if args.failed and r.ok:
            continue
        shown += 1
        if args.json:
            out.write(dumps_json(result_json(r, info.id, info.kind), newline=True).decode())
        else:
            out.write(result_lines(r))
    if not args.json and not shown:
        out.write("(no differing results)\n" if args.failed else "(no results)\n")


REPLAY = Command(
    "replay",
    "send stored requests to a build and compare with the recording",
    register_replay,
    run_replay,
    description="Replay stored requests against a target (a URL or a named target) and "
    "compare each response with the recording, beyond known noise. Ends with a summary per "
    "route (sent, as recorded, differing, errors, the fields that differed most); every "
    "result is kept in the store (amber runs ID; --rows prints them as they come). Exit "
    "status 1 when any response differs (--exit-zero to disable).",
    epilog="exit status: 0 every response as recorded; 1 a response differs (0 with "
    "--exit-zero); 2 usage error; 3 the target could not be reached (a request could not "
    "connect; after --unreachable-after N in a row the run stops with one line); "
    "130 interrupted.",
)
RUNS = Command(
    "runs",
    "list replay and shadow runs, or show one",
    register_runs,
    run_runs,
    description="List recent replay and shadow runs, or show one run: its summary, then a "
    "line per result (exchange, method, path, recorded and replayed status, latency, verdict, "
    "the first difference or the error). --json prints JSON lines instead.",
)
