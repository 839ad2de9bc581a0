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
