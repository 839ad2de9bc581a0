"""The test database of a pytest session: one SQLite file, rebuilt before each test.

Creating a fixture's tables costs several milliseconds, building an app about ten,
copying a schema or restoring a database well under one, inserting a small fixture's rows
about one: schemas are created once per session (`TemplateBuilder`), fixtures used again
are restored from a template file, apps are built once and reused (see the plugin's
module docstring for what a test sees).
"""

from __future__ import annotations

import contextlib
import os
from collections import OrderedDict
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

from amber.testing._client import AppClient

if TYPE_CHECKING:
    import sqlite3

    import pytest

    from amber.testing._template import TemplateBuilder

__all__ = ["App", "Session"]


_Object = tuple[str, str, str, str]  # sqlite_master: type, name, tbl_name, sql
# (fixture file, its mtime, index of the app whose start-up objects it gets, or None)
_TemplateKey = tuple[str, int, int | None]


def _schema(conn: sqlite3.Connection, db: str = "main") -> list[_Object]:
    return conn.execute(
        f"SELECT type, name, tbl_name, sql FROM {db}.sqlite_master WHERE sql IS NOT NULL "
        "AND name NOT LIKE 'sqlite!_%' ESCAPE '!' ORDER BY rowid"
    ).fetchall()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _copy_db(src: Path, dst: Path) -> None:
    import sqlite3

    a = sqlite3.connect(src)
    b = sqlite3.connect(dst)
    try:
        a.backup(b)
    finally:
        b.close()
        a.close()


def _add_startup(conn: sqlite3.Connection, startup: Path, objects: list[_Object]) -> None:
    """Add the app's start-up objects to `conn`'s database (autocommit mode) wherever it
    lacks their table: tables are created with the rows the start-up wrote, then their
    indexes, triggers and views."""
    import sqlite3

    conn.execute("ATTACH DATABASE ? AS amber_startup", (str(startup),))
    try:
        conn.execute("BEGIN")
        present = {name for _, name, _, _ in _schema(conn)}
        created: list[str] = []
        for kind, name, _, sql in objects:
            if kind != "table" or name in present:
                continue
            conn.execute(sql)
            created.append(name)
            present = {n for _, n, _, _ in _schema(conn)}  # a virtual table adds shadows
        for name in created:
            cols = ", ".join(
                _quote(r[1])
                for r in conn.execute(f"PRAGMA amber_startup.table_xinfo({_quote(name)})")
                if r[6] == 0
            )
            conn.execute(
                f"INSERT INTO main.{_quote(name)} ({cols}) "
                f"SELECT {cols} FROM amber_startup.{_quote(name)}"
            )
        for kind, name, table, sql in objects:
            if kind == "table" or name in present or (kind != "view" and table not in created):
                continue
            conn.execute("SAVEPOINT amber_object")
            try:
                conn.execute(sql)
            except sqlite3.Error:  # e.g. a view of a table this fixture lacks
                conn.execute("ROLLBACK TO amber_object")
            conn.execute("RELEASE amber_object")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    finally:
        conn.execute("DETACH DATABASE amber_startup")


@dataclass
class App:
    app: Any
    index: int
    startup: list[_Object] = field(default_factory=list)  # what its start-up created
    startup_db: Path | None = None  # the database right after its start-up
    clients: dict[int, AppClient] = field(default_factory=dict)  # by id(auth)

    @property
    def adds_to_fixtures(self) -> bool:
        """Whether its start-up created objects that tests' databases get."""
        return bool(self.startup) and self.startup_db is not None


