"""`amber gen-test` on a wrong 200 with `testing.expect`: verify judges by the declared
expectation (not the recorded body), says so, keeps the rows, and the test it writes fails
on the buggy build and passes on the fixed one."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

from amber._model import Response
from amber._store import Store
from amber.fixtures import Fixture
from tests.core.cli.conftest import Run
from tests.testing.apps.csv_export import csv_body
from tests.testing.apps.listing import make_source
from tests.testing.reproduce_helpers import listing_exchange

ROOT = Path(__file__).resolve().parents[3]
CSV_APP = "tests.testing.apps.csv_export:create_app"


def _pytest(tests: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    environ.pop("LISTING_DB", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)],
        cwd=tests.parent,
        env=environ,
        capture_output=True,
        text=True,
        check=False,
    )


def _store(env: Path, expect: str) -> str:
    make_source(str(env / "source.db"))
    ex = listing_exchange(200, b"", query="")
    body = csv_body(50, upto=42)  # the buggy export: 41 of the 50 rows
    ex = dataclasses.replace(
        ex,
        request=dataclasses.replace(ex.request, path="/api/tags.csv"),
        response=Response(200, headers=(("Content-Type", "text/csv"),), body=body),
        route="/api/tags.csv",
        request_id="req-csv",
    )
    with Store.open(f"sqlite:///{env / 'store.db'}") as s:
        s.add(ex)
    (env / "amber.yaml").write_text(
        f"testing:\n  expect:\n    - route: GET /api/tags.csv\n{expect}", encoding="utf-8"
    )
    return "req-csv"


def test_a_truncated_csv_is_verified_by_its_declared_rows(env: Path, amber: Run) -> None:
    rid = _store(env, "      status: 200\n      rows: 50\n      contains: tag-50\n")
    code, _, err = amber(
        "gen-test", rid, "--out", str(env / "t"), "--source-db", "sqlite:///source.db",
        "--app", CSV_APP, "--db-env", "LISTING_DB", "--reason", "test",
    )  # fmt: skip
    assert code == 0, err
    oracle = "verify judges by the expectation of testing.expect (status 200, contains 'tag-50', "
    assert oracle + "rows 50)" in err, err
    assert "the recorded answer misses it (contains 'tag-50': absent; rows: 41)" in err
    assert "the recorded body is not compared" in err
    assert "reproduced with 50 rows" in err
    # the expectation needs the recorded data: no row is shrunk away
    fixture = next((env / "t" / "fixtures").glob("*.yaml"))
    assert len(Fixture.read(fixture).rows["tags"]) == 50
    test = next((env / "t").glob("test_*.py"))
    text = test.read_text()
    assert "# amber: verify judged by the expectation of testing.expect" in text
    assert "rows=50," in text and 'contains="tag-50"' in text and "status=200," in text
    assert "Rows not shrunk" in text
    buggy = _pytest(env / "t")
    assert buggy.returncode == 1 and "the body does not contain 'tag-50'" in (buggy.stdout), (
        buggy.stdout
    )
    assert _pytest(env / "t", LISTING_FIXED="1").returncode == 0


def test_an_expectation_the_recording_meets_is_reported_not_reproduced(
    env: Path, amber: Run
) -> None:
    rid = _store(env, "      rows: 41\n")
    code, _, err = amber(
        "gen-test", rid, "--out", str(env / "t"), "--source-db", "sqlite:///source.db",
        "--app", CSV_APP, "--db-env", "LISTING_DB", "--reason", "test", "--widen-max", "0",
    )  # fmt: skip
    assert code == 1
    assert "the recorded answer meets it" in err
    assert "declare in testing.expect" in err
    text = next((env / "t").glob("test_*.py")).read_text()
    assert "UNVERIFIED" in text and "verify judged by the expectation" in text
