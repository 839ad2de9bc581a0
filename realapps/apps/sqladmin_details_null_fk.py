"""sqladmin #167: the details page (and the list) of a row whose nullable foreign key is NULL
answers 500 (``AttributeError: 'NoneType' object has no attribute 'id'``: the link to the
related row is built without checking that there is one). Rows with a parent do not trigger
it. Starlette + SQLAlchemy 1.4 ORM. Fixed in 0.1.10."""

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
            create table teams (id integer primary key, name text);
            create table users (
                id integer primary key, name text,
                team_id integer references teams(id)
            );
            insert into teams values (1, 'core'), (2, 'docs');
            insert into users values (1, 'ann', 1), (2, 'bob', null), (3, 'cy', 2);
            """
        )
    db.close()


# sqladmin is an admin for the app's own models: the glue declares the two models (as the
# app would) and mounts the admin on a Starlette app.
GLUE = """import os

from sqladmin import Admin, ModelAdmin
from sqlalchemy import Column, ForeignKey, Integer, String, create_engine
from sqlalchemy.orm import declarative_base, relationship
from starlette.applications import Starlette

Base = declarative_base()


class Team(Base):
    __tablename__ = "teams"
    id = Column(Integer, primary_key=True)


class User(Base):
    __tablename__ = "users"
    id = Column(Integer, primary_key=True)
    name = Column(String)
    team_id = Column(Integer, ForeignKey("teams.id"))
    team = relationship(Team)


def create_app():
    app = Starlette()
    admin = Admin(app, create_engine(os.environ["REALAPPS_DATABASE_URL"]))
    admin.register_model(type("UserAdmin", (ModelAdmin,), {}, model=User))
    return app
"""

APP = RealApp(
    name="sqladmin-details-null-fk",
    summary="details page of a row whose nullable foreign key is NULL answers 500",
    bug="https://github.com/smithyhq/sqladmin/issues/167",
    framework="Starlette (sqladmin, uvicorn)",
    db_layer="SQLAlchemy 1.4 ORM (SQLite)",
    failure="5xx on a detail page; needs a row with a NULL foreign key",
    package="sqladmin",
    buggy="0.1.9",
    fixed="0.1.10",
    # the releases of mid-2022 and what they ran on (today's Starlette and WTForms dropped
    # what they use); SQLAlchemy 1.4 next to amber's test runtime
    pins=("starlette==0.20.4", "SQLAlchemy==1.4.54", "WTForms==3.0.1", "uvicorn"),
    seed=seed,
    db_name="app",
    serve=_datasette.serve_glue(GLUE),
    request=Request("GET", "/admin/user/details/2"),
    glue=GLUE,
    config="""fixtures:
  rules:
    - route: GET /admin/user/details/{id}
      seeds:
        - users.id = {path.id}
""",
)
