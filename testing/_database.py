"""The test database of a pytest session: one SQLite file, rebuilt before each test.

Creating a fixture's tables costs several milliseconds, building an app about ten,
copying a schema or restoring a database well under one, inserting a small fixture's rows
about one: schemas are created once per session (`TemplateBuilder`), fixtures used again
are restored from a template file, apps are built once and reused (see the plugin's
module docstring for what a test sees).

**At a given path** (`--amber-db-path`, `AMBER_TEST_DB_PATH`, ini `amber_db_path`: relative
to pytest's rootdir; amber.yaml `testing.database.path`: relative to its folder): the test
database is made at that file instead of a temporary one, for an app that opens a fixed
file (`data/app.db`) rather than reading a URL. amber never overwrites a file there that
is not its own test database (`DbFile`: a marker file next to it, `app.db.amber-test`,
says it is and which process uses it): the session refuses, saying what to do. The
database, its SQLite side files, the marker and the folders amber created are removed when
the session ends; what a session that did not end left is taken over by the next one.
Under pytest-xdist each worker gets `app-gw0.db`, `app-gw1.db`... when the app reads its
database from `db_env`; an app that opens the one fixed file cannot run in parallel, and
its tests say so.

**The env var's form** (`--amber-db-form`, `AMBER_TEST_DB_FORM`, ini `amber_db_form`,
`testing.database.env_form`): `url` (the default) puts `sqlite:////abs/file.db` in the
`db_env` variable, `path` puts `/abs/file.db`, for an app that reads `APP_DB=/path/file.db`.
"""

from __future__ import annotations

import contextlib
import functools
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

__all__ = [
    "ENV_FORMS",
    "App",
    "DatabaseSettings",
    "DbFile",
    "Session",
    "database_settings",
    "env_value",
    "session_database",
    "worker_path",
]

ENV_FORMS = ("url", "path")
"""How the app's database env var holds the test database: `sqlite:///FILE` or `FILE`."""
MARKER_SUFFIX = ".amber-test"
"""The file next to a test database at a given path that says amber made it (and which
process uses it): without it, an existing file there is the user's, and never touched."""
_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


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


@dataclass(frozen=True)
class DatabaseSettings:
    """Where the in-process app's test database lives and how its env var names it.

    `path`: a file the app opens itself (absolute; None: a temporary file of amber's);
    `env_form`: `url` (`sqlite:////abs/file.db`) or `path` (`/abs/file.db`)."""

    path: Path | None = None
    env_form: str = "url"


def database_settings(config: Any) -> DatabaseSettings:
    """amber.yaml's `testing.database` (checked when the file was loaded): `path` relative
    to the amber.yaml's folder (to the working directory without one)."""
    section = config.section("testing").get("database") or {}
    path = section.get("path")
    base = Path(config.path).resolve().parent if config.path else Path.cwd()
    return DatabaseSettings(
        path=(base / str(path)) if path else None,
        env_form=str(section.get("env_form") or "url"),
    )


def env_value(url: str, form: str) -> str:
    """The database env var's value for the SQLite database at `url`: the URL itself, or
    (`form` `path`) its file. *Raises:* `UsageError` for `path` and a non-SQLite URL."""
    if form != "path":
        return url
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        from amber.errors import UsageError

        raise UsageError(
            f"testing.database.env_form is path but the test database is not an SQLite "
            f"file ({url.split('://')[0]}://...): use env_form: url for a database server"
        )
    return url[len(prefix) :].split("?", 1)[0]


