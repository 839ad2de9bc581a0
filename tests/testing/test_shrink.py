from __future__ import annotations

import json
from typing import Any

import pytest

from amber.testing import Budget
from amber.testing import Reproducer
from amber.testing import ddmin
from amber.testing import shrink
from amber.testing._shrink import closed_rows
from amber.testing._shrink import describe_part
from amber.testing._shrink import json_children
from amber.testing._shrink import json_path
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
    assert ("query", 1) in parts and ("json", ("drop",)) in parts and ("header", 1) in parts
    out = without(lit, {("query", 0), ("json", ("drop",)), ("header", 1)})
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


NESTED = {
    "filter": {"where": {"slug": "shared", "label": "x"}, "order": ["id", "-slug"]},
    "page": {"size": 10, "cursor": None},
    "debug": True,
}


def _search(body: str, content_type: str = "application/json") -> Any:
    from amber._model import Exchange
    from amber._model import Request
    from amber._model import Response
    from amber._model import new_id
    from tests.testing.reproduce_helpers import sanitizer

    headers = (("Content-Type", content_type), ("X-Api-Version", "2"), ("Accept", "*/*"))
    ex = Exchange(
        new_id(946681200.0),
        Request(
            "POST", "http", "api", 80, "/api/search", query="strict=1&trace=abc",
            headers=headers, body=body.encode(),
        ),
        Response(500, headers=(("Content-Type", "text/plain"),), body=b"internal error"),
    )  # fmt: skip
    return Reproducer(ex, "tests.testing.apps.search:create_app", "SEARCH_DB", sanitizer())


def test_json_members_are_parts_by_path_level_by_level() -> None:
    lit = {"method": "POST", "path": "/x", "query": "", "headers": [], "body": json.dumps(NESTED)}
    assert [p for p in request_parts(lit)] == [
        ("json", ("filter",)), ("json", ("page",)), ("json", ("debug",))
    ]  # fmt: skip
    assert json_children(lit, ("json", ("filter",))) == [
        ("json", ("filter", "where")), ("json", ("filter", "order"))
    ]  # fmt: skip
    assert json_children(lit, ("json", ("filter", "order"))) == [
        ("json", ("filter", "order", 0)), ("json", ("filter", "order", 1))
    ]  # fmt: skip
    assert json_children(lit, ("json", ("debug",))) == []
    out = without(lit, {("json", ("filter", "where", "label")), ("json", ("filter", "order", 0))})
    assert json.loads(out["body"])["filter"] == {"where": {"slug": "shared"}, "order": ["-slug"]}
    assert json_path(("filter", "order", 0)) == "filter.order[0]"
    assert json_path(("a.b", "c d", 2, "e")) == '["a.b"]["c d"][2].e'
    assert describe_part(lit, ("json", ("page", "size"))) == "JSON field page.size"
    array = {**lit, "body": '[{"a": 1}, 2]'}
    assert request_parts(array) == [("json", (0,)), ("json", (1,))]
    assert without(array, {("json", (0, "a"))})["body"] == "[{},2]"


def test_shrink_keeps_the_nested_field_the_failure_needs_and_names_what_went() -> None:
    with _search(json.dumps(NESTED)) as r:
        result = shrink(r, tags_fixture(20, duplicate=(3, 9)))
        assert r.verify(result.fixture, result.request).reproduced
    assert json.loads(result.request["body"]) == {"filter": {"where": {"slug": "shared"}}}
    assert result.request["query"] == "strict=1"
    assert [h[0] for h in result.request["headers"]] == ["X-Api-Version"]
    assert result.removed_parts == [
        "header Content-Type", "header Accept", "query parameter trace",
        "JSON field page", "JSON field debug", "JSON field filter.order",
        "JSON field filter.where.label",
    ]  # fmt: skip
    assert "JSON field filter.where.label" in result.note() and not result.exhausted
    again = None
    with _search(json.dumps(NESTED)) as r:
        again = shrink(r, tags_fixture(20, duplicate=(3, 9)))
    assert again.request == result.request and again.runs == result.runs


def test_shrink_keeps_the_form_field_the_failure_needs() -> None:
    form = "extra=1&slug=shared&more=2"
    with _search(form, "application/x-www-form-urlencoded") as r:
        result = shrink(r, tags_fixture(20, duplicate=(3, 9)))
    assert result.request["body"] == "slug=shared"
    assert "form field extra" in result.removed_parts and "form field more" in result.removed_parts
    assert "header Content-Type" not in result.removed_parts


def test_nested_shrinking_is_bounded_too() -> None:
    with _search(json.dumps(NESTED)) as r:
        fx = tags_fixture(20, duplicate=(3, 9))
        result = shrink(r, fx, budget=Budget(max_runs=6), rows=False)
        assert r.verify(result.fixture, result.request).reproduced
    assert result.exhausted and result.runs == 6 and "may not be minimal" in result.note()


def test_the_note_names_twenty_removed_parts_and_counts_the_rest() -> None:
    import dataclasses

    with _search(json.dumps({"filter": {"where": {"slug": "shared"}}})) as r:
        result = shrink(r, tags_fixture(4, duplicate=(1, 2)), rows=False)
    many = dataclasses.replace(result, removed_parts=[f"JSON field f{i}" for i in range(25)])
    assert "JSON field f19 and 5 more" in many.note() and "f20" not in many.note()
