"""`amber shadow`: baseline, candidate and a second baseline side by side; a release gate."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

import orjson

from amber import _aio
from amber._runs import RunLog
from amber._runs import RunResult
from amber.cli._common import Command
from amber.cli._common import UsageError
from amber.cli._common import add_filter_args
from amber.cli._common import add_store_args
from amber.cli._common import console
from amber.cli._common import open_from_args
from amber.cli._common import query_from_args
from amber.cli._replay import _safe_text
from amber.cli._replay import _selected
from amber.cli._replay import add_pacing_args
from amber.cli._replay import load_noise
from amber.cli._replay import resolve_target
from amber.cli._safety import add_safety_args
from amber.cli._safety import audit
from amber.cli._safety import guard

if TYPE_CHECKING:
    from amber.replay import ShadowReport
    from amber.replay import Triple


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("ids", nargs="*", metavar="ID",
                   help="amber ids or request ids (default: everything the filters match)")
    p.add_argument("--baseline", required=True, metavar="URL|NAME",
                   help="the known-good build (a URL or a target named in amber.yaml)")
    p.add_argument("--candidate", required=True, metavar="URL|NAME", help="the build to judge")
    p.add_argument("--baseline2", metavar="URL|NAME",
                   help="a second known-good instance; default: the baseline asked twice. "
                   "What differs between the two baselines is noise")
    p.add_argument("--allow-writes", action="store_true",
                   help="also send POST/PUT/PATCH/DELETE (each request is sent three times!)")
    add_safety_args(p, allow_writes=False)
    p.add_argument("--fail-on", metavar="SPEC",
                   help="when to exit 1: 'regression' (default: any reported field), "
                   "'diff-rate>1%%' (share of a route's requests that regressed), "
                   "'route=GLOB' (only these routes), 'none'; comma-separated")
    p.add_argument("--noise", metavar="FILE", action="append", default=[],
                   help="known noise rules to apply first (repeatable)")
    p.add_argument("--save-noise", metavar="FILE",
                   help="write what differed between the two baselines as reviewable noise "
                   "rules (YAML) for replay, shadow and test generation")
    p.add_argument("--html", metavar="FILE", help="also write the report as one HTML page")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    add_pacing_args(p)
    add_filter_args(p)
    add_store_args(p)


def _clean_report(report: ShadowReport, clean: Any) -> None:
    """Examples carry values from the targets' responses: sanitize them like captures."""
    for r in report.routes:
        for f in r.fields:
            f.examples = [dataclasses.replace(e, expected=clean(e.expected),
                                              actual=clean(e.actual)) for e in f.examples]
            f.noise_examples = [dataclasses.replace(e, expected=clean(e.expected),
                                                    actual=clean(e.actual))
                                for e in f.noise_examples]


def _write_private(path: str, data: bytes) -> None:
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fp:
        fp.write(data)


