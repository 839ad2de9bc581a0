"""gen-test and `amber fixtures --verify` on a PostgreSQL source take the rows the request
read from the SQL trace, without a rule and without widening; the source is not written."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from amber._store import Store
from amber._urls import normalize_url
from tests.conftest import fresh_pg_database
from tests.core.cli.conftest import Run

pytestmark = pytest.mark.postgres


@pytest.fixture
def tags_source() -> Iterator[str]:
    """A fresh database with the pgtags app's tables (tags 17 and 42 share a slug)."""
    from tests.testing.apps.pgtags import make_source

    with fresh_pg_database("amber_trace") as url:
        make_source(url)
        yield url


def _digest(url: str) -> list[tuple[object, ...]]:
    engine = sa.create_engine(normalize_url(url))
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.exec_driver_sql("SELECT * FROM tags ORDER BY id")]
    engine.dispose()
    return rows


def _store(env: Path) -> str:
    from tests.testing.reproduce_helpers import listing_exchange

    ex = dataclasses.replace(listing_exchange(query="slug=shared"), request_id="req-slug")
    with Store.open(f"sqlite:///{env / 'store.db'}") as s:
        s.add(ex)
    return "req-slug"


@pytest.mark.parametrize("app", ["create_app", "create_sa_app"])
def test_gen_test_on_postgres_takes_the_rows_the_traced_sql_read(
    env: Path, amber: Run, tags_source: str, app: str
) -> None:
    rid = _store(env)
    before = _digest(tags_source)
    code, _, err = amber(
        "gen-test", rid, "--out", str(env / "t"), "--source-db", tags_source,
        "--app", f"tests.testing.apps.pgtags:{app}", "--db-env", "PGTAGS_DB",
        "--reason", "test",
    )  # fmt: skip
    assert code == 0, err
    assert "trace: the request read rows of tags 2" in err and "widened" not in err
    assert "reproduced with 2 rows" in err
    assert _digest(tags_source) == before
    from amber.fixtures import Fixture

    fixture = Fixture.read(next((env / "t" / "fixtures").glob("*.yaml")))
    assert [r["id"] for r in fixture.rows["tags"]] == [17, 42]
    audit = (env / ".amber" / "audit.jsonl").read_text()
    assert "read-only transactions, SQL trace" in audit


def test_without_the_trace_widening_has_to_find_them(
    env: Path, amber: Run, tags_source: str
) -> None:
    """The control: --no-trace on the same source; the first 10 rows miss 17 and 42."""
    rid = _store(env)
    code, _, err = amber(
        "fixtures", rid, "--source-db", tags_source, "--verify",
        "--app", "tests.testing.apps.pgtags:create_app", "--db-env", "PGTAGS_DB",
        "--reason", "test", "--no-trace",
    )  # fmt: skip
    assert code == 0, err
    assert "trace:" not in err and "verify (10 rows): not reproduced" in err


def test_fixtures_verify_on_postgres_uses_the_trace(
    env: Path, amber: Run, tags_source: str
) -> None:
    rid = _store(env)
    code, out, err = amber(
        "fixtures", rid, "--source-db", tags_source, "--verify",
        "--app", "tests.testing.apps.pgtags:create_app", "--db-env", "PGTAGS_DB",
        "--reason", "test",
    )  # fmt: skip
    assert code == 0, err
    assert "trace: the request read rows of tags 2" in err
    assert "verify (2 rows): reproduced" in err and "wrote" in out


@pytest.fixture
def verify_db(tags_source: str) -> Iterator[str]:
    """A second database prepared as an app's migrations would: the tables, and one row
    they made (tag 100, slug "shared")."""
    from tests.testing.apps.pgtags import make_source

    with fresh_pg_database("amber_verify") as url:
        make_source(url, n=0)
        db = sa.create_engine(normalize_url(url))
        with db.begin() as conn:
            conn.exec_driver_sql("INSERT INTO tags VALUES (100, 'shared', 'made by a migration')")
        db.dispose()
        yield url


def test_verify_db_url_runs_the_app_on_that_database_next_to_its_rows(
    env: Path, amber: Run, tags_source: str, verify_db: str
) -> None:
    """Every verify and shrink run loads the fixture into the given PostgreSQL database,
    merged with the row already there, and removes it after: with tag 100 present, one of
    the two traced rows is enough to fail, which only a run on that database can show
    (on a fresh SQLite file one row never fails)."""
    rid = _store(env)
    before = _digest(tags_source)
    code, _, err = amber(
        "gen-test", rid, "--out", str(env / "t"), "--source-db", tags_source,
        "--app", "tests.testing.apps.pgtags:create_app", "--db-env", "PGTAGS_DB",
        "--verify-db-url", verify_db, "--reason", "test",
    )  # fmt: skip
    assert code == 0, err
    assert "verify (2 rows): reproduced" in err
    assert "reproduced with 1 rows (shrunk from 2)" in err
    # what each run inserted is gone; the migration's row and the source are as they were
    assert _digest(verify_db) == [(100, "shared", "made by a migration")]
    assert _digest(tags_source) == before


def test_verify_db_url_refuses_the_source(env: Path, amber: Run, tags_source: str) -> None:
    rid = _store(env)
    same = tags_source.replace("postgresql://", "postgresql+psycopg://", 1)
    code, _, err = amber(
        "fixtures", rid, "--source-db", tags_source, "--verify",
        "--app", "tests.testing.apps.pgtags:create_app", "--db-env", "PGTAGS_DB",
        "--verify-db-url", same, "--reason", "test",
    )  # fmt: skip
    assert code == 2, err
    assert "--verify-db-url names the source database" in err
    assert _digest(tags_source)[:1] == [(1, "tag-1", "Tag 1")]
