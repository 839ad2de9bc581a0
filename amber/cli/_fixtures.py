"""`amber fixtures ID --source-db URL`: extract the anonymized DB rows of a captured request."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

from amber._audit import append_audit
from amber._audit import audit_path
from amber._config import Config
from amber._model import Exchange
from amber._pseudonym import load_key
from amber.cli._common import Command
from amber.cli._common import add_store_args
from amber.cli._common import open_from_args
from amber.cli._common import writable_file
from amber.cli._safety import SourceRef
from amber.cli._safety import guard_source
from amber.cli._safety import resolve_source
from amber.cli._verifying import WIDEN_MAX
from amber.cli._verifying import add_verify_args
from amber.cli._verifying import make_reproducer
from amber.errors import ClosureTooLarge
from amber.errors import FixtureError
from amber.errors import UsageError

if TYPE_CHECKING:
    from amber.fixtures import Fixture
    from amber.fixtures import Source
    from amber.fixtures import TracedRead
    from amber.testing import Budget
    from amber.testing import Reproducer
    from amber.testing import ShrinkResult
    from amber.testing import Verdict


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", metavar="ID", help="amber id or request id of the captured exchange")
    p.add_argument(
        "--source-db",
        required=True,
        metavar="NAME|URL",
        help="source database, opened read-only (a replica): a name under sources: "
        "in amber.yaml, or a URL (postgresql://..., sqlite:///PATH)",
    )
    p.add_argument(
        "-o", "--output", metavar="FILE", help="fixture file to write (default: fixtures/<ID>.yaml)"
    )
    p.add_argument(
        "--reason",
        metavar="TEXT",
        help="why this extraction (kept in the audit log; required for sources "
        "labelled production)",
    )
    p.add_argument(
        "--audit-log",
        metavar="FILE",
        help="audit log (default: audit.path in amber.yaml, else $AMBER_AUDIT_LOG, "
        "else .amber/audit.jsonl)",
    )
    p.add_argument("--max-rows", type=int, metavar="N", help="row cap (default 10000)")
    add_verify_args(p, gen_test=False)
    add_store_args(p)


def extract_for_exchange(
    config: Config,
    ex: Exchange,
    source: SourceRef,
    output: str | Path,
    *,
    reason: str | None = None,
    max_rows: int | None = None,
    audit_log: str | None = None,
    argv: list[str] | None = None,
    command: str = "fixtures",
    reproducer: Reproducer | None = None,
    widen_max: int = WIDEN_MAX,
    budget: Budget | None = None,
) -> Fixture:
    """Seeds (rule or printed proposal), extraction, YAML file (0600) and audit record.

    With a `reproducer`, the fixture is verified against the recording and widened until it
    reproduces (`reproduce`); with a `budget` too, shrunk. The caller has resolved `source`
    and checked it (`guard_source`)."""
    rep = reproduce(
        config,
        ex,
        source,
        output,
        reason=reason,
        max_rows=max_rows,
        audit_log=audit_log,
        argv=argv,
        command=command,
        reproducer=reproducer,
        widen_max=widen_max,
        budget=budget,
    )
    return rep.fixture


@dataclass
class Reproduction:
    """What `reproduce` found: the fixture written, whether (and with how many rows) it
    reproduced the recording, the shrink result and the request the test should send."""

    fixture: Fixture
    verdict: Verdict | None
    rows_found: int
    widened: list[str]
    shrunk: ShrinkResult | None = None
    request: dict[str, Any] | None = None

    @property
    def rows(self) -> int:
        return sum(self.fixture.row_counts.values())

    def summary(self) -> str:
        """`reproduced with N rows (shrunk from M)`, or what did not reproduce."""
        if self.verdict is None:
            return f"not verified: {self.rows} rows"
        if not self.verdict.reproduced:
            return f"NOT reproduced with {self.rows_found} rows: {self.verdict.explain()}"
        text = f"reproduced with {self.rows} rows"
        if self.shrunk is not None:
            text += f" (shrunk from {self.rows_found})"
        return text


TRACE_MAX_BYTES = 512 * 1024 * 1024
"""The largest SQLite source the SQL trace copies to a snapshot (larger: a note, no trace)."""


def _trace(reproducer: Reproducer, db: Source, cap: int) -> TracedRead:
    """The rows the request read, from the SQL it runs on a snapshot copy of an SQLite
    source (`amber.fixtures.SqlTrace`); other backends fall back (a note says so). The
    copy lives in a private temporary directory (memory-backed /dev/shm when there is
    one) and is removed when the trace is done."""
    import tempfile

    from amber.fixtures import TracedRead
    from amber.fixtures import snapshot_sqlite
    from amber.fixtures import traced_seeds

    if db.backend == "postgresql":
        return _trace_pg(reproducer, db, cap)
    if db.file is None:
        return TracedRead(
            [],
            set(),
            [
                f"trace: the SQL a request runs is recorded for SQLite and PostgreSQL sources "
                f"only, not {db.backend}; the seed rules, id guesses and widening apply"
            ],
        )
    size = os.path.getsize(db.file)
    if size > TRACE_MAX_BYTES:
        return TracedRead(
            [],
            set(),
            [
                f"trace: the source is {size // 2**20} MB, more than the "
                f"{TRACE_MAX_BYTES // 2**20} MB a snapshot copy is made of; not traced "
                "(the seed rules, id guesses and widening apply)"
            ],
        )
    shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix="amber-trace-", dir=shm) as d:
        snapshot = f"{d}/snapshot.db"
        snapshot_sqlite(db.file, snapshot)
        outcome, tr = reproducer.trace(f"sqlite:///{snapshot}")
        if outcome.kind in ("timeout", "build"):
            what = "hung" if outcome.kind == "timeout" else "did not start"
            return TracedRead([], set(), [f"trace: the app {what} ({outcome.error}); not used"])
        return traced_seeds(tr, snapshot, db.specs, cap)


def _trace_pg(reproducer: Reproducer, db: Source, cap: int) -> TracedRead:
    """The rows the request read on a PostgreSQL source: the app runs on the source itself
    in read-only transactions with its psycopg/psycopg2 statements recorded
    (`amber.fixtures.PgTrace`; why not a clone: docs/fixtures.md), then each single-table
    SELECT's keys are read through amber's read-only connection."""
    from amber.fixtures import TracedRead
    from amber.fixtures import pg_traced_seeds

    outcome, tr = reproducer.trace(db.url)
    if outcome.kind in ("timeout", "build"):
        what = "hung" if outcome.kind == "timeout" else "did not start"
        return TracedRead([], set(), [f"trace: the app {what} ({outcome.error}); not used"])
    notes = []
    if outcome.kind == "setup":
        notes.append(f"trace: the test's set-up failed ({outcome.error}); statements so far used")
    if not tr.statements:
        notes.append(
            "trace: the app ran no statement through psycopg or psycopg2 (another driver, "
            "or no database read); the seed rules, id guesses and widening apply"
        )
    read = pg_traced_seeds(tr, db, cap)
    read.notes[:0] = notes
    return read


def _same_database(a: str, b: str) -> bool:
    """Whether two database URLs name the same database (driver, password and query
    aside)."""
    from urllib.parse import urlsplit

    def key(url: str) -> tuple[str, str, int | None, str]:
        u = urlsplit(url)
        scheme = u.scheme.split("+", 1)[0]
        scheme = "postgresql" if scheme == "postgres" else scheme
        try:
            port = u.port
        except ValueError:
            port = None
        return scheme, (u.hostname or "").lower(), port, u.path.rstrip("/")

    return key(a) == key(b)


def _widths(widen_max: int) -> list[int]:
    out, n = [], 10
    while n < widen_max:
        out.append(n)
        n *= 10
    return [*out, widen_max] if widen_max > 0 else []


def reproduce(
    config: Config,
    ex: Exchange,
    source: SourceRef,
    output: str | Path,
    *,
    reason: str | None = None,
    max_rows: int | None = None,
    audit_log: str | None = None,
    argv: list[str] | None = None,
    command: str = "fixtures",
    reproducer: Reproducer | None = None,
    widen_max: int = WIDEN_MAX,
    budget: Budget | None = None,
    trace: bool = True,
) -> Reproduction:
    """Extract the fixture of `ex`; with a `reproducer`, verify it and, while it does not
    reproduce, widen it (the first 10, 100, ... `widen_max` rows of the tables the request
    read, by key order) and verify again; with a `budget`, shrink the reproducing fixture
    (and the request) with ddmin. Writes the fixture and an audit record per extraction."""
    import dataclasses

    from amber._identity import identity_from_config
    from amber.fixtures import FixturesConfig
    from amber.fixtures import Seed
    from amber.fixtures import Source
    from amber.fixtures import audit_record
    from amber.fixtures import extract
    from amber.fixtures import plan_for
    from amber.fixtures import widening_tables
    from amber.sanitize import SanitizeConfig

    fconf = config.with_key(
        "fixtures", lambda: FixturesConfig.from_mapping(config.section("fixtures"))
    )
    caps = fconf.caps if not max_rows else dataclasses.replace(fconf.caps, max_rows=max_rows)
    # the capture's own rules and the config's test identity (the file --config names)
    sanitize = config.with_key(
        "sanitize", lambda: SanitizeConfig.from_mapping(config.section("sanitize"))
    )
    identity = identity_from_config(config)
    key = load_key()
    route = f"{ex.request.method} {ex.route}" if ex.route else ex.request.path
    log = audit_log or fconf.audit_log or audit_path(config.section("audit"))
    verdict: Verdict | None = None
    widened: list[str] = []

    def audit(fx: Fixture) -> None:
        append_audit(
            log,
            audit_record(
                source=source.name or str(fx.meta["source"]),
                tables=fx.row_counts,
                reason=reason,
                exchange=ex.id,
                route=route,
                output=str(output),
                argv=argv or ["amber", command, ex.id],
                command=command,
                label=source.label,
            ),
        )

    if (
        reproducer is not None
        and reproducer.db_url
        and _same_database(reproducer.db_url, source.url)
    ):
        raise UsageError(
            "--verify-db-url names the source database: verification inserts and removes "
            "rows there; give a database prepared as the tests' (the app's migrations applied)"
        )
    with Source(source.url, caps) as db:
        plan = plan_for(ex, fconf, db)
        for n in plan.notes:
            print(f"amber: note: {n}", file=sys.stderr)
        if not plan.seeds and reproducer is None:
            raise FixtureError(
                f"no seed rows for {ex.request.method} {ex.request.path}: add a rule under "
                "fixtures.rules in amber.yaml"
            )
        if plan.proposed and plan.rule is not None:
            print(
                "amber: no fixtures rule matches this route; using this proposal "
                "(paste it into amber.yaml):",
                file=sys.stderr,
            )
            print(plan.rule.to_yaml(), file=sys.stderr, end="")
        seeds0 = list(plan.seeds)
        read: set[str] = {s.table for s in plan.seeds}
        if reproducer is not None and trace and not reproducer.traces:
            print(
                "amber: note: trace: the request runs on a served build (--base-url), whose "
                "SQL amber does not see; the seed rules, id guesses and widening apply",
                file=sys.stderr,
            )
        elif reproducer is not None and trace:
            traced = _trace(reproducer, db, caps.max_rows)
            traced_on = None
            if db.file is not None and os.path.getsize(db.file) <= TRACE_MAX_BYTES:
                traced_on = "(temporary snapshot copy for the SQL trace, removed)"
            elif db.backend == "postgresql":
                traced_on = "(the app run on the source in read-only transactions, SQL trace)"
            if traced_on is not None:
                append_audit(
                    log,
                    audit_record(
                        source=source.name or db.shown,
                        tables={t: 0 for t in sorted(db.specs)},
                        reason=reason,
                        exchange=ex.id,
                        route=route,
                        output=traced_on,
                        argv=argv or ["amber", command, ex.id],
                        command=command,
                        label=source.label,
                    ),
                )
            for n in traced.notes:
                print(f"amber: note: {n}", file=sys.stderr)
            seeds0 += traced.seeds
            read |= traced.tables | {s.table for s in traced.seeds}
        tables = widening_tables(ex, db, read)
        attempts: list[int | None] = [None] if seeds0 else []
        if reproducer is not None:
            attempts += _widths(widen_max)
        fx: Fixture | None = None
        for width in attempts:
            seeds = list(seeds0)
            if width is not None:
                seeds += [Seed(t, {}, limit=width) for t in tables]
                widened.append(f"first {width} rows of {', '.join(tables)}")
            try:
                got = extract(
                    db,
                    seeds,
                    children=plan.children,
                    rules=fconf.anonymize,
                    key=key,
                    caps=caps,
                    meta={"exchange": ex.id, "route": route},
                    sanitize=sanitize,
                    identity=identity,
                )
            except ClosureTooLarge as e:
                if fx is None:
                    raise
                print(f"amber: note: widening stopped: {e}", file=sys.stderr)
                break
            audit(got)
            fx = got
            if reproducer is None:
                break
            verdict = reproducer.verify(fx)
            print(
                f"amber: verify ({sum(fx.row_counts.values())} rows): {verdict.explain()}",
                file=sys.stderr,
            )
            if verdict.reproduced:
                break
            if verdict.outcome.kind == "setup":
                # amber's side (a credential amber.yaml does not declare, a login that
                # failed): more rows cannot change that
                print(
                    "amber: note: not widened: the request never reached the app (the test's "
                    "own set-up failed), so more rows cannot make it reproduce; fix what it "
                    "says (e.g. declare testing.identity in amber.yaml) and run again",
                    file=sys.stderr,
                )
                break
        if fx is None:  # no seeds and no widening (--widen-max 0)
            raise FixtureError(
                f"no seed rows for {ex.request.method} {ex.request.path}: add a rule under "
                "fixtures.rules in amber.yaml, or let amber widen (--widen-max N)"
            )
    rows_found = sum(fx.row_counts.values())
    rep = Reproduction(fx, verdict, rows_found, widened)
    if widened and verdict is not None:
        fx.notes.append(
            "widened until the recording reproduced: " + "; ".join(widened)
            if verdict.reproduced
            else "widened up to the cap without reproducing: " + "; ".join(widened)
        )
    if reproducer is not None and verdict is not None and verdict.reproduced and budget:
        from amber.testing import shrink

        rep.shrunk = shrink(reproducer, fx, budget=budget, rows=reproducer.rows_shrinkable)
        rep.fixture = rep.shrunk.fixture
        rep.request = rep.shrunk.request
        print(f"amber: {rep.shrunk.note()}", file=sys.stderr)
    rep.fixture.write(output)
    for n in rep.fixture.notes:
        print(f"amber: note: {n}", file=sys.stderr)
    return rep


def run(args: argparse.Namespace) -> int:
    """The store is only read; the output path is checked before the source is read."""
    config, store = open_from_args(args, read_only=True)
    with store:
        ex = store.get(args.id)
    out = Path(args.output or f"fixtures/{ex.id}.yaml")
    writable_file(str(out), "-o", make_parents=True)
    source = resolve_source(config, args.source_db)
    guard_source(source, args.reason)
    reproducer = None
    if args.verify:
        section = config.section("testgen")
        app = args.app or section.get("app")
        base_url = None if app else args.base_url or section.get("base_url")
        if not app and not base_url:
            raise UsageError(
                "--verify runs the request against the build that failed: pass --app "
                "MODULE:ATTR (in-process; or testgen.app in amber.yaml), or --base-url URL "
                "with --verify-db-url (a served build and the database it reads)"
            )
        reproducer = make_reproducer(
            config,
            ex,
            app=str(app or ""),
            base_url=base_url,
            db_env=args.db_env or section.get("db_env"),
            timeout=args.verify_timeout,
            app_python=args.app_python,
            fresh_process=args.fresh_process,
            verify_db_url=args.verify_db_url,
        )
    try:
        rep = reproduce(
            config,
            ex,
            source,
            out,
            reason=args.reason,
            max_rows=args.max_rows,
            audit_log=args.audit_log,
            argv=args.argv,
            reproducer=reproducer,
            widen_max=args.widen_max,
            trace=not args.no_trace,
        )
    finally:
        if reproducer is not None:
            reproducer.close()
    fx = rep.fixture
    counts = ", ".join(f"{t} {n}" for t, n in fx.row_counts.items())
    print(f"wrote {out}: {sum(fx.row_counts.values())} rows ({counts})")
    if reproducer is not None:
        print(rep.summary())
        if rep.verdict is None or not rep.verdict.reproduced:
            return 1
    return 0


COMMAND = Command(
    name="fixtures",
    help="extract the anonymized database rows a captured request depends on",
    register=register,
    run=run,
    description="Connect read-only to the source database, select the rows the request "
    "reads (rules in amber.yaml, or a printed proposal), add every parent row they reference, "
    "pseudonymize them with the capture key (AMBER_KEY) and write a YAML fixture.",
)
