"""A Flask app that reads PostgreSQL through psycopg 3 (`create_app`) or through SQLAlchemy
(`create_sa_app`), and SQLite through sqlite3/SQLAlchemy when verified on a fixture, with a
bug that needs two rows: `GET /api/tags?slug=S` fails with a 500 when two tags share the
slug S (the buggy build assumes slugs are unique). `PGTAGS_FIXED=1` is the fixed build.

The database is `$PGTAGS_DB`: `postgresql://...` or `sqlite:///PATH`.
`POST /api/tags` writes (to show that a traced run cannot).
"""

from __future__ import annotations

import os
import sqlite3
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask import jsonify
from flask import request

SCHEMA = (
    "CREATE TABLE tags (id INTEGER PRIMARY KEY, slug TEXT NOT NULL, label TEXT NOT NULL)",
    "CREATE TABLE notes (id INTEGER PRIMARY KEY, tag_id INTEGER REFERENCES tags(id), body TEXT)",
)


def make_source(url: str, n: int = 50, duplicate: tuple[int, int] = (17, 42)) -> None:
    """`n` tags with distinct slugs but for the two ids in `duplicate`; a note per tag."""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        for sql in SCHEMA:
            conn.exec_driver_sql(sql)
        for i in range(1, n + 1):
            slug = "shared" if i in duplicate else f"tag-{i}"
            conn.execute(
                sa.text("INSERT INTO tags VALUES (:i, :s, :l)"),
                {"i": i, "s": slug, "l": f"Tag {i}"},
            )
            conn.execute(
                sa.text("INSERT INTO notes VALUES (:i, :i, :b)"), {"i": i, "b": f"note {i}"}
            )
    engine.dispose()


def _answer(rows: list[tuple[Any, ...]]) -> Any:
    if len({r[1] for r in rows}) < len(rows) and os.environ.get("PGTAGS_FIXED") != "1":
        return "internal error", 500, {"Content-Type": "text/plain"}
    return jsonify({"tags": [{"id": r[0], "slug": r[1], "label": r[2]} for r in rows]})


def create_app() -> Flask:
    """psycopg 3 on PostgreSQL (sqlite3 on a verification's SQLite database)."""
    url = os.environ["PGTAGS_DB"]
    app = Flask(__name__)

    def query(sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        if url.startswith("sqlite:///"):
            conn = sqlite3.connect(url.removeprefix("sqlite:///"))
            try:
                return conn.execute(sql.replace("%s", "?"), params).fetchall()
            finally:
                conn.commit()
                conn.close()
        import psycopg

        with psycopg.connect(url) as pconn:
            return pconn.execute(sql, params).fetchall()

    @app.get("/api/tags")
    def tags() -> Any:
        slug = request.args.get("slug", "")
        rows = query("SELECT id, slug, label FROM tags WHERE slug = %s ORDER BY id", (slug,))
        return _answer(rows)

    @app.post("/api/tags")
    def add() -> Any:
        query("INSERT INTO tags VALUES (%s, %s, %s)", (999, "new", "New"))
        rows = query("SELECT id, slug, label FROM tags WHERE id = %s", (999,))
        return _answer(rows)

    return app


def create_sa_app() -> Flask:
    """SQLAlchemy (psycopg 3 dialect on PostgreSQL)."""
    url = os.environ["PGTAGS_DB"].replace("postgresql://", "postgresql+psycopg://", 1)
    engine = sa.create_engine(url, poolclass=sa.NullPool)  # a connection per request
    meta = sa.MetaData()
    tags_t = sa.Table(
        "tags",
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("slug", sa.Text),
        sa.Column("label", sa.Text),
    )
    app = Flask(__name__)

    @app.get("/api/tags")
    def tags() -> Any:
        slug = request.args.get("slug", "")
        stmt = sa.select(tags_t.c.id, tags_t.c.slug, tags_t.c.label).where(tags_t.c.slug == slug)
        with engine.connect() as conn:
            rows = [tuple(r) for r in conn.execute(stmt.order_by(tags_t.c.id))]
        return _answer(rows)

    return app
