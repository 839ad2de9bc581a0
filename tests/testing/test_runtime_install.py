"""The test runtime installs into an application's own environment and runs generated tests.

Slow (pip and fresh virtual environments; `make test` runs it with `-m slow`): amber's wheel
is built from this checkout, installed with pip's resolver into a virtual environment that
already pins an application's stack, and pip must leave every pin as it was. Then a
regression test written by amber's generator, with its database fixture, runs there
in-process against a small Flask app: it fails on the buggy build, for the reason the test
names, and passes on the fixed one.

- the old end: Flask 2.2, Werkzeug 2.2, SQLAlchemy 1.4, pytest 7.0, pluggy 1.0, httpx 0.23;
- the new end: the newest Flask, SQLAlchemy 2 and pytest pip finds; then the same without
  SQLAlchemy (fixtures built through the standard library's sqlite3).

pip needs its index (PyPI or a mirror); the cache makes the second run fast.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest

from amber._model import Exchange
from amber._model import Request
from amber._model import Response
from amber._model import new_id
from amber.fixtures import Fixture
from amber.testing._generate import GenSpec
from amber.testing._generate import write_test

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]

OLD = [
    "flask==2.2.5",
    "werkzeug==2.2.3",
    "SQLAlchemy==1.4.54",
    "pytest==7.0.1",
    "pluggy==1.0.0",
    "httpx==0.23.3",
]
NEW = ["flask", "SQLAlchemy>=2", "pytest"]

HEAVY = ("mitmproxy", "faker", "rich", "uvloop", "httptools", "zstandard", "sqlalchemy")

APP = '''\
"""A shop's user endpoint: the buggy build fails on a user without a nickname."""
import os
import sqlite3

from flask import Flask, jsonify


def create_app():
    app = Flask(__name__)

    @app.get("/users/<int:user_id>")
    def user(user_id):
        path = os.environ["SHOP_DATABASE_URL"].removeprefix("sqlite:///")
        conn = sqlite3.connect(path)
        try:
            row = conn.execute(
                "SELECT id, name, nickname FROM users WHERE id = ?", (user_id,)
            ).fetchone()
        finally:
            conn.close()
        if row is None:
            return jsonify(error="no such user"), 404
        nickname = row[2]
        if os.environ.get("SHOP_FIXED") == "1":
            shown = (nickname or row[1]).title()
        else:
            shown = nickname.title()  # the bug: no nickname -> AttributeError -> 500
        return jsonify(id=row[0], shown=shown)

    return app
