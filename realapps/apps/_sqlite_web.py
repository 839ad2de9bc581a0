"""What the sqlite-web entries share: how a build is served and the in-process factory."""

from __future__ import annotations

from pathlib import Path

PASSWORD = "realapps-test-password"


def serve(python: Path, db: Path, port: int) -> list[str]:
    """``sqlite_web`` (Flask's development server) on one database file, no browser."""
    exe = str(python.with_name("sqlite_web"))
    return [exe, str(db), "-H", "127.0.0.1", "-p", str(port), "-x"]


def serve_with_password(python: Path, db: Path, port: int) -> list[str]:
    """The same behind sqlite-web's login form (``-P``; the password from the environment)."""
    return ["env", f"SQLITE_WEB_PASSWORD={PASSWORD}", *serve(python, db, port), "-P"]


GLUE = """import os

from sqlite_web.sqlite_web import app, initialize_app


def create_app():
    initialize_app(os.environ["REALAPPS_DATABASE_URL"].removeprefix("sqlite:///"))
    return app
"""

GLUE_WITH_PASSWORD = f"""import os

from sqlite_web.sqlite_web import app, initialize_app


def create_app():
    path = os.environ["REALAPPS_DATABASE_URL"].removeprefix("sqlite:///")
    initialize_app(path, password="{PASSWORD}")
    return app
"""
