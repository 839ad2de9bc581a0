"""What the Datasette entries share: how a build is served and the in-process factory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def serve(python: Path, db: Path, port: int) -> list[str]:
    """``datasette serve`` on one database file (named after the file's stem)."""
    return [
        str(python.with_name("datasette")),
        "serve",
        str(db),
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
    ]


def glue(db_name: str) -> str:
    """The in-process factory: the test database under the name the captured URL uses."""
    return f'''import os

from datasette.app import Datasette
from datasette.database import Database


def create_app():
    ds = Datasette([])
    path = os.environ["REALAPPS_DATABASE_URL"].removeprefix("sqlite:///")
    ds.add_database(Database(ds, path=path, is_mutable=True), name="{db_name}")
    return ds.app()
'''


def serve_glue(glue_text: str) -> Callable[[Path, Path, int], list[str]]:
    """Serve the in-process factory itself under uvicorn (for entries whose start-up needs
    configuration that ``datasette serve`` would take from files)."""
    script = (
        "import os, sys, uvicorn\n"
        "os.environ['REALAPPS_DATABASE_URL'] = 'sqlite:///' + sys.argv[1]\n"
        f"exec(compile({glue_text!r}, 'realapps_glue', 'exec'))\n"
        "uvicorn.run(create_app(), host='127.0.0.1', port=int(sys.argv[2]), log_level='warning')\n"
    )

    def serve(python: Path, db: Path, port: int) -> list[str]:
        return [str(python), "-c", script, str(db), str(port)]

    return serve
