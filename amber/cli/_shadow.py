"""`amber shadow`: baseline, candidate and a second baseline side by side; a release gate."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING
from typing import TextIO

from amber._model import dumps_json
from amber.cli._common import Command
from amber.cli._common import add_filter_args
from amber.cli._common import add_store_args
from amber.cli._common import console
from amber.cli._common import open_from_args
from amber.cli._common import writable_file
from amber.cli._replay import add_pacing_args
from amber.cli._replay import load_noise
from amber.cli._replay import notice
from amber.cli._replay import resolve_target
from amber.cli._replay import selection_from_args
from amber.cli._replay import sending_from_args
from amber.cli._safety import add_safety_args
from amber.cli._safety import safety_from_args
from amber.errors import UsageError

if TYPE_CHECKING:
    from amber._config import Config
    from amber._runs import RunResult
    from amber.replay import FailOn
    from amber.replay import ShadowAccumulator
    from amber.replay import ShadowRunSettings
    from amber.replay import ShadowSummary


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "ids",
        nargs="*",
        metavar="ID",
        help="amber ids or request ids (default: everything the filters match)",
    )
    p.add_argument(
        "--baseline",
        required=True,
        metavar="URL|NAME",
        help="the known-good build (a URL or a target named in amber.yaml)",
    )
    p.add_argument("--candidate", required=True, metavar="URL|NAME", help="the build to judge")
    p.add_argument(
        "--baseline2",
        metavar="URL|NAME",
        help="a second known-good instance; default: the baseline asked twice. "
        "What differs between the two baselines is noise",
    )
    p.add_argument(
        "--allow-writes",
        action="store_true",
        help="also send POST/PUT/PATCH/DELETE (each request is sent three times!)",
    )
    add_safety_args(p, allow_writes=False)
    p.add_argument(
        "--fail-on",
        metavar="SPEC",
        help="when to fail, comma-separated: 'regression' (the default: any reported "
        "field), 'diff-rate>1%%' (share of a route's compared requests that regressed), "
        "'p95>1.3x' (the candidate's p50/p95/p99 latency on a route above 1.3 times the "
        "slower baseline's), 'p99>500ms' or '>2s' (above a fixed limit), 'errors>1%%' (a "
        "side's transport errors on a route; default 1%%), 'unreachable=off' (by default a "
        "side that could not connect fails the run), 'route=GLOB' (only these routes), "
        "'none' (never). Differences and latency exit 1, errors and unreachable sides 3",
    )
    p.add_argument(
        "--noise",
        metavar="FILE",
        action="append",
        default=[],
        help="known noise rules to apply first (repeatable)",
    )
    p.add_argument(
        "--save-noise",
        metavar="FILE",
        help="write what differed between the two baselines as reviewable noise "
        "rules (YAML) for replay, shadow and test generation",
    )
    p.add_argument("--html", metavar="FILE", help="also write the report as one HTML page")
    p.add_argument(
        "--json",
        action="store_true",
        help='print the report as one JSON object, "type": "shadow_report" (docs/cli.md)',
    )
    add_pacing_args(p)
    add_filter_args(p)
    add_store_args(p)


SIDES = ("baseline", "candidate", "baseline2")
"""The three targets as the flags and the report name them (`amber.replay.SIDES`)."""
PROGRESS_EVERY_S = 1.0
"""How often the progress line is redrawn on a terminal."""
PLAIN_PROGRESS_EVERY_S = 10.0
"""How often a progress line is printed when stderr is not a terminal (CI logs)."""


class ShadowOutput:
    """What `amber shadow` prints while it runs (`amber.replay.RunEvents`): notices, and a
    progress line on stderr (requests done of the total, errors per side, rate): redrawn
    in place every second on a terminal, a plain line every 10 s otherwise. The report
    comes at the end."""

    def __init__(self, stream: TextIO | None = None, *, quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty()
        self.every = PROGRESS_EVERY_S if self.interactive else PLAIN_PROGRESS_EVERY_S
        self.quiet = quiet
        self.total: int | None = None
        self.done = 0
        self.acc: ShadowAccumulator | None = None
        self._started = self._at = time.monotonic()
        self._drawn = False

    def watch(self, acc: ShadowAccumulator) -> None:
        """The run's accumulator: the progress line reads its per-side error counts."""
        self.acc = acc

    def started(self, run_id: str, total: int | None) -> None:
        self.total = total
        self._started = self._at = time.monotonic()

    def result(self, result: RunResult) -> None:
        # called for every request on the run's loop: a counter, a clock read
        self.done += 1
        if self.quiet:
            return
        now = time.monotonic()
        if now - self._at >= self.every:
            self._at = now
            self._draw(now)

    def line(self, now: float | None = None) -> str:
        """`shadow 1200/3000 requests, errors: baseline 0, candidate 3, baseline2 0, 41/s`."""
        now = time.monotonic() if now is None else now
        elapsed = now - self._started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        of = f"/{self.total}" if self.total is not None else ""
        errors = self.acc.side_errors if self.acc is not None else [0, 0, 0]
        sides = ", ".join(f"{name} {n}" for name, n in zip(SIDES, errors, strict=True))
        return f"shadow {self.done}{of} requests, errors: {sides}, {rate:.0f}/s"

    def _draw(self, now: float) -> None:
        if self.interactive:
            self.stream.write("\r\x1b[K" + self.line(now))
            self._drawn = True
        else:
            self.stream.write(f"amber: {self.line(now)}\n")
        self.stream.flush()

    def close(self) -> None:
        """Clear the line drawn in place (before the report prints)."""
        if self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._drawn = False

    def notice(self, message: str) -> None:
        self.close()
        notice(message)


