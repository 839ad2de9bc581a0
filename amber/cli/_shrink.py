"""`amber shrink ID --fixture FILE`: the minimal reproducer of a captured failure."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from amber.cli._common import Command
from amber.cli._common import add_store_args
from amber.cli._common import open_from_args
from amber.cli._common import writable_file
from amber.cli._verifying import add_base_url_arg
from amber.cli._verifying import add_verify_args
from amber.cli._verifying import make_reproducer
from amber.errors import FixtureError
from amber.errors import UsageError


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", metavar="ID", help="amber id or request id of the captured exchange")
    p.add_argument(
        "--fixture",
        required=True,
        metavar="FILE",
        help="the fixture that reproduces it (from amber fixtures or amber gen-test)",
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="where to write the shrunk fixture (default: replace --fixture)",
    )
    p.add_argument(
        "--expect-status",
        type=int,
        metavar="CODE",
        help="the status the request should get once fixed: a captured non-5xx answer is "
        "then the bug, reproduced while the answer misses it",
    )
    p.add_argument(
        "--expect-json",
        metavar="JSON",
        help="the JSON body the request should get once fixed (as --expect-status)",
    )
    p.add_argument(
        "--max-runs",
        type=int,
        default=500,
        metavar="N",
        help="run the request at most N times (default 500)",
    )
    p.add_argument(
        "--max-seconds",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="stop after this many seconds (default 60), keeping the smallest reproducer found",
    )
    p.add_argument(
        "--app",
        metavar="MODULE:ATTR",
        help="the in-process WSGI/ASGI app or factory (the build that failed; default: "
        "testgen.app in amber.yaml)",
    )
    p.add_argument(
        "--db-env",
        metavar="NAME",
        help="environment variable through which the app reads its database URL "
        "(default: testgen.db_env)",
    )
    add_base_url_arg(p)
    add_verify_args(p, gen_test=True, widen=False)
    add_store_args(p)


def run(args: argparse.Namespace) -> int:
    """Verify that the fixture reproduces the exchange's recorded failure, then ddmin over
    its rows and the request's parts; the store is only read."""
    from amber.fixtures import Fixture
    from amber.testing import Budget
    from amber.testing import shrink

    config, store = open_from_args(args, read_only=True)
    with store:
        ex = store.get(args.id)
    out = Path(args.output or args.fixture)
    writable_file(str(out), "-o")
    expect_json = None
    if args.expect_json is not None:
        try:
            expect_json = json.loads(args.expect_json)
        except json.JSONDecodeError as e:
            raise UsageError(f"--expect-json is not valid JSON: {e}") from None
    section = config.section("testgen")
    app = args.app or section.get("app")
    base_url = None if app else args.base_url or section.get("base_url")
    if not app and not base_url:
        raise UsageError(
            "shrinking runs the request against the build that failed: pass --app "
            "MODULE:ATTR (in-process; or testgen.app in amber.yaml), or --base-url URL with "
            "--verify-db-url (a served build and the database it reads)"
        )
    fx = Fixture.read(args.fixture)
    with make_reproducer(
        config,
        ex,
        app=str(app or ""),
        base_url=base_url,
        db_env=args.db_env or section.get("db_env"),
        expect_status=args.expect_status,
        expect_json=expect_json,
        timeout=args.verify_timeout,
        app_python=args.app_python,
        fresh_process=args.fresh_process,
        verify_db_url=args.verify_db_url,
    ) as reproducer:
        verdict = reproducer.verify(fx)
        if not verdict.reproduced:
            raise FixtureError(
                f"{args.fixture} does not reproduce exchange {ex.id} ({verdict.explain()}): "
                "nothing to shrink; widen it with amber fixtures --verify first"
            )
        result = shrink(
            reproducer,
            fx,
            budget=Budget(args.max_runs, args.max_seconds),
            rows=reproducer.rows_shrinkable,
        )
    result.fixture.write(out)
    print(
        f"wrote {out}: reproduced with {result.rows_after} rows (shrunk from {result.rows_before})"
    )
    print(result.note())
    if result.removed_parts:
        print("the minimal request: " + json.dumps(result.request, sort_keys=True))
    print(
        "amber shrink: regenerate the test from the shrunk fixture with amber gen-test, or "
        "drop the removed request parts from its REQUEST",
        file=sys.stderr,
    )
    return 0


COMMAND = Command(
    name="shrink",
    help="shrink a reproducing fixture and request to the minimal reproducer",
    register=register,
    run=run,
    description="Load the fixture into a fresh SQLite database, run the captured request "
    "against the in-process app and check that it fails as recorded; then remove fixture "
    "rows (keeping foreign keys consistent) and request parts (headers, query parameters, "
    "JSON and form fields) by delta debugging while it still fails. Bounded by --max-runs "
    "and --max-seconds; deterministic.",
)
