"""A CSV export with a wrong-200 bug (as Datasette #2214): `GET /api/tags.csv` lists the
tags as CSV, and the buggy build stops at the first tag whose slug an earlier tag already
has, still answering 200: every row from there on is silently missing.
`LISTING_FIXED=1` is the fixed build. The database is the listing app's (`make_source`),
`$LISTING_DB`; `create_app()` is the WSGI factory.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

StartResponse = Callable[..., Any]


def create_app() -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    path = os.environ["LISTING_DB"].removeprefix("sqlite:///")
    fixed = os.environ.get("LISTING_FIXED") == "1"

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ["PATH_INFO"] != "/api/tags.csv":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        conn = sqlite3.connect(path)
        try:
            rows = conn.execute("SELECT id, slug, label FROM tags ORDER BY id").fetchall()
        finally:
            conn.close()
        lines = ["id,slug,label"]
        seen: set[str] = set()
        for id_, slug, label in rows:
            if slug in seen and not fixed:
                break
            seen.add(slug)
            lines.append(f"{id_},{slug},{label}")
        start_response("200 OK", [("Content-Type", "text/csv; charset=utf-8")])
        return [("\r\n".join(lines) + "\r\n").encode()]

    return app


def csv_body(n: int, upto: int | None = None, duplicate: tuple[int, ...] = (17, 42)) -> bytes:
    """The export of `make_source(n)` as a build answers it: up to tag `upto` (excluded)."""
    lines = ["id,slug,label"]
    for i in range(1, n + 1):
        if upto is not None and i >= upto:
            break
        lines.append(f"{i},{'shared' if i in duplicate else f'tag-{i}'},Tag {i}")
    return ("\r\n".join(lines) + "\r\n").encode()
