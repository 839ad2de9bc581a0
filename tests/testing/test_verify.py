from __future__ import annotations

import dataclasses
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from amber._model import Exchange
from amber._model import Response
from amber.errors import FixtureError
from amber.errors import UsageError
from amber.fixtures import Fixture
from amber.testing import DatabaseSettings
from amber.testing import Outcome
from amber.testing import Reproducer
from tests.testing.apps.csv_export import csv_body
from tests.testing.reproduce_helpers import listing_exchange
from tests.testing.reproduce_helpers import reproducer
from tests.testing.reproduce_helpers import sanitizer
from tests.testing.reproduce_helpers import tags_fixture

BLOCK = threading.Event()


def hanging_app() -> object:
    def app(environ: object, start_response: object) -> list[bytes]:
        BLOCK.wait(30)
        raise RuntimeError("released")

    return app


def raising_app() -> object:
    def app(environ: object, start_response: object) -> list[bytes]:
        raise RuntimeError("boom for jane.doe@acme-corp.com")

    return app


def test_a_server_error_reproduces_only_with_the_rows_that_trigger_it() -> None:
    with reproducer() as r:
        yes = r.verify(tags_fixture(50))
        no = r.verify(tags_fixture(10))
        assert yes.reproduced and yes.outcome.status == 500
        assert not no.reproduced and no.outcome.status == 200
        assert "not reproduced" in no.explain() and "500" in no.explain()
        assert r.runs == 2


