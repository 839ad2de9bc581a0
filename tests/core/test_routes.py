from __future__ import annotations

import pytest

from amber._routes import RoutePattern
from amber._routes import Router
from amber._routes import template_path
from amber.errors import ConfigError


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/users/42/orders/9f1c2d3e-0000-4000-8000-000000000000", "/users/{id}/orders/{id}"),
        ("/users/42/orders/9f1c2d3e000040008000000000000000", "/users/{id}/orders/{id}"),
        ("/objects/507f1f77bcf86cd799439011", "/objects/{id}"),
        ("/r/01ARZ3NDEKTSV4RRFFQ69G5FAV", "/r/{id}"),
        ("/customers/cus_9Xk2LmQ8ab", "/customers/{id}"),
        ("/u/alice@example.com/profile", "/u/{id}/profile"),
        ("/reports/2026-11-23", "/reports/{id}"),
        ("/api/v1/items", "/api/v1/items"),
        ("/static/app.js", "/static/app.js"),
        ("/health", "/health"),
        ("/", "/"),
        ("/users/42?x=1", "/users/{id}"),
    ],
)
def test_default_templates(path: str, template: str) -> None:
    assert template_path(path) == template


def test_configured_patterns_win_and_name_params() -> None:
    r = Router(["/users/{user_id}/orders/{order_id}", "GET /files/{rest*}"])
    assert r.route("GET", "/users/7/orders/9") == "/users/{user_id}/orders/{order_id}"
    assert r.params("GET", "/users/7/orders/9") == {"user_id": "7", "order_id": "9"}
    assert r.route("GET", "/files/a/b.txt") == "/files/{rest*}"
    assert r.route("PUT", "/files/a/b.txt") == "/files/a/b.txt"  # method-scoped pattern
    assert r.params("GET", "/x/5/y/6") == {"id": "5", "id2": "6"}


def test_bad_patterns() -> None:
    with pytest.raises(ConfigError, match="must start with '/'"):
        RoutePattern.parse("users/{id}")
    with pytest.raises(ConfigError, match="twice"):
        RoutePattern.parse("/a/{id}/b/{id}")