def _write_private(path: str, data: bytes) -> None:
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fp:
        fp.write(data)


def _fail_on(args: argparse.Namespace) -> FailOn | None:
    """`--fail-on`, parsed (None when not given: amber.yaml's `shadow.fail_on` applies)."""
    from amber.replay import parse_fail_on

    if not args.fail_on:
        return None
    try:
        return parse_fail_on(args.fail_on)
    except ValueError as e:
        raise UsageError(f"--fail-on: {e}") from None


def settings_from_args(args: argparse.Namespace, config: Config) -> ShadowRunSettings:
    """The flags and amber.yaml (`targets:`, `shadow:`, `replay:`) as one run's settings."""
    from amber.replay import ShadowRunSettings
    from amber.replay import ShadowSettings
    from amber.replay import result_cleaner

    baseline = resolve_target(config, args.baseline, args)
    candidate = resolve_target(config, args.candidate, args)
    baseline2 = resolve_target(config, args.baseline2, args) if args.baseline2 else None
    shadow = config.with_key(
        "shadow", lambda: ShadowSettings.from_mapping(config.section("shadow"))
    )
    return ShadowRunSettings(
        baseline=baseline,
        candidate=candidate,
        baseline2=baseline2,
        clean=result_cleaner(config),
        selection=selection_from_args(args),
        sending=sending_from_args(args, config),
        safety=safety_from_args(args, config),
        noise=load_noise(config, args.noise),
        shadow=shadow,
        fail_on=_fail_on(args),
        params={"fail_on": args.fail_on},
    )


def run(args: argparse.Namespace) -> int:
    from amber.replay import shadow_exchanges

    for path, flag in ((args.save_noise, "--save-noise"), (args.html, "--html")):
        if path:
            writable_file(path, flag)  # checked before the run, not after it
    config, store = open_from_args(args)
    output = ShadowOutput()
    with store:
        try:
            summary = shadow_exchanges(store, settings_from_args(args, config), output)
        finally:
            output.close()
    if args.save_noise:
        Path(args.save_noise).write_text(summary.learned_noise())
    _print(summary, args)
    if summary.state == "interrupted":
        return 130
    down = summary.unreachable
    if down:
        # one line saying which side did not answer: the report above has the details
        meta = summary.meta()
        line = down[0]
        for side in SIDES:
            if line.startswith(f"{side} unreachable"):
                line = f"{side} {meta[side]}" + line[len(side) :]
                break
        more = f" (and {len(down) - 1} more: see the report)" if len(down) > 1 else ""
        print(f"amber shadow: error: {line}{more}", file=sys.stderr)
        return 3
    return 1 if summary.reasons else 0


def _print(summary: ShadowSummary, args: argparse.Namespace) -> None:
    """The report: JSON or the terminal's tables and a line of notes; HTML to `--html`."""
    from amber.replay import render_html
    from amber.replay import render_terminal
    from amber.replay import report_json

    report, fail_on, meta = summary.report, summary.settings.gate, summary.meta()
    if args.html:
        _write_private(args.html, render_html(report, meta=meta, fail_on=fail_on).encode())
    if args.json:
        doc = {"type": "shadow_report", **report_json(report, fail_on=fail_on, meta=meta)}
        sys.stdout.write(dumps_json(doc, indent=True, newline=True).decode())
        return
    render_terminal(report, console(), fail_on=fail_on)
    notes = [f"run {summary.run_id} ({summary.state}): {summary.requests} requests"]
    if summary.skipped_writes:
        notes.append(
            f"{summary.skipped_writes} non-idempotent requests not sent "
            "(--allow-writes to send them)"
        )
    if args.html:
        notes.append(f"report: {args.html}")
    if args.save_noise:
        notes.append(f"noise rules: {args.save_noise}")
    console(sys.stderr).print("; ".join(notes))


COMMAND = Command(
    "shadow",
    "compare a candidate build with a known-good one on captured traffic",
    register,
    run,
    description="Send each stored request to the baseline, the candidate and a second "
    "baseline (in that order). What differs between the baselines is noise; fields where the "
    "candidate differs beyond it are reported per route, with each side's errors, status mix "
    "and latency (p50/p95/p99). Exit status 1 when the --fail-on gate trips: use it in CI to "
    "gate a release.",
    epilog="exit status: 0 the gate passed; 1 a regression (a reported field, diff-rate, a "
    "latency term); 2 usage error; 3 a side could not be judged: it could not connect "
    "(unreachable; the run stops after --unreachable-after N in a row) or its errors "
    "passed errors>RATE, with one line naming the side; 130 interrupted.",
)
