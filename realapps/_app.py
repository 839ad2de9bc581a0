"""What one corpus entry declares, and the registry of entries."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path


@dataclass(frozen=True)
class Request:
    """The request that triggers the bug (sent through ``amber capture``)."""

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None


@dataclass(frozen=True)
class Postgres:
    """An entry whose databases are PostgreSQL: the source database and one test database
    per release, created on the server of ``$AMBER_TEST_PG_URL`` (``eval "$(.ci/pg-up)"``)
    and dropped after the run; without that variable the entry is skipped.

    Each callable returns a command run in a release's venv with the glue on
    ``PYTHONPATH`` and the database's URL in the entry's ``db_env``: ``migrate`` builds a
    database's schema with the app's own tooling (every database), ``seed`` writes the
    source rows (after ``migrate``), ``serve(python, port)`` serves the build on
    127.0.0.1:port. The entry's ``seed``/``serve`` (SQLite) are then not used."""

    migrate: Callable[[Path], list[str]]
    seed: Callable[[Path], list[str]]
    serve: Callable[[Path, int], list[str]]


@dataclass(frozen=True)
class RealApp:
    """One real bug in one unmodified app from PyPI.

    - ``package``/``buggy``/``fixed``: the PyPI distribution and the two released versions;
      ``pins`` are extra requirements installed next to both (kept minimal: only what the
      old release needs to install on Python 3.11).
    - ``seed(path)`` writes the source database (a SQLite file) the buggy build serves.
    - ``serve(python, db, port)`` is the command that serves a build on 127.0.0.1:port.
    - ``glue`` is the text of the app-factory module (``glue_module``) the generated test
      imports in-process, ``db_env`` the variable through which it reads the database URL;
      ``None`` means URL mode (the test runs against the served build).
    - ``login`` is sent first (same client, cookies kept) when the app needs a session.
    - ``config`` is the ``amber.yaml`` the generating command runs with (documented keys only).
    - ``verify``: ``None`` when ``gen-test`` (in amber's own venv) verifies against the app
      in the buggy release's interpreter (``--app-python``); else why it cannot (gen-test
      then runs with ``--no-verify``).
    - ``postgres``: the source and test databases are PostgreSQL (``Postgres``), not
      SQLite files.
    - ``xfail`` says why amber's generated test does not reproduce the bug today (``None``:
      it does, N/N runs); the test suite marks those entries ``xfail(strict=True)``.
    """

    name: str
    summary: str
    bug: str
    framework: str
    db_layer: str
    failure: str
    package: str
    buggy: str
    fixed: str
    seed: Callable[[Path], None]
    db_name: str
    serve: Callable[[Path, Path, int], list[str]]
    request: Request
    pins: tuple[str, ...] = ()
    auth: str = "none"
    login: Request | None = None
    glue: str | None = None
    glue_module: str = "realapps_glue"
    db_env: str = "REALAPPS_DATABASE_URL"
    config: str = ""
    gen_args: tuple[str, ...] = ()
    verify: str | None = None
    xfail: str | None = None
    postgres: Postgres | None = None

    @property
    def app_spec(self) -> str:
        return f"{self.glue_module}:create_app"

    @property
    def glue_lines(self) -> int:
        """Non-blank, non-comment lines of glue: the factory plus amber.yaml."""
        text = (self.glue or "") + "\n" + self.config
        return sum(1 for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#"))


def all_apps() -> dict[str, RealApp]:
    """Every entry of ``realapps/apps``, by name (each module defines ``APP``)."""
    from realapps import apps

    found: dict[str, RealApp] = {}
    for info in sorted(pkgutil.iter_modules(apps.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue  # shared helpers
        mod = importlib.import_module(f"realapps.apps.{info.name}")
        app: RealApp = mod.APP
        found[app.name] = app
    return found


def get_app(name: str) -> RealApp:
    apps = all_apps()
    if name not in apps:
        raise SystemExit(f"realapps: no app {name!r}; known: {', '.join(sorted(apps))}")
    return apps[name]