def worker_path(path: Path, worker: str) -> Path:
    """`data/app.db` for the pytest-xdist worker `gw1`: `data/app-gw1.db`."""
    return path.with_name(f"{path.stem}-{worker}{path.suffix}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


class DbFile:
    """A test database at a path the user gave, owned by this process until `release`.

    `claim()` refuses (`UsageError`, saying what to do) a file that exists and is not
    amber's test database (no marker file next to it), and one another live process uses;
    it takes over what a crashed session left. `release()` removes the database, its
    SQLite side files, the marker and the folders it created."""

    def __init__(self, path: Path) -> None:
        self.path = path.absolute()
        self.marker = self.path.with_name(self.path.name + MARKER_SUFFIX)
        self._made_dirs: list[Path] = []
        self.claimed = False

    def _files(self) -> list[Path]:
        return [self.path, *(self.path.with_name(self.path.name + s) for s in _SQLITE_SIDE_FILES)]

    def _owner(self) -> dict[str, Any] | None:
        import json

        try:
            data = json.loads(self.marker.read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def claim(self) -> Path:
        import json
        import socket

        from amber.errors import UsageError

        if self.claimed:
            return self.path
        host = socket.gethostname()
        if self.marker.exists():
            owner = self._owner() or {}
            pid = owner.get("pid")
            if (
                not isinstance(pid, int)
                or owner.get("host") != host
                or (pid != os.getpid() and _pid_alive(pid))
            ):
                raise UsageError(
                    f"the test database {self.path} is in use by another amber session "
                    f"(process {pid} on {owner.get('host', '?')}, says {self.marker}): run "
                    "one session at a time on a given database path, or let the app read "
                    "its database from an environment variable (testgen.db_env) so that "
                    "each session gets a file of its own; delete the marker if that "
                    "process is gone"
                )
            for f in self._files():  # what a session that did not end left behind
                f.unlink(missing_ok=True)
            self.marker.unlink(missing_ok=True)
        elif any(f.exists() for f in self._files()):
            raise UsageError(
                f"{self.path} exists and is not amber's test database: amber never "
                "overwrites it. Move it away (it may be your app's own data), or set "
                "testing.database.path (pytest: --amber-db-path) to a file that does not "
                "exist: amber creates it for the tests and removes it after them"
            )
        missing = []
        parent = self.path.parent
        while not parent.exists():
            missing.append(parent)
            parent = parent.parent
        for d in reversed(missing):
            d.mkdir()
            self._made_dirs.append(d)
        try:
            fd = os.open(self.marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another session got there first
            raise UsageError(
                f"the test database {self.path} was claimed by another amber session just "
                "now: run one session at a time on a given database path"
            ) from None
        with os.fdopen(fd, "w") as fp:
            json.dump({"pid": os.getpid(), "host": host, "by": "amber test database"}, fp)
        self.claimed = True
        return self.path

    def release(self) -> None:
        if not self.claimed:
            return
        self.claimed = False
        for f in self._files():
            f.unlink(missing_ok=True)
        self.marker.unlink(missing_ok=True)
        for d in reversed(self._made_dirs):
            with contextlib.suppress(OSError):  # not empty: the app wrote more there
                d.rmdir()
        self._made_dirs.clear()


def session_database(config: pytest.Config, db_env: str | None) -> DatabaseSettings:
    """The test database's path and env form: option, else environment, else ini, else
    amber.yaml's `testing.database` (the first three relative to the rootdir). Under
    pytest-xdist, a path is made per worker when the app reads it from `db_env`."""
    import pytest

    from_yaml = _database_cached(os.getcwd(), os.environ.get("AMBER_CONFIG", ""))
    path: Path | None = from_yaml.path
    given = (
        config.getoption("--amber-db-path", default=None)
        or os.environ.get("AMBER_TEST_DB_PATH")
        or config.getini("amber_db_path")
    )
    if given:
        path = config.rootpath / str(given)
    form = (
        config.getoption("--amber-db-form", default=None)
        or os.environ.get("AMBER_TEST_DB_FORM")
        or config.getini("amber_db_form")
        or from_yaml.env_form
    )
    if form not in ENV_FORMS:
        pytest.fail(
            f"amber: the database env form is {form!r}: use url (sqlite:///FILE) or path (FILE)",
            pytrace=False,
        )
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if path is not None and worker and int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
        if not db_env:
            pytest.fail(
                f"amber: the app opens the one file {path}, which parallel pytest-xdist "
                "workers cannot share: run with -n 0, or let the app read its database "
                "path from an environment variable (--amber-db-env NAME with "
                "--amber-db-form path): each worker then gets a file of its own",
                pytrace=False,
            )
        path = worker_path(path, worker)
    return DatabaseSettings(path=path, env_form=str(form))


@functools.lru_cache(maxsize=8)
def _database_cached(cwd: str, env_config: str) -> DatabaseSettings:
    import pytest

    from amber._config import find_config
    from amber.errors import ConfigError

    try:
        return database_settings(find_config())
    except ConfigError as e:
        pytest.fail(f"amber: {e}", pytrace=False)


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
        self.fixed: DbFile | None = None  # the test database at a path the user gave

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
        """The test database: the file at the path the user gave (claimed on first use:
        see `DbFile`), else `amber-test.db` in the session's folder."""
        if self.fixed is not None:
            return self.fixed.claim()
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
        if self.fixed is not None:
            self.fixed.release()
        if self._made_root and self._root is not None:
            import shutil

            shutil.rmtree(self._root, ignore_errors=True)
