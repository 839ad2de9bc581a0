"""amber's one pytest plugin (registered through the `pytest11` entry point).

It gives generated tests `amber_client` and `amber_captured_at`, and hand-written tests
`amber_db` (load a fixture file, removed after the test) with its `amber_fixture` marker.

Generated regression tests ask for `amber_client`: an httpx client that reaches the app
under test either in-process (a WSGI or ASGI app, or a factory returning one) or by URL,
after loading the test's database fixture. Settings, highest priority first: command-line
options, environment variables, the test's `@pytest.mark.amber(...)` marker, and the
`testgen:` section of amber.yaml (`database.*`: ini options, then `testing.database`).

| option | env | marker, amber.yaml | meaning |
|---|---|---|---|
| `--amber-app M:ATTR` | `AMBER_TEST_APP` | `app` | in-process WSGI/ASGI app or factory |
| `--amber-base-url URL` | `AMBER_TEST_BASE_URL` | `base_url` | a running build instead |
| `--amber-db-url URL` | `AMBER_TEST_DATABASE_URL` | `db_url` | where fixtures load (1) |
| `--amber-db-env NAME` | `AMBER_TEST_DB_ENV` | `db_env` | env var with the app's DB URL |
| `--amber-db-path FILE` | `AMBER_TEST_DB_PATH` | `database.path` (3) | the file the app opens |
| `--amber-db-form F` | `AMBER_TEST_DB_FORM` | `database.env_form` | `url` or `path` (4) |
| `--amber-fresh-app` | `AMBER_TEST_FRESH_APP` | `fresh_app` | build the app for every test (2) |
| `--amber-update` | `AMBER_UPDATE_SNAPSHOTS` | | re-record expected responses |

(1) In-process, the default is one SQLite file per session, rebuilt before each test: every
test starts from exactly its fixture's rows, whatever the tests before it wrote. The tables
of each distinct schema are created once per session and copied in (SQLite's backup API),
then the fixture's rows are inserted; a fixture that serves more than one test is built
once into a template file that later tests are restored from.

(3) The session's SQLite test database at this path instead of a temporary file, for an app
that opens a fixed file (`data/app.db`); (4) what the `db_env` variable holds: `url`
(`sqlite:////abs/file.db`, the default) or `path` (`/abs/file.db`). See
`amber.testing._database` (safety, clean-up, pytest-xdist) and docs/testing.md.

(2) In-process apps are built once per session and environment (a test that changes the
environment gets an app of its own) and reused, with one httpx client each whose cookies are
cleared between tests; ASGI apps keep one event loop, so loop-bound resources (async
database pools) survive from one request to the next. The app is built on an empty
database, and what its start-up wrote there (the tables it creates, with their rows, and
their indexes, triggers and views) is added to every test's database wherever the fixture
lacks that table, as a start-up creating missing tables would do, so each test starts
from its fixture plus the app's start-up whichever test built the app. Apps that keep state
in memory between requests, or whose start-up changes tables a fixture holds, want
`fresh_app`: the app is then built for each test, after its fixture is loaded (slower).

Credentials: a generated request holds placeholders where the capture masked credentials;
the client fills them from `testing.identity` in amber.yaml (logging in first when the
test's marker says `login=True` or its bearer comes from the login), and applies the
identity's `headers`/`hook` (the deprecated `testgen.auth` still works, with a warning).

The clock: during each test `AMBER_CAPTURED_AT` holds the capture time (ISO 8601, UTC) and
the `amber_captured_at` fixture returns it as a `datetime`, for apps or conftests that pin
"now" (e.g. with time-machine or freezegun).

Nothing heavy is imported until a test asks for `amber_client`: pytest sessions that never
use amber do not pay for httpx, asyncio or SQLite here.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

import pytest

from amber.testing._client import AppClient
from amber.testing._client import load_app
from amber.testing._database import ENV_FORMS
from amber.testing._database import App
from amber.testing._database import DatabaseSettings
from amber.testing._database import DbFile
from amber.testing._database import Session
from amber.testing._database import env_value
from amber.testing._database import session_database
from amber.testing._snapshot import UPDATE_ENV

if TYPE_CHECKING:  # imported when a test asks for them: pytest start-up does not pay
    from amber._identity import TestIdentity
    from amber.fixtures import Fixture
    from amber.fixtures import LoadedFixture

__all__ = [
    "amber_captured_at",
    "amber_client",
    "amber_db",
    "amber_db_url",
    "pytest_addoption",
    "pytest_collection_finish",
    "pytest_configure",
    "pytest_terminal_summary",
]

DB_URL_ENV = "AMBER_TEST_DATABASE_URL"


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("amber", "amber regression tests")
    g.addoption(
        "--amber-app",
        metavar="MODULE:ATTR",
        help="in-process WSGI/ASGI app (or a factory) the generated tests call",
    )
    g.addoption(
        "--amber-base-url",
        metavar="URL",
        help="send generated tests' requests to this running build instead",
    )
    g.addoption(
        "--amber-db-url",
        metavar="URL",
        help=f"database the tests' fixtures are loaded into (default: ${DB_URL_ENV}, "
        "else a SQLite file of the session's)",
    )
    g.addoption(
        "--amber-db-env",
        metavar="NAME",
        help="environment variable through which the app finds its database",
    )
    g.addoption(
        "--amber-db-path",
        metavar="FILE",
        help="the SQLite file the in-process app opens (e.g. data/app.db, relative to the "
        "rootdir): the test database is made there (never over a file amber did not make) "
        "and removed after the session (default: testing.database.path in amber.yaml, "
        "else a temporary file)",
    )
    g.addoption(
        "--amber-db-form",
        choices=ENV_FORMS,
        help="what the app's database variable (db_env) holds: url (sqlite:///FILE, the "
        "default) or path (FILE)",
    )
    parser.addini("amber_db_path", "the SQLite file the in-process app opens (rootdir-relative)")
    parser.addini("amber_db_form", "url or path: what the db_env variable holds")
    g.addoption(
        "--amber-fresh-app",
        action="store_true",
        help="build the in-process app anew for every generated test instead of once per session",
    )
    g.addoption(
        "--amber-update",
        action="store_true",
        help="re-record the expected responses of generated tests",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "amber(fixture=None, captured_at=None, app=None, base_url=None, db_env=None, "
        "fresh_app=None, exchange=None, needs=None, login=None): a test generated by "
        "amber gen-test (needs: the test identity's credentials it uses; login: it logs in "
        "first)",
    )
    config.addinivalue_line(
        "markers", "amber_fixture(*paths): load these amber YAML fixtures before the test"
    )
    if config.getoption("--amber-update", default=False):
        os.environ[UPDATE_ENV] = "1"


_TRUE = ("1", "true", "yes", "on")

SNAPSHOTS_DIR = "__snapshots__"

# the snapshot files next to the session's generated tests, with their bytes at collection
_SNAPSHOTS = pytest.StashKey[tuple[set[Path], dict[Path, bytes]]]()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Note the snapshots next to the collected generated tests (`@pytest.mark.amber`), to
    report at the end which ones `--amber-update` changed and which ones no test uses."""
    dirs = {
        Path(str(item.path)).parent / SNAPSHOTS_DIR
        for item in session.items
        if item.get_closest_marker("amber") is not None
    }
    session.config.stash[_SNAPSHOTS] = (dirs, _snapshots(dirs))


