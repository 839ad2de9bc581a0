"""`amber shadow`: baseline, candidate and a second baseline side by side; a release gate."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

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
        help="when to exit 1: 'regression' (default: any reported field), "
        "'diff-rate>1%%' (share of a route's requests that regressed), "
        "'route=GLOB' (only these routes), 'none'; comma-separated",
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
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    add_pacing_args(p)
    add_filter_args(p)
    add_store_args(p)


class ShadowOutput:
    """What `amber shadow` prints while it runs (`amber.replay.RunEvents`): notices only;
    the report comes at the end."""

    def started(self, run_id: str, total: int | None) -> None:
        pass

    def result(self, result: RunResult) -> None:
        pass

    def notice(self, message: str) -> None:
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
    with store:
        summary = shadow_exchanges(store, settings_from_args(args, config), ShadowOutput())
    if args.save_noise:
        Path(args.save_noise).write_text(summary.learned_noise())
    _print(summary, args)
    if summary.state == "interrupted":
        return 130
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
        doc = report_json(report, fail_on=fail_on, meta=meta)
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
    "candidate differs beyond it are reported per route. Exit status 1 when the --fail-on "
    "gate trips: use it in CI to gate a release.",
)
