"""A listing app whose module notes each import in a file ($IMPORT_LOG), and, with
$OPEN_AT_IMPORT=1, opens the run's database as it is imported (as an app with a
module-level connection does)."""

from __future__ import annotations

import os
import sqlite3
from typing import Any

from tests.testing.apps.listing import create_app as _listing

with open(os.environ["IMPORT_LOG"], "a", encoding="utf-8") as _log:
    _log.write(f"import {os.getpid()}\n")

CONNECTION = None
if os.environ.get("OPEN_AT_IMPORT") == "1":
    CONNECTION = sqlite3.connect(os.environ["LISTING_DB"].removeprefix("sqlite:///"))
    CONNECTION.execute("PRAGMA user_version").fetchone()


def create_app() -> Any:
    with open(os.environ["IMPORT_LOG"], "a", encoding="utf-8") as log:
        log.write(f"build {os.getpid()}\n")
    return _listing()