def _snapshots(dirs: set[Path]) -> dict[Path, bytes]:
    return {f: f.read_bytes() for d in sorted(dirs) if d.is_dir() for f in sorted(d.glob("*.json"))}


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """`amber: N snapshots updated` after `--amber-update`; snapshots whose test file is
    gone (no `<name>.py` next to `__snapshots__/<name>.json`), always."""
    state = config.stash.get(_SNAPSHOTS, None)
    if state is None or not state[0]:
        return
    dirs, known = state
    now = _snapshots(dirs)
    if config.getoption("--amber-update", default=False):
        changed = [f for f, data in now.items() if known.get(f) != data]
        kept = len(now) - len(changed)
        terminalreporter.write_line(
            f"amber: {len(changed)} snapshot{'s' if len(changed) != 1 else ''} updated"
            + (f", {kept} unchanged" if kept else "")
        )
    unused = [f for f in now if not (f.parent.parent / f"{f.stem}.py").is_file()]
    if unused:
        shown = ", ".join(_shown(f, config) for f in unused[:10])
        more = f" and {len(unused) - 10} more" if len(unused) > 10 else ""
        terminalreporter.write_line(
            f"amber: {len(unused)} snapshot{'s' if len(unused) != 1 else ''} no test uses "
            f"(no test file of that name): {shown}{more}; delete them if their tests are gone"
        )