'''

FIXTURE = """\
version: 1
meta: {exchange: EX, route: 'GET /users/{id}'}
tables:
- name: users
  columns:
  - {name: id, type: integer, nullable: false}
  - {name: name, type: text, nullable: false}
  - {name: nickname, type: text, nullable: true}
  - {name: joined, type: datetime, nullable: true}
  primary_key: [id]
  rows:
  - {"id":7,"name":"ada lovelace","nickname":null,"joined":"2024-05-01T10:00:00"}
"""


def _wheel(out: Path) -> Path:
    """amber's wheel, built from a copy of this checkout's files (not in place: the build
    would write into build/, which holds the dev venv's editable links)."""
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    src = out / "src"
    for name in files:
        if (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), "."],
        cwd=src,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    (wheel,) = out.glob("amber-*.whl")
    return wheel


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield _wheel(tmp_path_factory.mktemp("wheel"))


def _pip(env: Path, *args: str) -> str:
    done = subprocess.run(
        [str(env / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def _freeze(env: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in _pip(env, "freeze", "--all").splitlines():
        name, sep, version = line.partition("==")
        if sep:
            out[name.lower().replace("_", "-")] = version
    return out


def _app_env(root: Path, pins: list[str], wheel: Path) -> Path:
    """A virtual environment with the app's pins, then amber's runtime installed from the
    wheel by pip's resolver: no pinned distribution may change."""
    env = root / "venv"
    venv.EnvBuilder(with_pip=True).create(env)
    _pip(env, "install", "-q", *pins)
    before = _freeze(env)
    _pip(env, "install", "-q", str(wheel))
    after = _freeze(env)
    changed = {k: (v, after.get(k)) for k, v in before.items() if after.get(k) != v}
    assert not changed, f"installing amber changed the app's environment: {changed}"
    added = set(after) - set(before)
    assert {"pyyaml", "orjson"} <= added, added
    # the runtime's own light dependencies only (httpx and what it needs, when missing)
    assert not added & {*HEAVY, "faker", "pytest", "mitmproxy", "psycopg"}, added
    return env


def _generated_suite(root: Path) -> Path:
    """A regression test amber's generator writes for a captured 500, and its fixture."""
    tests = root / "tests"
    ex = Exchange(
        new_id(1714557600.0),
        Request(
            "GET",
            "https",
            "shop.example",
            443,
            "/users/7",
            headers=(("Accept", "application/json"),),
            timestamp_start=1714557600.0,
        ),
        Response(500, headers=(("Content-Type", "text/html"),), body=b"<h1>error</h1>"),
        route="/users/{id}",
    )
    stem = f"test_get_users_id_{ex.id[-8:].lower()}"
    fixture = tests / "fixtures" / f"{stem}.yaml"
    fixture.parent.mkdir(parents=True)
    Fixture.loads(FIXTURE.replace("EX", ex.id)).write(fixture)
    spec = GenSpec(
        ex,
        "amber gen-test EX --out tests",
        app="shop_app:create_app",
        db_env="SHOP_DATABASE_URL",
        fixture=f"fixtures/{stem}.yaml",
        expect_status=200,
    )
    write_test(spec, tests)
    (root / "shop_app.py").write_text(APP)
    return tests


def _pytest(env: Path, root: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("AMBER_", "PYTEST_"))}
    environ.update(extra, PYTHONPATH=str(root))
    return subprocess.run(
        [str(env / "bin" / "python"), "-m", "pytest", "-p", "no:cacheprovider", "tests"],
        cwd=root,
        capture_output=True,
        text=True,
        env=environ,
        timeout=300,
    )


def _bug_and_fix(env: Path, root: Path) -> None:
    """The generated test fails on the buggy build for the bug, passes on the fixed one."""
    buggy = _pytest(env, root)
    assert buggy.returncode == 1, buggy.stdout + buggy.stderr
    # it fails for the bug: the fixture's user without a nickname, a 500 again
    assert "1 failed" in buggy.stdout, buggy.stdout
    assert "should answer 200 once fixed: captured 500, now 500" in buggy.stdout, buggy.stdout
    fixed = _pytest(env, root, SHOP_FIXED="1")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "1 passed" in fixed.stdout


def _check(env: Path, root: Path, versions: dict[str, str]) -> None:
    code = (
        "import sys, amber.testing, amber.testing._plugin; "
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [str(env / "bin" / "python"), "-c", code], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"

    # the command line is not part of the runtime: it says which extra brings it
    cli = subprocess.run(
        [str(env / "bin" / "amber"), "ls"], capture_output=True, text=True, timeout=60
    )
    assert cli.returncode == 1, cli.stderr
    assert "pip install 'amber[cli]'" in cli.stderr, cli.stderr

    tests = _generated_suite(root)
    _bug_and_fix(env, root)
    # without the fixture's row the fixed build answers 404: the test says so
    (tests / "fixtures").rename(tests / "elsewhere")
    missing = _pytest(env, root, SHOP_FIXED="1")
    assert missing.returncode != 0
    assert "fixtures" in missing.stdout + missing.stderr
    for name, version in versions.items():
        assert f"{name}=={version}" in _pip(env, "freeze"), name


def test_old_end_flask22_sqlalchemy14_pytest70(wheel: Path, tmp_path: Path) -> None:
    env = _app_env(tmp_path, OLD, wheel)
    _check(
        env,
        tmp_path,
        {"Flask": "2.2.5", "SQLAlchemy": "1.4.54", "pytest": "7.0.1", "pluggy": "1.0.0"},
    )


def test_new_end_current_flask_sqlalchemy2_pytest(wheel: Path, tmp_path: Path) -> None:
    env = _app_env(tmp_path, NEW, wheel)
    versions = _freeze(env)
    assert versions["sqlalchemy"].startswith("2."), versions["sqlalchemy"]
    assert int(versions["pytest"].split(".")[0]) >= 8, versions["pytest"]
    _check(env, tmp_path, {})
    # and with no SQLAlchemy at all: the fixture is built through sqlite3
    (tmp_path / "tests" / "elsewhere").rename(tmp_path / "tests" / "fixtures")
    _pip(env, "uninstall", "-y", "SQLAlchemy")
    assert "sqlalchemy" not in _freeze(env)
    _bug_and_fix(env, tmp_path)
