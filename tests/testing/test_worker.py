"""Verify runs in the app's own interpreter (`Reproducer(app_python=...)`,
`amber.testing._worker`): a fresh child process per run, which needs only amber's test
runtime; its raw answer crosses the pipe and is sanitized in the parent."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from amber.errors import UsageError
from amber.testing import Reproducer
from tests.testing.apps.listing import make_source
from tests.testing.reproduce_helpers import listing_exchange
from tests.testing.reproduce_helpers import reproducer
from tests.testing.reproduce_helpers import sanitizer
from tests.testing.reproduce_helpers import tags_fixture

ROOT = Path(__file__).resolve().parents[2]
HEAVY = "sqlalchemy,mitmproxy,rich,zstandard,httptools,uvloop"

BLOCKER = """
import os, sys
_BLOCK = set(filter(None, os.environ.get("AMBER_TEST_BLOCK_IMPORTS", "").split(",")))
class _Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in _BLOCK:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)
        return None
sys.meta_path.insert(0, _Blocker())
"""


@pytest.fixture
def runtime_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Children of this interpreter cannot import amber's heavy dependencies (a
    sitecustomize refuses them), as in an app's venv with only `pip install amber`."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCKER)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site), str(ROOT)]))
    monkeypatch.setenv("AMBER_TEST_BLOCK_IMPORTS", HEAVY)


def test_the_blocker_blocks(runtime_only: None) -> None:
    """The fixture really hides SQLAlchemy and mitmproxy from a child."""
    for module in ("sqlalchemy", "mitmproxy"):
        done = subprocess.run(
            [sys.executable, "-c", f"import {module}"], capture_output=True, text=True
        )
        assert done.returncode == 1 and "blocked" in done.stderr, done.stderr


def test_a_child_with_the_test_runtime_only_verifies_and_traces(
    runtime_only: None, tmp_path: Path
) -> None:
    with reproducer(app_python=sys.executable) as r:
        yes = r.verify(tags_fixture(50))
        no = r.verify(tags_fixture(10))
        make_source(str(tmp_path / "source.db"))
        traced, trace = r.trace(f"sqlite:///{tmp_path / 'source.db'}")
    assert yes.reproduced and yes.outcome.status == 500, yes.explain()
    assert not no.reproduced and no.outcome.status == 200, no.explain()
    assert traced.status == 500
    assert trace.statements == ["SELECT id, slug, label FROM tags ORDER BY id"]
    assert trace.tables == {"tags"}


def test_a_good_response_is_compared_in_sanitized_space(runtime_only: None) -> None:
    body = b'{"tags": [{"id": 1, "slug": "tag-1", "labels": ["Tag 1"]}]}'
    ex = listing_exchange(200, body)
    from amber._model import Response

    ex = type(ex)(
        ex.id, ex.request, Response(200, headers=(("Content-Type", "application/json"),), body=body)
    )
    with reproducer(ex, app_python=sys.executable) as r:
        assert r.verify(tags_fixture(1)).reproduced
        other = r.verify(tags_fixture(2))
    assert not other.reproduced and other.differences


def raising_app() -> object:
    def app(environ: object, start_response: object) -> list[bytes]:
        raise RuntimeError("boom for jane.doe@acme-corp.com")

    return app


def chatty_app() -> object:
    print("starting for jane.doe@acme-corp.com")  # on stdout: must not break the answer
    from tests.testing.apps.listing import create_app

    return create_app()


def dying_app() -> object:
    print("fatal for jane.doe@acme-corp.com", file=sys.stderr, flush=True)
    os._exit(3)


HANG = threading.Event()


def hanging_app() -> object:
    HANG.wait()  # never set in the child
    raise AssertionError("unreachable")


def _run(app: str, **kw: Any) -> Any:
    r = Reproducer(
        listing_exchange(), f"{__name__}:{app}", "LISTING_DB", sanitizer(),
        app_python=sys.executable, **kw,
    )  # fmt: skip
    with r:
        return r.verify(tags_fixture(1))


def test_an_exception_in_the_child_is_a_server_error_sanitized(runtime_only: None) -> None:
    v = _run("raising_app")
    assert v.reproduced and v.outcome.kind == "exception"
    assert v.outcome.error is not None and "RuntimeError: boom for" in v.outcome.error
    assert "jane.doe@acme-corp.com" not in v.outcome.error


def test_what_the_app_prints_does_not_break_the_answer(runtime_only: None) -> None:
    v = _run("chatty_app")
    assert v.outcome.kind == "response" and v.outcome.status == 200


def test_a_child_that_dies_is_a_build_failure_with_its_last_line_sanitized(
    runtime_only: None,
) -> None:
    v = _run("dying_app")
    assert not v.reproduced and v.outcome.kind == "build"
    error = v.outcome.error or ""
    assert "exited with status 3" in error and "fatal for" in error, error
    assert "jane.doe@acme-corp.com" not in error


def test_a_child_that_hangs_is_killed(runtime_only: None) -> None:
    v = _run("hanging_app", timeout=1.0)
    assert not v.reproduced and v.outcome.kind == "timeout"
    assert "the run hung" in v.explain()


SINGLETON: dict[str, Any] = {}


def singleton_app() -> Callable[[dict[str, Any], Any], Iterable[bytes]]:
    """Configures a module-level object that refuses a second set-up (as Flask does)."""
    if SINGLETON:
        raise AssertionError("the setup method can no longer be called on the application")
    from tests.testing.apps.listing import create_app

    SINGLETON["app"] = create_app()
    return SINGLETON["app"]  # type: ignore[no-any-return]


def test_a_fresh_process_rebuilds_an_app_that_builds_once_per_process(
    runtime_only: None,
) -> None:
    SINGLETON.clear()
    app = f"{__name__}:singleton_app"
    with Reproducer(listing_exchange(), app, "LISTING_DB", sanitizer()) as r:
        first, second = r.verify(tags_fixture(50)), r.verify(tags_fixture(50))
    assert first.reproduced and second.outcome.kind == "build"
    with Reproducer(
        listing_exchange(), app, "LISTING_DB", sanitizer(), app_python=sys.executable
    ) as r:
        assert all(r.verify(tags_fixture(50)).reproduced for _ in range(2))


def auth_app() -> object:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        token = environ.get("HTTP_X_TOKEN", "")
        status = "500 Internal Server Error" if token == "secret-token" else "401 Unauthorized"
        start_response(status, [("Content-Type", "text/plain")])
        return [b"checked"]

    return app


def test_the_child_reads_the_auth_from_the_config(
    runtime_only: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`testgen.auth` (and `testing.identity`) are read from amber.yaml in the child."""
    config = tmp_path / "amber.yaml"
    config.write_text("testgen:\n  auth:\n    headers:\n      X-Token: secret-token\n")
    v = _run("auth_app", config_path=str(config))
    assert v.reproduced and v.outcome.status == 500, v.explain()
    assert not _run("auth_app").reproduced  # without the config: 401


