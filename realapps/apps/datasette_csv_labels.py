"""Datasette #2214: CSV export with ``?_labels=on`` stops at the first row whose foreign key
does not resolve (a dangling reference), still answering 200: the rows from there on are
silently missing. Fixed in 0.64.6."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from realapps._app import RealApp
from realapps._app import Request
from realapps.apps import _datasette


def seed(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.executescript(
            """
            create table categories (id integer primary key, name text);
            create table items (
                id integer primary key, title text,
                category_id integer references categories(id)
            );
            insert into categories values (1, 'tools'), (2, 'toys');
            insert into items values (1, 'hammer', 1), (2, 'ghost', 99), (3, 'ball', 2);
            """
        )
    db.close()


EXPECT = """testing:
  expect:
    - route: GET /shop/items.csv
      status: 200
      rows: 3
"""

APP = RealApp(
    name="datasette-csv-labels",
    summary="CSV export with expanded labels drops every row from the first dangling "
    "foreign key on (200, truncated body)",
    bug="https://github.com/simonw/datasette/issues/2214",
    framework="Datasette (ASGI, uvicorn)",
    db_layer="stdlib sqlite3",
    failure="wrong 200 (CSV missing rows); dangling reference; needs several rows",
    package="datasette",
    buggy="0.64.5",
    fixed="0.64.6",
    seed=seed,
    db_name="shop",
    serve=_datasette.serve,
    request=Request("GET", "/shop/items.csv?_labels=on&_size=max"),
    glue=_datasette.glue("shop"),
    # the oracle of a wrong 200 (docs/testing.md, testing.expect): the three rows
    config=EXPECT,
)
