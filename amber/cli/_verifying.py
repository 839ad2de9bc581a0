"""The flags and defaults of verifying a fixture against the app (`amber fixtures --verify`,
gen-test, shrink) and the `Reproducer` they make."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING
from typing import Any

from amber._config import Config
from amber._model import Exchange
from amber._pseudonym import load_key
from amber._urls import hide_passwords
from amber.errors import UsageError

if TYPE_CHECKING:
    from amber.testing import Reproducer

WIDEN_MAX = 1000
"""Rows per table a fixture is widened to, at most, when it does not reproduce."""


APP_PYTHON_ENV = "AMBER_APP_PYTHON"
"""The default of --app-python (verify in the app's own interpreter)."""

VERIFY_DB_URL_ENV = "AMBER_VERIFY_DB_URL"
"""The default of --verify-db-url (the database verify runs load fixtures into)."""


def make_reproducer(
    config: Config,
    ex: Exchange,
    *,
    app: str,
    db_env: str | None,
    noise: Any = None,
    expect_status: int | None = None,
    expect_json: Any = None,
    timeout: float = 30.0,
    expect: Any = None,
    app_python: str | None = None,
    fresh_process: bool = False,
    verify_db_url: str | None = None,
    base_url: str | None = None,
) -> Reproducer:
    """A `Reproducer` for `ex` with the capture's sanitizer (amber.yaml `sanitize:` and
    `AMBER_KEY`), the tests' credentials (`testing.identity`, else `testgen.auth`) and the
    route's `testing.expect` entry (`expect`: that config's, unless given). Each run goes
    to a fresh child process of `app_python` (else `AMBER_APP_PYTHON`, else
    `testgen.app_python`; this interpreter with `fresh_process`), or in-process; each
    run's fixture is loaded into `verify_db_url` (else `AMBER_VERIFY_DB_URL`, else
    `testgen.verify_db_url`) or into a fresh SQLite file. With `base_url` each run's
    request goes to that served build instead (`served_build` checks it is not production),
    and the fixture into `verify_db_url`, the database it reads."""
    from amber._pseudonym import Pseudonymizer
    from amber.sanitize import SanitizeConfig
    from amber.sanitize import Sanitizer
    from amber.sanitize import TargetSanitizer
    from amber.testing import Reproducer
    from amber.testing import database_settings

    scfg = config.with_key(
        "sanitize", lambda: SanitizeConfig.from_mapping(config.section("sanitize"))
    )
    ts = TargetSanitizer(Sanitizer(scfg, Pseudonymizer(load_key())))
    # the generated test's credentials: testing.identity (its headers/hook as replay.auth
    # reads them, its values for the placeholders), else the deprecated testgen.auth
    from amber._identity import identity_from_config
    from amber.replay import Auth

    identity = identity_from_config(config)
    auth = None
    if identity is not None and identity.extra:
        auth = Auth.from_mapping(dict(identity.extra), key="testing.identity")
    elif spec := config.section("testgen").get("auth"):
        auth = Auth.from_mapping(spec, key="testgen.auth")
    if expect is None:
        from amber.testing import config_defaults

        expect = config_defaults(config, ex)["expect"]
    return Reproducer(
        ex,
        app,
        db_env,
        ts,
        auth=auth,
        identity=identity,
        noise=noise,
        expect_status=expect_status,
        expect_json=expect_json,
        timeout=timeout,
        app_python=app_python_of(config, app_python, fresh_process),
        config_path=config.path,
        expect=expect,
        database=database_settings(config),  # the file the app opens, the env var's form
        db_url=verify_db_url_of(config, verify_db_url),
        base_url=served_build(config, base_url) if base_url else None,
    )


def served_build(config: Config, url: str) -> str:
    """`url` as the served build verify sends requests to (URL-mode verify). Verify sends the
    recorded request, writes included, as often as shrinking needs, to a build whose
    database gets the fixture's rows: never a target amber.yaml labels production, under any
    spelling of its URL. *Raises:* `UsageError`."""
    from amber._audit import PRODUCTION
    from amber.replay import resolve_target

    target = resolve_target(config, url)
    if target.label == PRODUCTION:
        raise UsageError(
            f"--base-url {hide_passwords(url)} is production target {target.name!r} in "
            "amber.yaml: verify sends the recorded request there as often as shrinking "
            "needs and loads fixture rows into its database; give a staging or local build"
        )
    return target.url


def verify_db_url_of(config: Config, flag: str | None) -> str | None:
    """The database verify runs load fixtures into (`make_reproducer`); None: a fresh
    SQLite file per run."""
    found = (
        flag or os.environ.get(VERIFY_DB_URL_ENV) or config.section("testgen").get("verify_db_url")
    )
    return str(found) if found else None


def app_python_of(config: Config, flag: str | None, fresh_process: bool) -> str | None:
    """The interpreter verify runs run in (`make_reproducer`), None for in-process."""
    found = flag or os.environ.get(APP_PYTHON_ENV) or config.section("testgen").get("app_python")
    if found:
        return str(found)
    return sys.executable if fresh_process else None


def add_verify_args(p: argparse.ArgumentParser, *, gen_test: bool, widen: bool = True) -> None:
    """The flags of verifying (and, for gen-test, shrinking) a fixture."""
    if not gen_test:
        p.add_argument(
            "--verify",
            action="store_true",
            help="load the fixture into a fresh SQLite database, run the request against the "
            "in-process app (--app) and check that it fails as recorded; widen it until it "
            "does (exit status 1 when it never does)",
        )
        p.add_argument(
            "--app",
            metavar="MODULE:ATTR",
            help="the in-process WSGI/ASGI app or factory to verify against (default: "
            "testgen.app in amber.yaml)",
        )
        p.add_argument(
            "--db-env",
            metavar="NAME",
            help="environment variable through which the app reads its database URL "
            "(default: testgen.db_env)",
        )
        add_base_url_arg(p)
    if widen:
        add_widen_arg(p)
    p.add_argument(
        "--app-python",
        metavar="PYTHON",
        help="run the app for verification in a fresh child process of this interpreter (the "
        "python of the app's virtual environment, which needs only amber's test runtime: pip "
        f"install amber) instead of in amber's own process (default: ${APP_PYTHON_ENV}, else "
        "testgen.app_python in amber.yaml)",
    )
    p.add_argument(
        "--fresh-process",
        action="store_true",
        help="run the app for verification in a fresh child process of amber's own "
        "interpreter per run (for an app whose factory cannot build it twice in one process)",
    )
    p.add_argument(
        "--verify-db-url",
        metavar="URL",
        help="load each verification run's fixture into this database (merged with what is "
        "there, as the generated test's --amber-db-url, the rows it inserted removed after "
        "the run) and point the app at it, instead of a fresh SQLite file: for an app whose "
        "schema comes from its own migrations, or that needs PostgreSQL. Prepare it as for "
        "the tests (the app's migrations applied); never the source database (default: "
        f"${VERIFY_DB_URL_ENV}, else testgen.verify_db_url in amber.yaml)",
    )
    p.add_argument(
        "--verify-timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="seconds one verification run may take before it counts as hung (default 30)",
    )


def add_base_url_arg(p: argparse.ArgumentParser) -> None:
    """--base-url for the commands that verify but write no test (fixtures, shrink)."""
    p.add_argument(
        "--base-url",
        metavar="URL",
        help="verify against this served build (the build that failed, running) instead of "
        "an in-process app: each run loads the fixture into --verify-db-url, the database "
        "that build reads, and sends the request over HTTP (no SQL trace there; rules, id "
        "guesses and widening apply). Never a target labelled production (default: "
        "testgen.base_url in amber.yaml)",
    )


def add_widen_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--no-trace",
        action="store_true",
        help="do not record the SQL the request runs (on a snapshot copy of an SQLite "
        "source; on a PostgreSQL source itself, in read-only transactions, psycopg and "
        "psycopg2 apps) to seed the fixture with the rows it reads; use only the rules, id "
        "guesses and widening",
    )
    p.add_argument(
        "--widen-max",
        type=int,
        default=WIDEN_MAX,
        metavar="N",
        help="when the fixture does not reproduce the recording, add the first 10, 100, ... "
        f"up to N rows of each table the request reads (default {WIDEN_MAX}; 0: never widen)",
    )