def test_a_missing_interpreter_says_what_to_pass() -> None:
    with pytest.raises(UsageError, match="--app-python .*python of the app's virtual env"):
        reproducer(app_python="/nonexistent/bin/python")


def test_an_interpreter_without_amber_says_what_to_install(tmp_path: Path) -> None:
    # a python that finds no amber: -I ignores PYTHONPATH and user site; -S the venv's site
    script = tmp_path / "bare-python"
    script.write_text(f'#!/bin/sh\nexec {sys.executable} -I -S "$@"\n')
    script.chmod(0o755)
    with reproducer(app_python=str(script)) as r:
        v = r.verify(tags_fixture(50))
    assert v.outcome.kind == "build" and not v.reproduced
    assert "pip install amber" in (v.outcome.error or ""), v.outcome.error


def _logged_runs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, n: int, **env: str
) -> tuple[list[bool], list[str], Reproducer]:
    log = tmp_path / "imports.log"
    monkeypatch.setenv("IMPORT_LOG", str(log))
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    r = Reproducer(
        listing_exchange(), "tests.testing.apps.import_log:create_app", "LISTING_DB",
        sanitizer(), app_python=sys.executable,
    )  # fmt: skip
    with r:
        got = [r.verify(tags_fixture(50 if i % 2 == 0 else 10)).reproduced for i in range(n)]
    return got, log.read_text().split("\n")[:-1], r


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the fork server is Linux's")
def test_runs_fork_from_one_import_of_the_app_and_each_builds_it_anew(
    runtime_only: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app's module is imported once (the fork server's prelude), each run builds the
    app in a process of its own, and the verdicts are what fresh children give."""
    got, log, r = _logged_runs(monkeypatch, tmp_path, 4)
    assert got == [True, False, True, False]
    imports = [ln for ln in log if ln.startswith("import")]
    builds = [ln.split()[1] for ln in log if ln.startswith("build")]
    assert len(imports) == 1 and r._server_refused is None, log
    assert len(builds) == 4 and len(set(builds)) == 4  # four processes, one per run
    assert imports[0].split()[1] not in builds  # none of them the server itself
    monkeypatch.setenv("AMBER_VERIFY_FORK", "0")  # turned off: a fresh child per run
    (tmp_path / "imports.log").unlink()
    off, log, _ = _logged_runs(monkeypatch, tmp_path, 2)
    assert off == [True, False] and len([ln for ln in log if ln.startswith("import")]) == 2


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the fork server is Linux's")
def test_an_app_that_opens_its_database_at_import_gets_fresh_children(
    runtime_only: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A module that holds the run's database open when imported would share that handle
    (on a file each run replaces) across forked runs: the server declines, and each run is
    a fresh child that opens the run's own file."""
    got, log, r = _logged_runs(monkeypatch, tmp_path, 3, OPEN_AT_IMPORT="1")
    assert got == [True, False, True]
    assert r._server_refused is not None and "database" in r._server_refused
    assert len([ln for ln in log if ln.startswith("import")]) == 1 + 3  # the prelude + 3


