"""`amber gen-test ID... --out DIR`: regression tests from captured exchanges."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

from amber._audit import mask_argv
from amber._config import Config
from amber._model import Exchange
from amber.cli._common import Command
from amber.cli._common import add_store_args
from amber.cli._common import open_from_args
from amber.cli._common import writable_dir
from amber.cli._replay import load_noise
from amber.cli._safety import SourceRef
from amber.cli._safety import guard_source
from amber.cli._safety import resolve_source
from amber.cli._verifying import add_verify_args
from amber.cli._verifying import verify_db_url_of
from amber.errors import UsageError

if TYPE_CHECKING:
    from amber.replay import NoiseFile
    from amber.testing import GenSpec
    from amber.testing import Reproducer


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
        "--fixture",
        metavar="FILE",
        help="use this fixture (one `amber fixtures` already wrote) instead of extracting "
        "again from --source-db: copied into DIR/fixtures/ and, with --app and --db-env, "
        "verified against the recording and shrunk as an extracted one is (one ID only)",
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
    p.add_argument(
        "--no-verify",
        action="store_true",
        help="with --source-db: write the fixture without checking that the request fails "
        "on it as recorded (the test is then marked unverified)",
    )
    p.add_argument(
        "--no-shrink",
        action="store_true",
        help="keep the whole reproducing fixture and request instead of shrinking them to a "
        "minimal reproducer (ddmin over rows and request parts)",
    )
    p.add_argument(
        "--max-runs",
        type=int,
        default=500,
        metavar="N",
        help="shrinking runs the request at most N times per test (default 500)",
    )
    p.add_argument(
        "--max-seconds",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="shrinking stops after this many seconds per test (default 60), keeping the "
        "smallest reproducer found",
    )
    add_verify_args(p, gen_test=True)
    add_store_args(p)


def run(args: argparse.Namespace) -> int:
    """Every exchange's spec is made (and checked) before anything is written; then each
    one's fixture, test and snapshot. The store is only read."""
    from amber.testing import command_line
    from amber.testing import write_test

    expect_json = _expect_json(args.expect_json)
    if args.fixture is not None:
        if args.source_db:
            raise UsageError(
                "--fixture and --source-db both give the test's rows: pass one (--fixture "
                "uses a file amber fixtures wrote; --source-db extracts again)"
            )
        if len(args.ids) != 1:
            raise UsageError(
                f"--fixture gives one exchange's rows, but {len(args.ids)} ids were given: "
                "generate one test per fixture"
            )
        if not Path(args.fixture).is_file():
            raise UsageError(f"--fixture {args.fixture}: no such file")
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
    fixtures = source is not None or args.fixture is not None
    specs = [
        _spec(args, config, ex, section, command, noise, expect_json, with_fixture=fixtures)
        for ex in exchanges
    ]
    written: list[Path] = []
    unverified = unchecked = 0
    for spec in specs:
        comment: list[str] = []
        if source is not None and spec.fixture is not None:
            fixture_path = out / spec.fixture
            spec, comment = _fixture_for(args, config, spec, source, fixture_path)
            written.append(fixture_path)
            failed = any("did not reproduce" in c for c in comment)
            unverified += failed
            unchecked += not failed and any(c.startswith("UNVERIFIED") for c in comment)
        elif args.fixture is not None and spec.fixture is not None:
            fixture_path = out / spec.fixture
            spec, comment = _given_fixture(args, config, spec, Path(args.fixture), fixture_path)
            written.append(fixture_path)
            failed = any("did not reproduce" in c for c in comment)
            unverified += failed
            unchecked += not failed and any(c.startswith("UNVERIFIED") for c in comment)
        generated = write_test(spec, out)
        if comment:
            annotate(generated.path, comment)
        written.append(generated.path)
        if generated.snapshot is not None:
            written.append(generated.snapshot)
    for path in written:
        print(path)
    print(
        f"amber gen-test: {len(exchanges)} tests written; run them with: pytest {out}",
        file=sys.stderr,
    )
    if unchecked:
        print(
            f"amber gen-test: warning: {unchecked} test(s) were not checked against the "
            "recording (see above) and are marked UNVERIFIED in their file",
            file=sys.stderr,
        )
    if unverified:
        print(
            f"amber gen-test: warning: {unverified} test(s) did not reproduce the recorded "
            "failure and are marked UNVERIFIED in their file",
            file=sys.stderr,
        )
        return 1
    return 0