def test_the_fixed_build_does_not_reproduce(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LISTING_FIXED", "1")
    with reproducer() as r:
        assert not r.verify(tags_fixture(50)).reproduced


def test_the_database_variable_is_put_back_after_each_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LISTING_DB", "sqlite:///elsewhere.db")
    with reproducer() as r:
        r.verify(tags_fixture(3))
    import os

    assert os.environ["LISTING_DB"] == "sqlite:///elsewhere.db"


def test_a_good_response_reproduces_when_status_and_body_match() -> None:
    body = b'{"tags": [{"id": 1, "slug": "tag-1", "labels": ["Tag 1"]}]}'
    ex = listing_exchange(200, body)
    ex = dataclasses.replace(
        ex, response=Response(200, headers=(("Content-Type", "application/json"),), body=body)
    )
    with reproducer(ex) as r:
        assert r.verify(tags_fixture(1)).reproduced
        other = r.verify(tags_fixture(2))
        assert not other.reproduced and other.differences


def test_a_wrong_answer_reproduces_while_it_misses_the_expectation() -> None:
    body = b'{"tags": [{"id": 1, "slug": "tag-1", "labels": ["Tag 1"]}]}'
    ex = listing_exchange(200, body)
    with reproducer(ex, expect_json={"tags": []}) as r:
        # the app lists the tags, the user expected none: the bug is there
        assert r.verify(tags_fixture(2)).reproduced
        met = r.verify(Fixture(tags_fixture(0).tables, {"tags": []}))
        assert not met.reproduced and "meets the expectation" in met.explain()


CSV_APP = "tests.testing.apps.csv_export:create_app"


def csv_exchange(body: bytes, status: int = 200) -> Exchange:
    ex = listing_exchange(status, body, query="")
    req = dataclasses.replace(ex.request, path="/api/tags.csv")
    resp = Response(status, headers=(("Content-Type", "text/csv; charset=utf-8"),), body=body)
    return dataclasses.replace(ex, request=req, response=resp, route="/api/tags.csv")


def csv_reproducer(body: bytes, **kw: Any) -> Reproducer:
    return Reproducer(csv_exchange(body), CSV_APP, "LISTING_DB", sanitizer(), **kw)


def test_a_truncated_csv_reproduces_by_testing_expect_rows_not_by_the_body() -> None:
    """A wrong 200 (the export stops at the second tag of a slug, tag 42): with `rows: 50`
    declared, a run reproduces when it misses 50 rows as the recording does (41 rows),
    whatever the body's values; too few rows, or the fixed build, do not reproduce."""
    recorded = csv_body(50, upto=42)
    # the recording's values differ from the fixture's: the body is not what is compared
    recorded = recorded.replace(b"Tag 3", b"Label three")
    with csv_reproducer(recorded, expect={"status": 200, "rows": 50}) as r:
        yes = r.verify(tags_fixture(50))
        assert yes.reproduced, yes.explain()
        assert "rows: 41" in yes.expected and "testing.expect" in yes.expected
        few = r.verify(tags_fixture(10))
        assert not few.reproduced
        assert "rows: 10, recorded 41" in few.explain()
        assert not r.rows_shrinkable
        oracle = r.oracle()
        assert "testing.expect (status 200, rows 50)" in oracle
        assert "rows: 41" in oracle and "recorded body is not compared" in oracle
    os.environ["LISTING_FIXED"] = "1"
    try:
        with csv_reproducer(recorded, expect={"status": 200, "rows": 50}) as r:
            fixed = r.verify(tags_fixture(50))
    finally:
        del os.environ["LISTING_FIXED"]
    assert not fixed.reproduced and "meets the expectation" in fixed.explain()


def test_texts_and_lines_count_the_same_way_as_the_recording() -> None:
    recorded = csv_body(50, upto=42)
    expect = {"contains": ["tag-50"], "not_contains": ["tag-1,"], "lines": 51}
    with csv_reproducer(recorded, expect=expect) as r:
        v = r.verify(tags_fixture(50))
        # tag-50 absent and tag-1 present, 42 lines: as recorded
        assert v.reproduced, v.explain()
        v = r.verify(tags_fixture(16))
        assert not v.reproduced and "lines: 17, recorded 42" in v.explain()
        # no shared slug: every tag is there, tag-50 too
        v = r.verify(tags_fixture(50, duplicate=()))
        assert not v.reproduced and "meets" not in v.explain()
        assert "contains 'tag-50': present, recorded absent" in v.explain()
    # the recording meets every check: no run can show the bug by them, and verify says so
    with csv_reproducer(recorded, expect={"contains": "tag-1,"}) as r:
        v = r.verify(tags_fixture(50))
        assert not v.reproduced and "recorded answer meets the expectation" in v.explain()


def has_tag_50(response: Any) -> bool:
    return b"tag-50" in response.content


def test_a_predicate_is_judged_on_the_answer_and_one_that_does_not_import_is_left_out() -> None:
    recorded = csv_body(50, upto=42)
    expect = {"predicate": f"{__name__}:has_tag_50"}
    with csv_reproducer(recorded, expect=expect) as r:
        assert r.verify(tags_fixture(50)).reproduced
        assert not r.verify(tags_fixture(50, duplicate=())).reproduced
    expect = {"rows": 50, "predicate": "no_such_module_here:check"}
    with csv_reproducer(recorded, expect=expect) as r:
        assert r.verify(tags_fixture(50)).reproduced


def test_expect_status_overrides_the_entry_and_a_server_error_stays_the_oracle() -> None:
    with csv_reproducer(csv_body(50, upto=42), expect={"status": 200}, expect_status=201) as r:
        assert "status 201" in r.oracle() and "--expect-status" in r.oracle()
        assert r.expectation() == {"status": 201}
    with reproducer(expect={"status": 200, "rows": 3}) as r:
        assert r.rows_shrinkable and "recorded server error (500)" in r.oracle()
        assert r.verify(tags_fixture(50)).reproduced


def test_an_exception_counts_as_a_server_error_and_is_sanitized() -> None:
    r = Reproducer(listing_exchange(), f"{__name__}:raising_app", "LISTING_DB", sanitizer())
    with r:
        v = r.verify(tags_fixture(1))
    assert v.reproduced and v.outcome.response is None
    assert v.outcome.error is not None and "RuntimeError" in v.outcome.error
    assert "jane.doe@acme-corp.com" not in v.outcome.error


def test_a_run_that_hangs_is_reported_not_waited_for() -> None:
    BLOCK.clear()
    r = Reproducer(
        listing_exchange(), f"{__name__}:hanging_app", "LISTING_DB", sanitizer(), timeout=0.5
    )
    try:
        out = r.run(tags_fixture(1))
    finally:
        BLOCK.set()
        r.close()
    assert out.response is None and out.error is not None and "timed out" in out.error
    assert isinstance(out, Outcome) and out.kind == "timeout"
    BLOCK.clear()
    r = Reproducer(
        listing_exchange(), f"{__name__}:hanging_app", "LISTING_DB", sanitizer(), timeout=0.5
    )
    try:
        v = r.verify(tags_fixture(1))  # a recorded 500: a hang is not a reproduction
    finally:
        BLOCK.set()
        r.close()
    assert not v.reproduced and "the run hung" in v.explain()


def test_without_a_database_variable_it_says_what_to_pass() -> None:
    with pytest.raises(UsageError, match="--db-env"):
        Reproducer(listing_exchange(), "x:y", None, sanitizer())


def test_a_fixture_that_does_not_load_is_a_fixture_error() -> None:
    fx = tags_fixture(2)
    fx.rows["tags"][1]["id"] = 1  # a duplicate primary key
    with reproducer() as r, pytest.raises(FixtureError):
        r.verify(fx)


def broken_app() -> object:
    raise ImportError("no module named missing_dependency")


def test_a_build_that_does_not_start_reproduces_nothing() -> None:
    r = Reproducer(listing_exchange(), f"{__name__}:broken_app", "LISTING_DB", sanitizer())
    with r:
        v = r.verify(tags_fixture(1))
    assert not v.reproduced and v.outcome.kind == "build"
    assert "the build did not start" in v.explain() and "missing_dependency" in v.explain()


def test_amber_s_own_set_up_failing_reproduces_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    # a credential amber.yaml does not declare raises before the app is reached: that is
    # the test's set-up, never the recorded server error (it once shrank fixtures to 0 rows)
    from amber.testing._client import AppClient
    from amber.testing._client import IdentityMissing

    def refuse(self: AppClient, **kwargs: object) -> None:
        raise IdentityMissing("needs: the test identity's password (testing.identity)")

    monkeypatch.setattr(AppClient, "request", refuse)
    r = Reproducer(listing_exchange(), f"{__name__}:raising_app", "LISTING_DB", sanitizer())
    with r:
        v = r.verify(tags_fixture(1))
    assert not v.reproduced and v.outcome.kind == "setup"
    assert "set-up failed" in v.explain() and "IdentityMissing" in v.explain()


def test_an_app_that_opens_a_fixed_file_is_verified_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`testing.database.path`: no env var at all, the fixture is built at the file the
    (Flask) app opens, which is removed afterwards."""
    monkeypatch.chdir(tmp_path)
    database = DatabaseSettings(path=tmp_path / "data" / "app.db")
    app = "tests.testing.apps.fixed_path:create_app"
    with Reproducer(listing_exchange(), app, None, sanitizer(), database=database) as r:
        assert r.verify(tags_fixture(50)).reproduced
        assert not r.verify(tags_fixture(10)).reproduced
        assert (tmp_path / "data" / "app.db.amber-test").is_file()
    assert not (tmp_path / "data").exists()


def test_verify_never_overwrites_a_file_that_is_not_amber_s(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "app.db").write_bytes(b"mine")
    database = DatabaseSettings(path=tmp_path / "data" / "app.db")
    app = "tests.testing.apps.fixed_path:create_app"
    with (
        Reproducer(listing_exchange(), app, None, sanitizer(), database=database) as r,
        pytest.raises(UsageError, match="is not amber's test database"),
    ):
        r.verify(tags_fixture(50))
    assert (tmp_path / "data" / "app.db").read_bytes() == b"mine"


def test_the_database_variable_may_hold_a_path(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    with reproducer(database=DatabaseSettings(path=None, env_form="path")) as r:
        monkeypatch.setattr(r, "_send_on", lambda value, literal: seen.append(value))
        r.run(tags_fixture(3))
    assert seen and not seen[0].startswith("sqlite:") and seen[0].endswith("verify.db")
