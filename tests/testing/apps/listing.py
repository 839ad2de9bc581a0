"""A listing endpoint on the standard library's sqlite3 (no ORM), with a bug that needs
two rows: `GET /api/tags` fails with a 500 when two tags share a slug (the buggy build
indexes tags by slug and assumes slugs are unique). `LISTING_FIXED=1` is the fixed build.

The database is `$LISTING_DB` (`sqlite:///PATH`); `create_app()` is the WSGI factory.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

StartResponse = Callable[..., Any]

SCHEMA = (
    "CREATE TABLE tags (id INTEGER PRIMARY KEY, slug TEXT NOT NULL, label TEXT NOT NULL)",
    "CREATE TABLE notes (id INTEGER PRIMARY KEY, tag_id INTEGER REFERENCES tags(id), body TEXT)",
)


def make_source(path: str, n: int = 50, duplicate: tuple[int, int] = (17, 42)) -> None:
    """A source database: `n` tags with distinct slugs but for the two ids in `duplicate`,
    which share one; a note per tag."""
    conn = sqlite3.connect(path)
    with conn:
        for sql in SCHEMA:
            conn.execute(sql)
        for i in range(1, n + 1):
            slug = "shared" if i in duplicate else f"tag-{i}"
            conn.execute("INSERT INTO tags VALUES (?, ?, ?)", (i, slug, f"Tag {i}"))
            conn.execute("INSERT INTO notes VALUES (?, ?, ?)", (i, i, f"note {i}"))
    conn.close()


def create_app() -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    url = os.environ["LISTING_DB"]
    path = url.removeprefix("sqlite:///")
    fixed = os.environ.get("LISTING_FIXED") == "1"

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ["PATH_INFO"] != "/api/tags":
            start_response("404 Not Found", [("Content-Type", "application/json")])
            return [b'{"error": "not found"}']
        conn = sqlite3.connect(path)
        try:
            rows = conn.execute("SELECT id, slug, label FROM tags ORDER BY id").fetchall()
        finally:
            conn.close()
        by_slug: dict[str, dict[str, Any]] = {}
        for id_, slug, label in rows:
            if slug in by_slug and not fixed:
                start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
                return [b"internal error"]
            by_slug.setdefault(slug, {"id": id_, "slug": slug, "labels": []})["labels"].append(
                label
            )
        body = json.dumps({"tags": list(by_slug.values())}).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]

    return app