def _fixture_for(
    args: argparse.Namespace,
    config: Config,
    spec: GenSpec,
    source: SourceRef,
    path: Path,
) -> tuple[GenSpec, list[str]]:
    """Extract (verify, widen, shrink) one test's fixture; the spec to write (its request
    shrunk) and the comment for the test file."""
    from amber.cli._fixtures import reproduce
    from amber.testing import Budget

    ex = spec.exchange
    reproducer = None
    why_not = _why_not_verified(args, spec, config)
    if not why_not:
        reproducer = _reproducer_for(args, config, spec)
        print(f"amber gen-test: {ex.id}: verify judges by {reproducer.oracle()}", file=sys.stderr)
    budget = None if args.no_shrink else Budget(args.max_runs, args.max_seconds)
    try:
        rep = reproduce(
            config,
            ex,
            source,
            path,
            reason=args.reason,
            argv=args.argv,
            command="gen-test",
            reproducer=reproducer,
            widen_max=args.widen_max,
            budget=budget,
            trace=not args.no_trace,
        )
    finally:
        if reproducer is not None:
            reproducer.close()
    if reproducer is None:
        if spec.snapshot and not args.no_verify:
            return spec, []
        print(f"amber gen-test: {ex.id}: not verified: {why_not}", file=sys.stderr)
        return spec, [f"UNVERIFIED: not checked against the recording: {why_not}."]
    summary = rep.summary()
    print(f"amber gen-test: {ex.id}: {summary}", file=sys.stderr)
    assert rep.verdict is not None
    if not rep.verdict.reproduced:
        return spec, [
            f"UNVERIFIED: the fixture did not reproduce the recorded failure: {summary}.",
            f"verify judged by {reproducer.oracle()}.",
            "Add the rows the request needs (fixtures.rules in amber.yaml) and generate "
            "again, or check that --app is the build that failed.",
        ]
    lines = [f"verified: {summary}.", f"verify judged by {reproducer.oracle()}."]
    if rep.shrunk is not None:
        lines.append(rep.shrunk.note() + ".")
        if not reproducer.rows_shrinkable:
            lines.append(_ROWS_KEPT)
        if rep.request is not None:
            spec = dataclasses.replace(spec, exchange=with_request(ex, rep.request))
    return spec, lines


_ROWS_KEPT = (
    "Rows not shrunk: the expectation is what a working build answers on the recorded "
    "data, which verify (running the buggy build) cannot check on fewer rows."
)


def _why_not_verified(args: argparse.Namespace, spec: GenSpec, config: Config) -> str:
    """Why this test's fixture is not checked against the recording ("" when it is)."""
    if args.no_verify:
        return "--no-verify"
    if spec.snapshot:
        return "a good response (a snapshot test; verification reproduces failures)"
    if not spec.app:
        if spec.base_url and verify_db_url_of(config, args.verify_db_url):
            return ""  # a served build, and the database it reads to load fixtures into
        if spec.base_url:
            return (
                "the test runs against a served build (--base-url), but verify has no "
                "database that build reads to load the fixture into (--verify-db-url)"
            )
        return "no in-process app to run it against (--app or testgen.app)"
    from amber.testing import database_settings

    if not spec.db_env and database_settings(config).path is None:
        return (
            "no --db-env (the app's database URL variable) nor testing.database.path (the "
            "file it opens) to point the app at the fixture"
        )
    return ""