def run(args: argparse.Namespace) -> int:
    from amber.replay import Auth
    from amber.replay import ShadowAccumulator
    from amber.replay import ShadowRunner
    from amber.replay import ShadowSettings
    from amber.replay import parse_fail_on
    from amber.replay import render_html
    from amber.replay import render_terminal
    from amber.replay import report_json

    config, store = open_from_args(args)
    baseline = resolve_target(config, args.baseline, args)
    candidate = resolve_target(config, args.candidate, args)
    baseline2 = resolve_target(config, args.baseline2, args) if args.baseline2 else None
    guard(config, [baseline, candidate, baseline2], args, store,
          None if args.ids else query_from_args(args))
    settings = config.with_key(
        "shadow", lambda: ShadowSettings.from_mapping(config.section("shadow")))
    fail_on = settings.fail_on
    if args.fail_on:
        try:
            fail_on = parse_fail_on(args.fail_on)
        except ValueError as e:
            raise UsageError(f"--fail-on: {e}") from None
    noise = load_noise(config, args.noise)
    section = config.section("replay")
    auth_cfg = section.get("auth") or {}
    clean = _safe_text(config)
    acc = ShadowAccumulator(noise.rules_for, relative_threshold=settings.relative_threshold,
                            absolute_threshold=settings.absolute_threshold,
                            max_examples=settings.max_examples)
    log = RunLog(store)
    targets = f"baseline {baseline.display} candidate {candidate.display}" + (
        f" baseline2 {baseline2.display}" if baseline2 else "")
    run_id = log.start("shadow", targets, {"ids": args.ids, "allow_writes": args.allow_writes,
                                           "fail_on": args.fail_on})
    results = log.writer(run_id)  # stored from a thread: the loop never waits on the store
    count = 0

    def on_triple(t: Triple) -> None:
        nonlocal count
        ex = t.exchange
        v = acc.add(
            exchange_id=ex.id, method=ex.request.method, route=ex.route,
            primary=t.primary.response, candidate=t.candidate.response,
            secondary=t.secondary.response, primary_error=t.primary.error,
            candidate_error=t.candidate.error, secondary_error=t.secondary.error,
        )
        count += 1
        c = t.candidate
        results.add(RunResult(
            ex.id, c.sent_at, c.response.status if c.response else None, c.latency_ms, v.ok,
            clean(c.error), {"method": ex.request.method, "path": ex.request.path,
                             "route": ex.route,
                             "regression_paths": sorted(v.regression_paths),
                             "suppressed_paths": sorted(v.suppressed_paths),
                             "noise_paths": sorted(v.noise_paths)},
        ))

    runner = ShadowRunner(
        baseline, candidate, baseline2, allow_writes=args.allow_writes,
        concurrency=args.concurrency, rate=args.rate, speed=args.speed,
        session_key=args.session_key or section.get("session_key"),
        drop_headers=section.get("drop_headers") or [], carry_state=not args.no_carry,
    )
    if auth_cfg:
        for r in (runner.primary, runner.candidate, runner.secondary):
            r.auth = config.with_key("replay.auth", lambda: Auth.from_mapping(auth_cfg))
    state = "completed"
    started = time.monotonic()
    try:
        _aio.run(runner.run(_selected(store, args), on_triple))
    except KeyboardInterrupt:
        state = "interrupted"
    finally:
        results.close()
    report = acc.report()
    _clean_report(report, clean)
    meta = {"run": run_id, "baseline": baseline.display, "candidate": candidate.display,
            "baseline2": (baseline2 or baseline).display, "requests": count,
            "skipped_writes": runner.skipped_writes,
            "elapsed_s": round(time.monotonic() - started, 3), "state": state}
    doc = report_json(report, fail_on=fail_on, meta=meta)
    reasons = report.gate(fail_on)
    log.finish(run_id, state, {"requests": count, "regressions": len(report.regressions()),
                               "skipped_writes": runner.skipped_writes, "gate": reasons[:50]})
    store.close()
    audit(config, "shadow", args.argv, reason=args.reason, target=targets, run=run_id,
          state=state, requests=count, regressions=len(report.regressions()),
          skipped_writes=runner.skipped_writes)
    if args.save_noise:
        learned = acc.learned_noise()
        Path(args.save_noise).write_text(learned.dump(comment=acc.learned_noise_comment()))
    if args.html:
        _write_private(args.html, render_html(report, meta=meta, fail_on=fail_on).encode())
    if args.json:
        sys.stdout.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        render_terminal(report, console(), fail_on=fail_on)
        notes = [f"run {run_id} ({state}): {count} requests"]
        if runner.skipped_writes:
            notes.append(f"{runner.skipped_writes} non-idempotent requests not sent "
                         "(--allow-writes to send them)")
        if args.html:
            notes.append(f"report: {args.html}")
        if args.save_noise:
            notes.append(f"noise rules: {args.save_noise}")
        console(sys.stderr).print("; ".join(notes))
    if state == "interrupted":
        return 130
    return 1 if reasons else 0


COMMAND = Command(
    "shadow", "compare a candidate build with a known-good one on captured traffic",
    register, run,
    description="Send each stored request to the baseline, the candidate and a second "
    "baseline (in that order). What differs between the baselines is noise; fields where the "
    "candidate differs beyond it are reported per route. Exit status 1 when the --fail-on "
    "gate trips: use it in CI to gate a release.",
)
