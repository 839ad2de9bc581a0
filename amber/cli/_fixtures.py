"""`amber fixtures ID --source-db URL`: extract the anonymized DB rows of a captured request."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

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
from amber.errors import FixtureError

if TYPE_CHECKING:
    from amber.fixtures import Fixture


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
) -> Fixture:
    """Seeds (rule or printed proposal), extraction, YAML file (0600) and audit record.

    The caller has resolved `source` and checked it (`guard_source`)."""
    import dataclasses

    from amber.fixtures import FixturesConfig
    from amber.fixtures import Source
    from amber.fixtures import audit_record
    from amber.fixtures import extract
    from amber.fixtures import plan_for

    fconf = config.with_key(
        "fixtures", lambda: FixturesConfig.from_mapping(config.section("fixtures"))
    )
    caps = fconf.caps if not max_rows else dataclasses.replace(fconf.caps, max_rows=max_rows)
    key = load_key()
    with Source(source.url, caps) as db:
        plan = plan_for(ex, fconf, db)
        for n in plan.notes:
            print(f"amber: note: {n}", file=sys.stderr)
        if not plan.seeds:
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
        route = f"{ex.request.method} {ex.route}" if ex.route else ex.request.path
        fx = extract(
            db,
            plan.seeds,
            children=plan.children,
            rules=fconf.anonymize,
            key=key,
            caps=caps,
            meta={"exchange": ex.id, "route": route},
        )
    fx.write(output)
    log = audit_log or fconf.audit_log or audit_path(config.section("audit"))
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
    for n in fx.notes:
        print(f"amber: note: {n}", file=sys.stderr)
    return fx


def run(args: argparse.Namespace) -> int:
    """The store is only read; the output path is checked before the source is read."""
    config, store = open_from_args(args, read_only=True)
    with store:
        ex = store.get(args.id)
    out = Path(args.output or f"fixtures/{ex.id}.yaml")
    writable_file(str(out), "-o", make_parents=True)
    source = resolve_source(config, args.source_db)
    guard_source(source, args.reason)
    fx = extract_for_exchange(
        config,
        ex,
        source,
        out,
        reason=args.reason,
        max_rows=args.max_rows,
        audit_log=args.audit_log,
        argv=args.argv,
    )
    counts = ", ".join(f"{t} {n}" for t, n in fx.row_counts.items())
    print(f"wrote {out}: {sum(fx.row_counts.values())} rows ({counts})")
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