def test_a_hung_run_kills_its_server_and_the_next_run_starts_another(
    runtime_only: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run past the timeout is killed with its server; the next run is answered."""
    monkeypatch.setenv("HANG_ONCE", str(tmp_path / "hung"))
    r = Reproducer(
        listing_exchange(), f"{__name__}:hang_once_app", "LISTING_DB", sanitizer(),
        app_python=sys.executable, timeout=5.0,
    )  # fmt: skip
    with r:
        first = r.verify(tags_fixture(50))
        second = r.verify(tags_fixture(50))
    assert first.outcome.kind == "timeout" and not first.reproduced
    assert second.reproduced and second.outcome.status == 500, second.explain()


def hang_once_app() -> object:
    """Hangs the first time it is built (a marker file says it was), then serves."""
    marker = Path(os.environ["HANG_ONCE"])
    if not marker.exists():
        marker.touch()
        HANG.wait()
    from tests.testing.apps.listing import create_app

    return create_app()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the fork server is Linux's")
def test_a_fork_server_killed_between_runs_is_no_timeout(runtime_only: None) -> None:
    """A dead peer: the fork server killed from outside (OOM, an operator) is not the
    run's doing: the next run starts another server (the dead one's pipes closed) and is
    answered, as is the one after."""
    import signal

    with reproducer(app_python=sys.executable) as r:
        assert r.verify(tags_fixture(50)).reproduced
        server = r._server
        assert server is not None and server._proc is not None
        os.kill(server._proc.pid, signal.SIGKILL)
        server._proc.wait()
        after = r.verify(tags_fixture(50))
        again = r.verify(tags_fixture(10))
    assert after.reproduced and after.outcome.status == 500, after.explain()
    assert not again.reproduced and again.outcome.status == 200, again.explain()
