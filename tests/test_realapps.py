"""The real-app corpus (issues 18 and 19): for each unmodified app from PyPI in realapps/,
the test amber generates from the captured buggy request must fail on the buggy release and
pass on the fixed one, every run. Entries amber cannot reproduce yet are xfail(strict=True)
with the reason, so they flip when the capability lands.

Slow: each entry installs two releases from PyPI (cached under .cache/realapps), serves the
buggy one behind `amber capture`, runs `amber gen-test` and the generated test N times.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `realapps` is not installed: import it from the checkout
    sys.path.append(str(ROOT))

from realapps import all_apps  # noqa: E402
from realapps._run import HarnessError  # noqa: E402
from realapps._run import pg_missing  # noqa: E402
from realapps._run import run_app  # noqa: E402

N = int(os.environ.get("REALAPPS_RUNS", "3"))


def _params() -> list[object]:
    out: list[object] = []
    for name, app in all_apps().items():
        # an entry xfails only where amber falls short (a step of the loop or an assertion
        # below), never on an error of the harness itself
        xfail = pytest.mark.xfail(
            strict=True, reason=app.xfail, raises=(AssertionError, HarnessError)
        )
        marks = [xfail] if app.xfail else []
        out.append(pytest.param(name, marks=marks, id=name))
    return out


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("name", _params())
def test_generated_test_fails_on_buggy_and_passes_on_fixed(name: str) -> None:
    if sys.version_info[:2] != (3, 11):
        # the corpus installs two releases of each app from PyPI: it runs once per CI, on
        # the Python 3.11 leg, whose releases every entry pins for
        pytest.skip("the real-app corpus runs on the Python 3.11 leg of CI")
    app = all_apps()[name]
    missing = pg_missing(app)
    if missing:
        pytest.skip(missing)
    res = run_app(app, n=N)
    print(res.summary())
    assert res.captured_status, "the request got no answer through amber capture"
    assert res.buggy == {"failed": N}, f"buggy release: {res.buggy}\n{res.last_output['buggy']}"
    assert res.fixed == {"passed": N}, f"fixed release: {res.fixed}\n{res.last_output['fixed']}"


def test_every_entry_is_complete() -> None:
    """Each entry names its bug, two distinct releases and its request (fast, no network)."""
    apps = all_apps()
    assert len(apps) >= 2
    for app in apps.values():
        assert app.bug.startswith("https://"), app.name
        assert app.buggy != app.fixed, app.name
        assert app.request.path.startswith("/"), app.name
        # glue stays a few lines: the factory (sqladmin's declares the app's two models) and
        # documented amber.yaml keys
        factory = sum(1 for ln in (app.glue or "").splitlines() if ln.strip())
        # a Django project is its settings (database, apps, middleware, templates) and urls
        # (about 30 lines) plus the project's own code the bug needs (a ModelAdmin, a
        # Sitemap); the test identity's login with its CSRF field is 8 lines of amber.yaml
        factory_max, total_max = (50, 60) if app.package == "Django" else (25, 30)
        assert factory <= factory_max and app.glue_lines <= total_max, (
            f"{app.name}: glue should stay short"
        )
        # `verify` says why gen-test cannot verify in-process; URL mode never verifies
        assert app.verify is None or (app.glue is not None and app.verify.strip()), app.name


def test_the_corpus_is_not_in_the_wheel() -> None:
    """realapps/ is a tool of this repository: pyproject.toml packages only amber."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = config["tool"]["setuptools"]["packages"]
    assert packages and all(p == "amber" or p.startswith("amber.") for p in packages)


def test_a_postgresql_entry_names_what_it_needs_without_a_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without $AMBER_TEST_PG_URL a PostgreSQL entry is skipped, saying how to get one; a
    SQLite entry never needs it (fast, no network)."""
    apps = all_apps()
    pg = [a for a in apps.values() if a.postgres is not None]
    assert pg, "the corpus has a PostgreSQL entry"
    monkeypatch.delenv("AMBER_TEST_PG_URL", raising=False)
    for app in apps.values():
        why = pg_missing(app)
        if app.postgres is None:
            assert why is None, app.name
        else:
            assert why is not None and ".ci/pg-up" in why and "AMBER_TEST_PG_URL" in why
    monkeypatch.setenv("AMBER_TEST_PG_URL", "postgresql://postgres@127.0.0.1:1/postgres")
    assert all(pg_missing(a) is None for a in pg)


def test_the_runner_sends_back_the_login_pages_cookie() -> None:
    """`{cookie:NAME}` in an entry's login body is that cookie's value from a GET of the
    login page (Django's CSRF token), form-escaped; a body without it is sent as it is."""
    import httpx

    from realapps._app import Request
    from realapps._run import _with_cookies

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.method == "GET" and request.url.path == "/admin/login/"
        return httpx.Response(200, headers={"Set-Cookie": "csrftoken=a+b/c; Path=/"})

    login = Request("POST", "/admin/login/", {}, b"u=x&csrfmiddlewaretoken={cookie:csrftoken}")
    with httpx.Client(transport=httpx.MockTransport(handler), base_url="http://t") as c:
        assert _with_cookies(c, login) == b"u=x&csrfmiddlewaretoken=a%2Bb%2Fc"
        plain = Request("POST", "/login/", {}, b"password=pw")
        assert _with_cookies(c, plain) == b"password=pw"
        with pytest.raises(HarnessError, match="no cookie 'xsrf'"):
            _with_cookies(c, Request("POST", "/admin/login/", {}, b"t={cookie:xsrf}"))


@pytest.mark.postgres
def test_a_postgresql_entry_gets_its_databases_and_they_are_dropped() -> None:
    """The runner creates the source and one test database a release on the server of
    $AMBER_TEST_PG_URL, empty, and drops them afterwards, also when the run fails."""
    server = os.environ.get("AMBER_TEST_PG_URL")
    if not server:
        pytest.skip('no PostgreSQL: set AMBER_TEST_PG_URL (eval "$(.ci/pg-up)")')
    import psycopg

    from realapps._run import Result
    from realapps._run import pg_databases

    app = next(a for a in all_apps().values() if a.postgres is not None)

    def existing(urls: dict[str, str]) -> set[str]:
        names = [u.rsplit("/", 1)[1] for u in urls.values()]
        with psycopg.connect(server, autocommit=True) as c:
            rows = c.execute("SELECT datname FROM pg_database WHERE datname = ANY(%s)", [names])
            return {r[0] for r in rows}

    res = Result(app=app.name, n=1)
    with pytest.raises(HarnessError, match="boom"), pg_databases(app, res):
        assert sorted(res.db_urls) == ["buggy", "fixed", "source", "verify"]
        assert len(existing(res.db_urls)) == 4
        for url in res.db_urls.values():
            with psycopg.connect(url) as c:
                tables = c.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
                assert tables.fetchone() == (0,)
        raise HarnessError("boom")
    assert existing(res.db_urls) == set()
