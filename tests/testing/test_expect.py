"""testing.expect: the entry of an exchange's route, and what a bad entry is told."""

from __future__ import annotations

import pytest

from amber._model import Exchange
from amber._model import Request
from amber._model import new_id
from amber.errors import ConfigError
from amber.testing._expect import expectation_for


def _ex(method: str, path: str, route: str | None) -> Exchange:
    return Exchange(new_id(), Request(method, "http", "api", 80, path), None, route=route)


def test_the_first_entry_of_the_route_and_method_applies() -> None:
    entries = [
        {"route": "POST /users/{id}", "status": 201},
        {"route": "/users/{id}", "status": 200, "json": {"ok": True}},
        {"route": "GET /users/{id}", "status": 204},
    ]
    assert expectation_for(entries, _ex("POST", "/users/1", "/users/{id}")) == {"status": 201}
    got = expectation_for(entries, _ex("GET", "/users/1", "/users/{id}"))
    assert got == {"status": 200, "json": {"ok": True}}
    # without a route template, the path itself is matched
    assert expectation_for([{"route": "/health", "lines": 1}], _ex("GET", "/health", None)) == {
        "lines": 1
    }
    assert expectation_for(entries, _ex("GET", "/other", "/other")) == {}
    assert expectation_for([], _ex("GET", "/x", None)) == {}


def test_a_template_matches_the_request_path_whatever_route_was_recorded() -> None:
    # the capture's heuristics recorded the literal path (no numeric id in it), or named
    # the parameter otherwise: the entry's template still applies, as fixtures.rules do
    entries = [{"route": "GET /pypi/{package}/json", "status": 200}]
    literal = _ex("GET", "/pypi/acme-utils/json", "/pypi/acme-utils/json")
    assert expectation_for(entries, literal) == {"status": 200}
    renamed = [{"route": "/api/customers/{customer_id}/orders", "rows": 2}]
    recorded = _ex("GET", "/api/customers/7/orders?page=2", "/api/customers/{id}/orders")
    assert expectation_for(renamed, recorded) == {"rows": 2}
    # another method, another path, a longer path: no entry
    assert expectation_for(entries, _ex("POST", "/pypi/acme-utils/json", None)) == {}
    assert expectation_for(entries, _ex("GET", "/pypi/acme-utils/json/x", None)) == {}
    assert expectation_for(entries, _ex("GET", "/simple/acme-utils/", None)) == {}


@pytest.mark.parametrize(
    ("entry", "key"),
    [
        ({"status": 200}, "testing.expect[0]"),
        ({"route": "/x", "stauts": 200}, "testing.expect[0].stauts"),
        ({"route": "/x", "status": "200"}, "testing.expect[0].status"),
        ({"route": "/x", "contains": [1]}, "testing.expect[0].contains"),
        ({"route": "/x", "rows": -1}, "testing.expect[0].rows"),
        ({"route": "/x", "predicate": "no_colon"}, "testing.expect[0].predicate"),
    ],
)
def test_bad_entries_name_their_key(entry: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as e:
        expectation_for([entry], _ex("GET", "/x", "/x"))
    assert e.value.key == key
    with pytest.raises(ConfigError, match="expected a list"):
        expectation_for({"route": "/x"}, _ex("GET", "/x", "/x"))


def test_checks_say_what_an_answer_shows_for_each_declared_check() -> None:
    from amber.testing._expect import checks

    body = b"id,name\r\n1,a\r\n\r\n2,b\r\n"
    expect = {
        "status": [200, 204],
        "contains": ["1,a", "3,c"],
        "not_contains": "Traceback",
        "lines": 4,
        "rows": 2,
    }
    got = {c.name: (c.ok, c.observed) for c in checks(expect, 200, body)}
    assert got == {
        "status": (True, "200"),
        "contains '1,a'": (True, "present"),
        "contains '3,c'": (False, "absent"),
        "not contains 'Traceback'": (True, "absent"),
        "lines": (False, "3"),
        "rows": (True, "2"),
    }
    # JSON: a mapping's fields one by one (a subset), any other value the whole body
    doc = b'{"total": 3, "items": [1, 2]}'
    got = {c.name: c.ok for c in checks({"json": {"total": 3, "items": []}}, 200, doc)}
    assert got == {"json.total": True, "json.items": False}
    assert [c.ok for c in checks({"json": [1]}, 200, doc)] == [False]
    assert [c.observed for c in checks({"json": {"a": 1}}, 200, b"<html>")] == ["not a JSON body"]
    assert [c.ok for c in checks({"whole_json": {"total": 3}}, 200, doc)] == [False]
    # a predicate that cannot run here is left out; one that can is a check
    assert checks({"predicate": "m:f"}, 200, b"", lambda spec: None) == []
    assert [c.ok for c in checks({"predicate": "m:f"}, 200, b"", lambda spec: False)] == [False]


def test_an_expectation_is_described_in_one_line() -> None:
    from amber.testing._expect import describe_expectation

    text = describe_expectation(
        {"status": 200, "rows": 3, "contains": ["a", "b"], "json": {"k": "v" * 100}}
    )
    assert text.startswith('status 200, json {"k": "vvv') and text.endswith(
        "contains 'a', contains 'b', rows 3"
    )
    assert len(text) < 120
    assert describe_expectation({}) == "nothing"
