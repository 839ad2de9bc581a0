"""Datasette #1228: a table with a text column named ``n`` makes the table page and its JSON
answer 500 (the facet-suggestion query's ``count(*) as n`` shadows the column, then a text
value is compared with an int). Integer values in ``n`` do not trigger it. Fixed in 0.61."""

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
            create table counts (id integer primary key, state text, n text);
            insert into counts (state, n) values
                ('CA', 'n1'), ('CA', 'n2'), ('MI', null), ('MI', null), ('CA', null);
            """
        )
    db.close()


APP = RealApp(
    name="datasette-facet-n",
    summary="table JSON answers 500 when a text column is named n",
    bug="https://github.com/simonw/datasette/issues/1228",
    framework="Datasette (ASGI, uvicorn)",
    db_layer="stdlib sqlite3",
    failure="5xx on a listing endpoint; needs several rows (text values in n)",
    package="datasette",
    buggy="0.60.2",
    fixed="0.61",
    seed=seed,
    db_name="stats",
    serve=_datasette.serve,
    request=Request("GET", "/stats/counts.json"),
    glue=_datasette.glue("stats"),
    config="""fixtures:
  rules:
    - route: GET /stats/counts.json
      seeds:
        - counts.state = CA
""",
)