def _shown(path: Path, config: pytest.Config) -> str:
    try:
        return os.path.relpath(path, config.rootpath)
    except ValueError:
        return str(path)


class _Settings:
    """One test's settings: option, else environment, else marker, else amber.yaml."""

    def __init__(self, request: pytest.FixtureRequest) -> None:
        marker = request.node.get_closest_marker("amber")
        self.marker: dict[str, Any] = dict(marker.kwargs) if marker is not None else {}
        self._config = request.config
        self._section = _testgen_section()

    def get(self, name: str, env: str) -> Any:
        value = self._config.getoption(f"--amber-{name.replace('_', '-')}", default=None)
        if value:
            return value
        if os.environ.get(env):
            return os.environ[env]
        if self.marker.get(name):
            return self.marker[name]
        return self._section.get(name)

    def flag(self, name: str, env: str) -> bool:
        value = self.get(name, env)
        return value.strip().lower() in _TRUE if isinstance(value, str) else bool(value)


def _testgen_section() -> dict[str, Any]:
    """amber.yaml's `testgen:` section (read once per config file and directory)."""
    return dict(_testgen_cached(os.getcwd(), os.environ.get("AMBER_CONFIG", "")))


@functools.lru_cache(maxsize=8)
def _testgen_cached(cwd: str, env_config: str) -> tuple[tuple[str, Any], ...]:
    try:
        from amber._config import find_config

        section = find_config().section("testgen")
    except Exception:
        return ()
    return tuple(section.items())


def _identity() -> TestIdentity | None:
    """`testing.identity` from amber.yaml, or None. A bad declaration fails the test with
    the file, line and key (a test must not run as someone else)."""
    return _identity_cached(os.getcwd(), os.environ.get("AMBER_CONFIG", ""))


@functools.lru_cache(maxsize=8)
def _identity_cached(cwd: str, env_config: str) -> TestIdentity | None:
    from amber._config import find_config
    from amber._identity import identity_from_config
    from amber.errors import ConfigError

    try:
        return identity_from_config(find_config())
    except ConfigError as e:
        pytest.fail(f"amber: {e}", pytrace=False)


DEPRECATED_AUTH = (
    "amber.yaml: testgen.auth is deprecated; declare the test credentials once under "
    "testing.identity (headers and hook are accepted there too; docs/testing.md, Test identity)"
)


def _auth_from_config() -> Any:
    """The `headers`/`hook` of `testing.identity` (read as `replay.auth` reads them), else
    the deprecated `testgen.auth` (with a warning), else None."""
    identity = _identity()
    if identity is not None and identity.extra:
        return _auth_cached(repr(dict(identity.extra)), dict(identity.extra), "testing.identity")
    auth = _testgen_section().get("auth")
    if not auth:
        return None
    import warnings

    warnings.warn(DEPRECATED_AUTH, DeprecationWarning, stacklevel=2)
    return _auth_cached(repr(auth), auth, "testgen.auth")


_AUTHS: dict[str, Any] = {}


def _auth_cached(key: str, spec: Any, where: str) -> Any:
    if key not in _AUTHS:
        from amber.replay import Auth

        _AUTHS[key] = Auth.from_mapping(spec, key=where)
    return _AUTHS[key]


@pytest.fixture
def amber_captured_at(request: pytest.FixtureRequest) -> dt.datetime | None:
    """When the test's exchange was captured (a timezone-aware UTC `datetime`, from the
    `captured_at` of its `@pytest.mark.amber` marker), or None outside generated tests: for
    tests or conftests that pin "now" to the capture time (time-machine, freezegun). During
    a generated test `AMBER_CAPTURED_AT` holds the same instant in ISO 8601 for the app."""
    marker = request.node.get_closest_marker("amber")
    value = marker.kwargs.get("captured_at") if marker is not None else None
    return dt.datetime.fromisoformat(value) if value else None


_SESSION = pytest.StashKey[Session]()


def _session(config: pytest.Config) -> Session:
    state = config.stash.get(_SESSION, None)
    if state is None:
        state = config.stash[_SESSION] = Session()
        config.add_cleanup(state.close)
    return state


