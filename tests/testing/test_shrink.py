from __future__ import annotations

import pytest

from amber.testing import Budget
from amber.testing import ddmin
from amber.testing import shrink
from amber.testing._shrink import closed_rows
from amber.testing._shrink import request_parts
from amber.testing._shrink import without
from tests.testing.reproduce_helpers import reproducer
from tests.testing.reproduce_helpers import tags_fixture


def test_ddmin_finds_the_two_needed_items_deterministically() -> None:
    items = list(range(64))
    calls: list[list[int]] = []

    def test(cand: list[int]) -> bool:
        calls.append(cand)
        return 17 in cand and 42 in cand

    assert ddmin(items, test, Budget()) == [17, 42]
    first = list(calls)
    calls.clear()
    assert ddmin(items, test, Budget()) == [17, 42]
    assert calls == first


def test_ddmin_returns_nothing_when_nothing_is_needed() -> None:
    assert ddmin([1, 2, 3], lambda c: True, Budget()) == []


def test_ddmin_stops_at_the_run_bound_with_a_passing_input() -> None:
    budget = Budget(max_runs=3)
    got = ddmin(list(range(64)), lambda c: 5 in c and 60 in c, budget)
    assert budget.exhausted and budget.runs == 3
    assert 5 in got and 60 in got


def test_removing_a_parent_removes_its_children() -> None:
    fx = tags_fixture(4, notes=True)
    keep = {("tags", 0), ("tags", 1), ("notes", 0), ("notes", 2)}
    assert closed_rows(fx, keep) == {("tags", 0), ("tags", 1), ("notes", 0)}


def test_a_dangling_reference_of_the_source_is_kept() -> None:
    fx = tags_fixture(2, notes=True)
    fx.rows["notes"].append({"id": 9, "tag_id": 99, "body": "orphan"})
    assert ("notes", 2) in closed_rows(fx, {("notes", 2)})


def test_request_parts_headers_query_json_and_form() -> None:
    lit = {
        "method": "POST",
        "path": "/x",
        "query": "a=1&b=2",
        "headers": [["Content-Type", "application/json"], ["X-A", "1"]],
        "body": '{"keep": 1, "drop": 2}',
    }
    parts = request_parts(lit)
    assert ("query", 1) in parts and ("json", "drop") in parts and ("header", 1) in parts
    out = without(lit, {("query", 0), ("json", "drop"), ("header", 1)})
    assert out["query"] == "b=2" and out["body"] == '{"keep":1}'
    assert out["headers"] == [["Content-Type", "application/json"]]
    form = {**lit, "headers": [["Content-Type", "application/x-www-form-urlencoded"]]}
    form["body"] = "x=1&y=2"
    assert without(form, {("form", 0)})["body"] == "y=2"
    assert without(lit, set()) == {**lit}


def test_shrink_keeps_the_two_rows_and_drops_the_request_noise() -> None:
    with reproducer() as r:
        result = shrink(r, tags_fixture(50, notes=True))
    rows = result.fixture.rows
    assert sorted(t["id"] for t in rows["tags"]) == [17, 42]
    assert rows["notes"] == []
    assert result.rows_before == 100 and result.rows_after == 2
    assert result.request["query"] == "" and result.request["headers"] == []
    assert "query parameter page" in result.note() and not result.exhausted


@pytest.mark.parametrize("runs", [5])
def test_shrink_is_bounded(runs: int) -> None:
    with reproducer() as r:
        result = shrink(r, tags_fixture(50), budget=Budget(max_runs=runs))
    assert result.exhausted and result.runs == runs
    assert "may not be minimal" in result.note()
    ids = {t["id"] for t in result.fixture.rows["tags"]}
    assert {17, 42} <= ids


def test_a_fixture_with_a_dangling_reference_loads_and_shrinks() -> None:
    import dataclasses

    fx = tags_fixture(20, duplicate=(3, 9), notes=True)
    notes = fx.tables[1]
    fk = dataclasses.replace(notes.foreign_keys[0], enforced=False)
    fx.tables[1] = dataclasses.replace(notes, foreign_keys=[fk])
    fx.rows["notes"].append({"id": 99, "tag_id": 404, "body": "orphan"})
    with reproducer() as r:
        assert r.verify(fx).reproduced
        result = shrink(r, fx)
    assert sorted(t["id"] for t in result.fixture.rows["tags"]) == [3, 9]
    assert result.fixture.rows["notes"] == []
