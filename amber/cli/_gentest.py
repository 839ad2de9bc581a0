"""`amber gen-test ID... --out DIR`: regression tests from captured exchanges."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

from amber._audit import mask_argv
from amber._model import Exchange
from amber.cli._common import Command
from amber.cli._common import add_store_args
from amber.cli._common import open_from_args
from amber.cli._common import writable_dir
from amber.cli._replay import load_noise
from amber.cli._safety import guard_source
from amber.cli._safety import resolve_source
from amber.errors import UsageError

if TYPE_CHECKING:
    from amber.replay import NoiseFile
    from amber.testing import GenSpec


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("ids", nargs="+", metavar="ID", help="amber ids or request ids")
    p.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="where to write the tests (e.g. tests/regressions)",
    )
    p.add_argument(
        "--source-db",
        metavar="NAME|URL",
        help="extract each exchange's database fixture from this (read-only) "
        "database into DIR/fixtures/: a name under sources: in amber.yaml, or a URL",
    )
    p.add_argument(
        "--reason",
        metavar="TEXT",
        help="why the source database is read (kept in the audit log; required "
        "for sources labelled production)",
    )
    p.add_argument(
        "--app",
        metavar="MODULE:ATTR",
        help="run the tests in-process against this WSGI/ASGI app or factory "
        "(default: testgen.app in amber.yaml, or --amber-app at pytest time)",
    )
    p.add_argument(
        "--base-url", metavar="URL", help="run the tests against this running build instead"
    )
    p.add_argument(
        "--db-env",
        metavar="NAME",
        help="environment variable through which the app reads its database URL",
    )
    p.add_argument(
        "--expect-status",
        type=int,
        metavar="CODE",
        help="the status the request should get once fixed (asserted)",
    )
    p.add_argument(
        "--expect-json",
        metavar="JSON",
        help="the JSON body the request should get once fixed (asserted)",
    )
    p.add_argument(
        "--noise",
        metavar="FILE",
        action="append",
        default=[],
        help="noise rules (from amber shadow --save-noise) to leave out of "
        "comparisons of good responses",
    )
    add_store_args(p)


def run(args: argparse.Namespace) -> int:
    """Every exchange's spec is made (and checked) before anything is written; then each
    one's fixture, test and snapshot. The store is only read."""
    from amber.testing import command_line
    from amber.testing import write_test

    expect_json = _expect_json(args.expect_json)
    writable_dir(args.out, "--out")
    config, store = open_from_args(args, read_only=True)
    with store:
        noise = load_noise(config, args.noise)
        source = None
        if args.source_db:
            source = resolve_source(config, args.source_db)
            guard_source(source, args.reason)
        exchanges = [store.get(i) for i in args.ids]
    out = Path(args.out)
    section = config.section("testgen")
    command = command_line(mask_argv(args.argv))
    fixtures = source is not None
    specs = [
        _spec(args, ex, section, command, noise, expect_json, with_fixture=fixtures)
        for ex in exchanges
    ]
    written: list[Path] = []
    for spec in specs:
        if source is not None and spec.fixture is not None:
            from amber.cli._fixtures import extract_for_exchange

            fixture_path = out / spec.fixture
            extract_for_exchange(
                config,
                spec.exchange,
                source,
                fixture_path,
                reason=args.reason,
                argv=args.argv,
                command="gen-test",
            )
            written.append(fixture_path)
        generated = write_test(spec, out)
        written.append(generated.path)
        if generated.snapshot is not None:
            written.append(generated.snapshot)
    for path in written:
        print(path)
    print(
        f"amber gen-test: {len(exchanges)} tests written; run them with: pytest {out}",
        file=sys.stderr,
    )
    return 0


def _expect_json(text: str | None) -> Any:
    """`--expect-json`, parsed. *Raises:* `UsageError` for text that is not JSON, or nests
    deeper than Python's parser goes."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise UsageError(f"--expect-json is not valid JSON: {e}") from None
    except RecursionError:
        raise UsageError(
            "--expect-json nests too deep to parse; expect a part of the body "
            "by editing the generated test instead"
        ) from None


def _spec(
    args: argparse.Namespace,
    ex: Exchange,
    section: Mapping[str, Any],
    command: str,
    noise: NoiseFile,
    expect_json: Any,
    *,
    with_fixture: bool,
) -> GenSpec:
    """One exchange's spec from the flags and amber.yaml's `testgen:` (checked as made)."""
    from amber.testing import GenSpec
    from amber.testing import stem_of

    return GenSpec(
        exchange=ex,
        command=command,
        app=args.app or section.get("app"),
        base_url=args.base_url or section.get("base_url"),
        db_env=args.db_env or section.get("db_env"),
        fixture=f"fixtures/{stem_of(ex)}.yaml" if with_fixture else None,
        expect_status=args.expect_status,
        expect_json=expect_json,
        noise=noise.rules_for(ex.request.method, ex.route),
    )


COMMAND = Command(
    "gen-test",
    "turn captured exchanges into pytest regression tests",
    register,
    run,
    description="Write one readable pytest file per exchange: a captured server error "
    "becomes a test that fails until the bug is fixed; a good response becomes a snapshot "
    "test (re-record with pytest --amber-update). With --source-db, each test seeds the "
    "rows its request needs.",
)
