from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from amber._store import Store
from amber.fixtures import Fixture
from tests.core.cli.conftest import Run
from tests.testing.apps.listing import make_source
from tests.testing.reproduce_helpers import listing_exchange
from tests.testing.reproduce_helpers import tags_fixture

APP = ["--app", "tests.testing.apps.listing:create_app", "--db-env", "LISTING_DB"]


@pytest.fixture
def stored(env: Path) -> str:
    with Store.open(f"sqlite:///{env / 'store.db'}") as s:
        s.add(dataclasses.replace(listing_exchange(), request_id="req-tags"))
    return "req-tags"


def test_shrink_writes_the_minimal_fixture_and_request(env: Path, amber: Run, stored: str) -> None:
    tags_fixture(50, notes=True).write(env / "fx.yaml")
    code, out, err = amber("shrink", stored, "--fixture", "fx.yaml", "-o", "small.yaml", *APP)
    assert code == 0, err
    assert "reproduced with 2 rows (shrunk from 100)" in out
    assert [r["id"] for r in Fixture.read(env / "small.yaml").rows["tags"]] == [17, 42]
    minimal = json.loads(out.split("the minimal request: ", 1)[1].splitlines()[0])
    assert minimal["query"] == "" and minimal["headers"] == []
    assert len(Fixture.read(env / "fx.yaml").rows["tags"]) == 50  # -o: input untouched


def test_shrink_refuses_a_fixture_that_does_not_reproduce(
    env: Path, amber: Run, stored: str
) -> None:
    tags_fixture(5).write(env / "fx.yaml")
    code, _, err = amber("shrink", stored, "--fixture", "fx.yaml", *APP)
    assert code == 1 and "does not reproduce" in err and "amber fixtures --verify" in err
    code, _, err = amber("shrink", stored, "--fixture", "fx.yaml")
    assert code == 2 and "--app" in err


def test_fixtures_verify_widens_and_reports(env: Path, amber: Run, stored: str) -> None:
    make_source(str(env / "source.db"))
    code, out, err = amber(
        "fixtures", stored, "--source-db", "sqlite:///source.db", "-o", "f.yaml", "--verify",
        *APP, "--reason", "test", "--no-trace",
    )  # fmt: skip
    assert code == 0, err
    assert "reproduced with 50 rows" in out
    assert "widened until the recording reproduced" in err
    code, out, err = amber(
        "fixtures", stored, "--source-db", "sqlite:///source.db", "-o", "g.yaml", "--verify",
        *APP, "--reason", "test", "--widen-max", "10", "--no-trace",
    )  # fmt: skip
    assert code == 1 and "NOT reproduced with 10 rows" in out


def test_fixtures_verify_without_seeds_or_widening_says_what_to_do(
    env: Path, amber: Run, stored: str
) -> None:
    make_source(str(env / "source.db"))
    code, _, err = amber(
        "fixtures", stored, "--source-db", "sqlite:///source.db", "--verify", *APP,
        "--widen-max", "0", "--no-trace",
    )  # fmt: skip
    assert code == 1 and "no seed rows" in err and "--widen-max" in err
