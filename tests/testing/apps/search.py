"""A WSGI search endpoint over the listing app's `tags` table (SQLite, `$SEARCH_DB`) whose
bug needs a few request parts, some of them nested in the JSON body:

`POST /api/search?strict=1` with `X-Api-Version: 2` and a filter slug (JSON
`{"filter": {"where": {"slug": S}}}`, or the form field `slug=S`) fails with a 500 when two
tags share the slug S. Without the header: 400; without `strict=1` or the slug: 200.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs

StartResponse = Callable[..., Any]


def _slug(environ: dict[str, Any]) -> str | None:
    size = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(size).decode("utf-8")
    if "x-www-form-urlencoded" in (environ.get("CONTENT_TYPE") or ""):
        return (parse_qs(raw).get("slug") or [None])[0]
    try:
        doc = json.loads(raw) if raw else {}
        slug = doc["filter"]["where"]["slug"]
    except (ValueError, KeyError, TypeError):
        return None
    return slug if isinstance(slug, str) else None


def create_app() -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    path = os.environ["SEARCH_DB"].removeprefix("sqlite:///")

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("HTTP_X_API_VERSION") != "2":
            start_response("400 Bad Request", [("Content-Type", "text/plain")])
            return [b"X-Api-Version: 2 required"]
        slug = _slug(environ)
        strict = parse_qs(environ.get("QUERY_STRING", "")).get("strict") == ["1"]
        conn = sqlite3.connect(path)
        try:
            rows = conn.execute("SELECT id FROM tags WHERE slug = ?", (slug,)).fetchall()
        finally:
            conn.close()
        if strict and len(rows) > 1:
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
            return [b"internal error"]
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"ids": [r[0] for r in rows]}).encode()]

    return app