def _env_key() -> frozenset[tuple[Any, Any]]:
    """The environment an app is built in, minus what changes from test to test."""
    if os.supports_bytes_environ:
        return frozenset(
            (k, v)
            for k, v in os.environb.items()
            if not k.startswith(b"PYTEST_") and k != b"AMBER_CAPTURED_AT"
        )
    return frozenset(
        (k, v)
        for k, v in os.environ.items()
        if not k.startswith("PYTEST_") and k != "AMBER_CAPTURED_AT"
    )


def _client_for(app: App, auth: Any) -> AppClient:
    client = app.clients.get(id(auth))
    if client is None:
        client = app.clients[id(auth)] = AppClient(app.app, None, auth)
    return client


@dataclass(frozen=True)
class _Target:
    """Where one generated test sends its request, and which database it gets."""

    base_url: str | None
    app_spec: str | None
    db_url: str | None
    db_env: str | None
    fresh: bool
    fixture: Path | None

    @property
    def sqlite_session(self) -> bool:
        """Whether the session's own SQLite test database serves this test."""
        return not self.db_url and not self.base_url


def _target(request: pytest.FixtureRequest) -> tuple[_Target, _Settings]:
    settings = _Settings(request)
    base_url = settings.get("base_url", "AMBER_TEST_BASE_URL")
    app_spec = settings.get("app", "AMBER_TEST_APP")
    if not base_url and not app_spec:
        pytest.fail(
            "amber: no app to test: pass --amber-app MODULE:ATTR or --amber-base-url "
            "URL (or set testgen.app in amber.yaml)",
            pytrace=False,
        )
    fixture = settings.marker.get("fixture")
    return _Target(
        base_url=base_url,
        app_spec=app_spec,
        db_url=settings.get("db_url", "AMBER_TEST_DATABASE_URL"),
        db_env=settings.get("db_env", "AMBER_TEST_DB_ENV"),
        fresh=not base_url and settings.flag("fresh_app", "AMBER_TEST_FRESH_APP"),
        fixture=request.path.parent / fixture if fixture else None,
    ), settings


@contextlib.contextmanager
def _environ_restored(*names: str | None) -> Iterator[None]:
    """Put back these environment variables as they were when the block ends."""
    saved = {k: os.environ.get(k) for k in names if k}
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _load_into(fixture: Path, db_url: str) -> Any:
    """Load the fixture file into the running build's database (`--amber-db-url`); the
    handle's `cleanup()` undoes it. Without SQLAlchemy, an SQLite file is loaded through
    the standard library (`load_sqlite`: no surrogate keys remapped), and PostgreSQL through
    psycopg 3 or psycopg2 (`amber.fixtures.load` takes its DB-API path: the same merge)."""
    from amber.testing._template import have_sqlalchemy

    if db_url.startswith("sqlite:///") and not have_sqlalchemy():
        from amber.fixtures import Fixture
        from amber.testing._template import load_sqlite

        return load_sqlite(db_url[len("sqlite:///") :], Fixture.read(fixture))
    from amber.fixtures import load_fixture_file

    return load_fixture_file(fixture, db_url)


@pytest.fixture
def amber_client(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AppClient]:
    """A client for the app under test, with the test's database fixture loaded."""
    target, settings = _target(request)
    state = _session(request.config)
    database = session_database(request.config, target.db_env)
    with contextlib.ExitStack() as stack:
        stack.enter_context(_environ_restored(target.db_env, "AMBER_CAPTURED_AT"))
        db_url = target.db_url
        if target.sqlite_session:
            db_url = f"sqlite:///{_test_db(state, database, tmp_path_factory)}"
        elif target.fixture is not None:
            if not db_url:
                pytest.fail(
                    "amber: this test seeds a database: pass --amber-db-url URL (the "
                    "database of the running build)",
                    pytrace=False,
                )
            stack.callback(_load_into(target.fixture, db_url).cleanup)
        if target.db_env and db_url:
            os.environ[target.db_env] = _env_value(db_url, database.env_form)
        if settings.marker.get("captured_at"):
            os.environ["AMBER_CAPTURED_AT"] = str(settings.marker["captured_at"])
        client = _client(target, db_url, state, tmp_path_factory, stack)
        client.reset()
        client.identity = _identity()
        client.login_required = bool(settings.marker.get("login"))
        yield client