class Session:
    """A pytest session's amber state: the test database, its templates, apps, clients."""

    _SOURCES = 8  # template connections kept open for restores

    def __init__(self) -> None:
        self._root: Path | None = None
        self._made_root = False
        self.templates: dict[_TemplateKey, Path] = {}  # fixture (+ app start-up) -> file
        self._built_once: set[_TemplateKey] = set()  # built in place once, no file yet
        self._builder: TemplateBuilder | None = None
        self.apps: dict[tuple[Any, ...], App] = {}
        self.url_clients: dict[tuple[str, int], AppClient] = {}
        self._target: sqlite3.Connection | None = None
        self._sources: OrderedDict[Path, sqlite3.Connection] = OrderedDict()
        self._files = 0

    def root(self, factory: pytest.TempPathFactory) -> Path:
        """Where the test database lives: in memory-backed /dev/shm when there is one (every
        test commits, and fsyncs to a disk cost more than the test), else pytest's tmp."""
        if self._root is None:
            shm = Path("/dev/shm")
            if shm.is_dir() and os.access(shm, os.W_OK):
                import tempfile

                self._root = Path(tempfile.mkdtemp(prefix="amber-pytest-", dir=shm))
                self._made_root = True
            else:
                self._root = factory.getbasetemp() / "amber"
                self._root.mkdir(exist_ok=True)
        return self._root

    def db_file(self, factory: pytest.TempPathFactory) -> Path:
        return self.root(factory) / "amber-test.db"

    def _new_file(self, kind: str, factory: pytest.TempPathFactory) -> Path:
        self._files += 1
        return self.root(factory) / f"{kind}-{self._files}.db"

    def _build(
        self, fixture: Path | None, app: App | None, dest: Path | sqlite3.Connection
    ) -> None:
        """Make `dest` hold `fixture`'s rows (none without a fixture), plus, when `app` is
        given, what its start-up created where the fixture lacks it."""
        from amber.fixtures import Fixture
        from amber.testing._template import TemplateBuilder

        if self._builder is None:
            self._builder = TemplateBuilder()
        fx = Fixture.read(fixture) if fixture is not None else Fixture([], {})
        if app is None or not app.adds_to_fixtures:
            self._builder.build(fx, dest)
            return
        startup_db, objects = app.startup_db, app.startup
        assert startup_db is not None

        def extend(conn: sqlite3.Connection) -> None:
            _add_startup(conn, startup_db, objects)

        self._builder.build(fx, dest, variant=app.index, extend=extend)

    @staticmethod
    def _key(fixture: Path | None, app: App | None) -> _TemplateKey:
        return (
            str(fixture),
            fixture.stat().st_mtime_ns if fixture else 0,
            app.index if app is not None and app.adds_to_fixtures else None,
        )

    def template(
        self, fixture: Path | None, factory: pytest.TempPathFactory, app: App | None = None
    ) -> Path:
        """A database file holding `fixture`'s rows (none without a fixture), plus, when
        `app` is given, what its start-up created where the fixture lacks it (added to the
        fixture's schema once, not per fixture)."""
        key = self._key(fixture, app)
        found = self.templates.get(key)
        if found is None:
            found = self._new_file("fixture", factory)
            self._build(fixture, app, found)
            self.templates[key] = found
        return found

    def load(self, fixture: Path | None, app: App | None, factory: pytest.TempPathFactory) -> None:
        """Make the test database hold `template(fixture, app)`'s content: the first time a
        fixture is asked for, built in place (most fixtures serve one test); from the
        second on, restored from a template file built for it."""
        key = self._key(fixture, app)
        if key in self.templates or key in self._built_once:
            self.restore(self.template(fixture, factory, app), factory)
            return
        self._built_once.add(key)
        self._build(fixture, app, self.target(factory))

    def restore(self, template: Path, factory: pytest.TempPathFactory) -> None:
        """Make the test database a copy of `template` (SQLite's online backup: connections
        the app holds stay valid and see the new contents)."""
        import sqlite3

        src = self._sources.get(template)
        if src is None:
            src = self._sources[template] = sqlite3.connect(template, check_same_thread=False)
            while len(self._sources) > self._SOURCES:
                self._sources.popitem(last=False)[1].close()
        else:
            self._sources.move_to_end(template)
        src.backup(self.target(factory))

    def target(self, factory: pytest.TempPathFactory) -> sqlite3.Connection:
        """The session's own connection to the test database."""
        if self._target is None:
            import sqlite3

            self._target = sqlite3.connect(self.db_file(factory), check_same_thread=False)
        return self._target

    def record_startup(self, app: App, base: Path, factory: pytest.TempPathFactory) -> None:
        """Note what `app`'s start-up added to the test database restored from `base`."""
        import sqlite3

        conn = sqlite3.connect(base)
        try:
            known = {(kind, name) for kind, name, _, _ in _schema(conn)}
        finally:
            conn.close()
        conn = sqlite3.connect(self.db_file(factory))
        try:
            app.startup = [o for o in _schema(conn) if (o[0], o[1]) not in known]
        finally:
            conn.close()
        if app.startup:
            app.startup_db = self._new_file("startup", factory)
            _copy_db(self.db_file(factory), app.startup_db)

    def close(self) -> None:
        for clients in [
            *(a.clients.values() for a in self.apps.values()),
            self.url_clients.values(),
        ]:
            for client in clients:
                with contextlib.suppress(Exception):
                    client.close()
        self.apps.clear()
        self.url_clients.clear()
        for conn in [*self._sources.values(), *filter(None, [self._target])]:
            conn.close()
        self._sources.clear()
        self._target = None
        if self._builder is not None:
            self._builder.close()
            self._builder = None
        if self._made_root and self._root is not None:
            import shutil

            shutil.rmtree(self._root, ignore_errors=True)
