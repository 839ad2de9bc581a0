"""Shared by the verify and shrink tests: the listing app's fixtures and a reproducer."""

from __future__ import annotations

from typing import Any

from amber._model import Exchange
from amber._model import Request
from amber._model import Response
from amber._model import new_id
from amber._pseudonym import Pseudonymizer
from amber.fixtures import ColumnSpec
from amber.fixtures import Fixture
from amber.fixtures import ForeignKeySpec
from amber.fixtures import TableSpec
from amber.sanitize import SanitizeConfig
from amber.sanitize import Sanitizer
from amber.sanitize import TargetSanitizer
from amber.testing import Reproducer

APP = "tests.testing.apps.listing:create_app"
TAGS = TableSpec(
    "tags",
    [
        ColumnSpec("id", "integer", False),
        ColumnSpec("slug", "text", False),
        ColumnSpec("label", "text", False),
    ],
    ("id",),
)
NOTES = TableSpec(
    "notes",
    [
        ColumnSpec("id", "integer", False),
        ColumnSpec("tag_id", "integer"),
        ColumnSpec("body", "text"),
    ],
    ("id",),
    [ForeignKeySpec(("tag_id",), "tags", ("id",))],
)


def tags_fixture(
    n: int = 50, duplicate: tuple[int, ...] = (17, 42), notes: bool = False
) -> Fixture:
    tags = [
        {"id": i, "slug": "shared" if i in duplicate else f"tag-{i}", "label": f"Tag {i}"}
        for i in range(1, n + 1)
    ]
    rows: dict[str, list[dict[str, Any]]] = {"tags": tags}
    tables = [TAGS]
    if notes:
        tables.append(NOTES)
        rows["notes"] = [{"id": i, "tag_id": i, "body": f"note {i}"} for i in range(1, n + 1)]
    return Fixture(tables, rows)


def listing_exchange(
    status: int = 500,
    body: bytes = b"internal error",
    *,
    query: str = "page=1&sort=slug",
    headers: tuple[tuple[str, str], ...] = (("Accept", "application/json"), ("X-Trace", "t")),
) -> Exchange:
    return Exchange(
        new_id(946681200.0),
        Request("GET", "http", "api", 80, "/api/tags", query=query, headers=headers),
        Response(status, headers=(("Content-Type", "text/plain"),), body=body),
    )


def sanitizer() -> TargetSanitizer:
    return TargetSanitizer(Sanitizer(SanitizeConfig(), Pseudonymizer(b"k" * 32)))


def reproducer(ex: Exchange | None = None, **kw: Any) -> Reproducer:
    return Reproducer(ex or listing_exchange(), APP, "LISTING_DB", sanitizer(), **kw)