def _test_db(state: Session, database: DatabaseSettings, factory: pytest.TempPathFactory) -> Path:
    """The session's test database file: at `database.path` when one is given (claimed
    once: a file that is not amber's fails the test, saying what to do)."""
    from amber.errors import UsageError

    if database.path is not None:
        if state.fixed is None:
            state.fixed = DbFile(database.path)
        elif state.fixed.path != database.path.absolute():
            pytest.fail(
                f"amber: this test's database path {database.path} is not the session's "
                f"{state.fixed.path}: one session has one test database",
                pytrace=False,
            )
    try:
        return state.db_file(factory)
    except UsageError as e:
        pytest.fail(f"amber: {e}", pytrace=False)


def _env_value(url: str, form: str) -> str:
    from amber.errors import UsageError

    try:
        return env_value(url, form)
    except UsageError as e:
        pytest.fail(f"amber: {e}", pytrace=False)


def _client(
    target: _Target,
    db_url: str | None,
    state: Session,
    factory: pytest.TempPathFactory,
    stack: contextlib.ExitStack,
) -> AppClient:
    """The test's client: the session's for a URL or a reused app, else one of its own
    (closed by `stack`), with the test database loaded where the session owns it."""
    auth = _auth_from_config()
    if target.base_url:
        key = (str(target.base_url), id(auth))
        client = state.url_clients.get(key)
        if client is None:
            client = state.url_clients[key] = AppClient(None, target.base_url, auth)
        return client
    assert target.app_spec is not None
    if target.fresh:
        if target.sqlite_session:
            state.load(target.fixture, None, factory)
        client = AppClient(load_app(target.app_spec), None, auth)
        stack.callback(client.close)
        return client
    app = _app_for(state, target.app_spec, db_url, target.sqlite_session, target.fixture, factory)
    if target.sqlite_session:
        state.load(target.fixture, app, factory)
    return _client_for(app, auth)


def _app_for(
    state: Session,
    spec: str,
    db_url: str | None,
    owned: bool,
    fixture: Path | None,
    factory: pytest.TempPathFactory,
) -> App:
    """The session's app for `spec` in this environment, built on first use: on an empty
    test database when the session owns it (`owned`), its start-up recorded."""
    key = (spec, db_url, _env_key())
    found = state.apps.get(key)
    if found is not None:
        return found
    if not owned:
        app = App(load_app(spec), len(state.apps))
    else:
        base = state.template(None, factory)
        state.restore(base, factory)
        try:
            built = load_app(spec)
        except Exception:
            # a start-up that needs rows to start: build it on this test's fixture instead
            base = state.template(fixture, factory)
            state.restore(base, factory)
            built = load_app(spec)
        app = App(built, len(state.apps))
        state.record_startup(app, base, factory)
    state.apps[key] = app
    return app


@pytest.fixture
def amber_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The database URL `amber_db` loads fixtures into: `--amber-db-url`, else
    `$AMBER_TEST_DATABASE_URL`, else a fresh SQLite file in the test's temporary directory."""
    url = request.config.getoption("--amber-db-url", default=None) or os.environ.get(DB_URL_ENV)
    return str(url) if url else f"sqlite:///{tmp_path / 'amber-fixtures.db'}"


@pytest.fixture
def amber_db(
    request: pytest.FixtureRequest, amber_db_url: str
) -> Iterator[Callable[[str | os.PathLike[str] | Fixture], LoadedFixture]]:
    """A loader for hand-written tests: `amber_db(path_or_fixture)` inserts a fixture's rows
    (paths relative to the test file work); `@pytest.mark.amber_fixture(*paths)` loads
    before the test; everything loaded is removed afterwards.

    ```python
    def test_order(amber_db):
        db = amber_db("fixtures/order-42.yaml")
    ```
    """
    from amber.fixtures import Fixture
    from amber.fixtures import load

    loaded: list[LoadedFixture] = []

    def _load(fixture: str | os.PathLike[str] | Fixture) -> LoadedFixture:
        if not isinstance(fixture, Fixture) and not os.path.isabs(fixture):
            candidate = Path(str(request.path)).parent / fixture
            if candidate.exists():
                fixture = candidate
        handle = load(fixture, amber_db_url)
        loaded.append(handle)
        return handle

    for mark in request.node.iter_markers("amber_fixture"):
        for path in mark.args:
            _load(path)
    try:
        yield _load
    finally:
        for h in reversed(loaded):
            h.cleanup()