def _given_fixture(
    args: argparse.Namespace,
    config: Config,
    spec: GenSpec,
    given: Path,
    path: Path,
) -> tuple[GenSpec, list[str]]:
    """`--fixture FILE`: the fixture `amber fixtures` wrote, not extracted again; verified
    and shrunk as `_fixture_for` does an extracted one when an app is given, then written
    to `path`. The spec to write and the comment for the test file."""
    from amber.fixtures import Fixture
    from amber.testing import Budget
    from amber.testing import shrink

    ex = spec.exchange
    fx = Fixture.read(given)
    rows = sum(fx.row_counts.values())
    why_not = _why_not_verified(args, spec, config)
    if why_not:
        fx.write(path)
        if spec.snapshot and not args.no_verify:
            return spec, []
        print(f"amber gen-test: {ex.id}: not verified: {why_not}", file=sys.stderr)
        return spec, [f"UNVERIFIED: not checked against the recording: {why_not}."]
    reproducer = _reproducer_for(args, config, spec)
    print(f"amber gen-test: {ex.id}: verify judges by {reproducer.oracle()}", file=sys.stderr)
    try:
        verdict = reproducer.verify(fx)
        if not verdict.reproduced:
            fx.write(path)
            summary = f"NOT reproduced with {rows} rows: {verdict.explain()}"
            print(f"amber gen-test: {ex.id}: {summary}", file=sys.stderr)
            return spec, [
                f"UNVERIFIED: the fixture did not reproduce the recorded failure: {summary}.",
                f"verify judged by {reproducer.oracle()}.",
                f"Add the rows the request needs to {given.name} (or extract it again with "
                "amber fixtures), or check that --app is the build that failed.",
            ]
        lines = []
        if args.no_shrink:
            fx.write(path)
            summary = f"reproduced with {rows} rows"
        else:
            shrunk = shrink(
                reproducer,
                fx,
                budget=Budget(args.max_runs, args.max_seconds),
                rows=reproducer.rows_shrinkable,
            )
            shrunk.fixture.write(path)
            summary = f"reproduced with {shrunk.rows_after} rows (shrunk from {rows})"
            lines.append(shrunk.note() + ".")
            if not reproducer.rows_shrinkable:
                lines.append(_ROWS_KEPT)
            spec = dataclasses.replace(spec, exchange=with_request(ex, shrunk.request))
    finally:
        reproducer.close()
    print(f"amber gen-test: {ex.id}: {summary} (fixture {given})", file=sys.stderr)
    return spec, [
        f"verified: {summary}; fixture from {given.name}.",
        f"verify judged by {reproducer.oracle()}.",
        *lines,
    ]


def with_request(ex: Exchange, literal: Mapping[str, Any]) -> Exchange:
    """`ex` with the request a (shrunk) REQUEST literal describes: the headers it left out
    of the original literal removed, its query and body."""
    from collections import Counter

    kept = Counter((str(k), str(v)) for k, v in literal.get("headers") or [])
    dropped = {"cookie", "authorization", "x-request-id"}
    headers = []
    for k, v in ex.request.headers:
        if k.lower() in dropped or "[REDACTED:" in v:
            headers.append((k, v))  # left out of every literal anyway
        elif kept[(k, v)] > 0:
            kept[(k, v)] -= 1
            headers.append((k, v))
    body = literal.get("body")
    raw = body.encode("utf-8") if isinstance(body, str) else ex.request.body
    request = dataclasses.replace(
        ex.request, headers=tuple(headers), query=str(literal.get("query") or ""), body=raw
    )
    return dataclasses.replace(ex, request=request)


def annotate(path: Path, lines: list[str]) -> None:
    """Put `lines` as `# amber:` comments right after the test file's docstring."""
    import textwrap

    text = path.read_text(encoding="utf-8")
    end = text.find('\n"""\n')
    if end < 0:
        return
    end += len('\n"""\n')
    block = "".join(
        f"# amber: {w}\n" if i == 0 else f"#   {w}\n"
        for line in lines
        for i, w in enumerate(textwrap.wrap(line, 78, break_on_hyphens=False))
    )
    path.write_text(text[:end] + "\n" + block + text[end:], encoding="utf-8")


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


def _reproducer_for(args: argparse.Namespace, config: Config, spec: GenSpec) -> Reproducer:
    """The reproducer of `spec`'s exchange (verify: the recording is the oracle), with the
    test's own expectations and noise; `spec.app` is set, or `spec.base_url` and a verify
    database (`_why_not_verified` said so)."""
    from amber.cli._verifying import make_reproducer

    return make_reproducer(
        config,
        spec.exchange,
        app=spec.app or "",
        base_url=None if spec.app else spec.base_url,
        db_env=spec.db_env,
        noise=spec.noise,
        expect_status=spec.expect_status,
        expect_json=spec.expect_json,
        timeout=args.verify_timeout,
        app_python=args.app_python,
        fresh_process=args.fresh_process,
        verify_db_url=args.verify_db_url,
        expect=spec.expect or {},
    )


def _spec(
    args: argparse.Namespace,
    config: Config,
    ex: Exchange,
    section: Mapping[str, Any],
    command: str,
    noise: NoiseFile,
    expect_json: Any,
    *,
    with_fixture: bool,
) -> GenSpec:
    """One exchange's spec from the flags and amber.yaml's `testgen:` (checked as made),
    with the route's `testing.expect` and the test identity's fields of that same config
    (the file `--config` names)."""
    from amber.testing import GenSpec
    from amber.testing import config_defaults
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
        **config_defaults(config, ex),
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
