"""What the pypicloud entries share: the seed, the in-process factory and how a build is
served (waitress on the factory)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

# sha512_crypt (passlib, pypicloud's default scheme) of "ann-secret" and "root-secret": the
# hashes a production database holds; the capture sends ann's credentials
ANN_PASSWORD = "ann-secret"
_ANN_HASH = (
    "$6$realappsseedsalt$Gf7j9injFkjX.4fDHL4gIgxO8TXQ0rX4.BWyDauyNY.9OnUZ16T3ADMmYYLFktkOLrPU4m2"
    "4Rf.qzrMjDcLrp1"
)
_ROOT_HASH = (
    "$6$realappsseedsal2$HmfAkjm.L3yMw91YFhevoj37ALCKu5.1WAxE6Wg.ADqflgxiZD47iU/J53Kt5A5hBIaVVKp"
    "9PzBxkqHzGZR0m1"
)

# pypicloud's tables as its SQL cache and SQL access backend create them (1.2.x)
SCHEMA = """
create table pypicloud_users (
    username varchar(255) not null primary key, password text not null,
    admin boolean not null, pending boolean not null
);
create table pypicloud_groups (name varchar(255) not null primary key);
create table pypicloud_user_groups (
    username varchar(255) not null references pypicloud_users (username) on delete cascade,
    "group" varchar(255) not null references pypicloud_groups (name) on delete cascade,
    primary key (username, "group")
);
create table pypicloud_user_permissions (
    package varchar(255) not null, read boolean, write boolean,
    username varchar(255) not null references pypicloud_users (username) on delete cascade,
    primary key (package, username)
);
create table pypicloud_group_permissions (
    package varchar(255) not null, read boolean, write boolean,
    groupname varchar(255) not null references pypicloud_groups (name) on delete cascade,
    primary key (package, groupname)
);
create table pypicloud_keyvals ("key" varchar(255) not null primary key, value text);
create table packages (
    filename varchar(255) not null primary key, name varchar(255) not null,
    version varchar(1000) not null, last_modified datetime not null, summary text,
    data text not null
);
create index ix_packages_name on packages (name);
create index ix_packages_last_modified on packages (last_modified);
"""


def seed(path: Path) -> None:
    """An admin (root) and a user (ann) who may read acme-utils: pypicloud's SQL access
    backend, and three package files in its SQL cache (the files themselves are not needed
    to list them)."""
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA)
        db.executemany(
            "insert into pypicloud_users values (?, ?, ?, ?)",
            [("root", _ROOT_HASH, 1, 0), ("ann", _ANN_HASH, 0, 0)],
        )
        db.execute("insert into pypicloud_user_permissions values ('acme-utils', 1, 0, 'ann')")
        db.executemany(
            "insert into packages values (?, ?, ?, ?, ?, '{}')",
            [
                ("acme_utils-1.0.0-py3-none-any.whl", "acme-utils", "1.0.0",
                 "2021-06-01 10:00:00.000000", "Shared utilities"),
                ("acme_utils-1.1.0-py3-none-any.whl", "acme-utils", "1.1.0",
                 "2021-06-05 10:00:00.000000", "Shared utilities"),
                ("other-2.0-py3-none-any.whl", "other", "2.0",
                 "2021-06-02 10:00:00.000000", "Another package"),
            ],
        )  # fmt: skip
    db.close()


# pypicloud 1.2 (mid-2021) on Python 3.11: its dependency pyramid_duh 0.1.2 (2014, the last
# release) calls inspect.getargspec, removed in 3.11; the factory puts it back (3 lines)
# before importing pypicloud. The settings are those of its SQL cache and SQL access backend
# on one SQLite file, package files on disk next to it, no fallback to pypi.org.
GLUE = """import collections
import inspect
import os

_ArgSpec = collections.namedtuple("_ArgSpec", "args varargs keywords defaults")
inspect.getargspec = lambda f: _ArgSpec(*inspect.getfullargspec(f)[:4])

from pypicloud import main  # noqa: E402


def create_app():
    url = os.environ["REALAPPS_DATABASE_URL"]
    files = os.path.join(os.path.dirname(url.removeprefix("sqlite:///")), "files")
    settings = {"pypi.db": "sql", "db.url": url, "pypi.auth": "sql", "auth.db.url": url,
                "pypi.storage": "file", "storage.dir": files, "pypi.fallback": "none",
                "pypi.default_read": "authenticated", "session.encrypt_key": "k" * 32,
                "session.validate_key": "v" * 32}
    return main({}, **settings)
"""


def serve(python: Path, db: Path, port: int) -> list[str]:
    """The factory above under waitress (what pypicloud's own config template serves with)."""
    script = (
        "import os, sys, waitress\n"
        "os.environ['REALAPPS_DATABASE_URL'] = 'sqlite:///' + sys.argv[1]\n"
        f"exec(compile({GLUE!r}, 'realapps_glue', 'exec'))\n"
        "waitress.serve(create_app(), host='127.0.0.1', port=int(sys.argv[2]))\n"
    )
    return [str(python), "-c", script, str(db), str(port)]
