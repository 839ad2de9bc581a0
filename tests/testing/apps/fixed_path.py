"""A Flask build of the listing endpoint that opens its database by a fixed relative path,
`data/app.db` (no URL in an env var): `GET /api/tags` fails with a 500 when two tags share
a slug, as `listing` does."""

from __future__ import annotations

import sqlite3
from typing import Any

from flask import Flask
from flask import jsonify

DB = "data/app.db"


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/api/tags")
    def tags() -> Any:
        conn = sqlite3.connect(DB)
        try:
            rows = conn.execute("SELECT id, slug, label FROM tags ORDER BY id").fetchall()
        finally:
            conn.close()
        by_slug: dict[str, Any] = {}
        for id_, slug, label in rows:
            if slug in by_slug:
                raise RuntimeError(f"duplicate slug {slug}")
            by_slug[slug] = {"id": id_, "slug": slug, "labels": [label]}
        return jsonify(tags=list(by_slug.values()))

    return app
