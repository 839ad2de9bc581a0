"""A corpus of unmodified open-source apps from PyPI with real, data-dependent bugs.

Each app module (``realapps/apps/<name>.py``) declares one bug fixed between two released
versions: the pinned buggy and fixed releases, how to serve a build on 127.0.0.1 with a given
SQLite database, the seed data, the request that triggers the bug, and the glue amber needs
(an ``amber.yaml`` and an app factory of a few lines). ``python -m realapps run APP`` installs
both releases from PyPI into cached virtual environments, serves the buggy one behind a real
``amber capture``, sends the request, runs ``amber gen-test`` and runs the generated test
against both releases. Nothing here is installed into amber's wheel; docs/realapps.md holds
the results per app.
"""

from __future__ import annotations

from realapps._app import RealApp
from realapps._app import all_apps
from realapps._app import get_app

__all__ = ["RealApp", "all_apps", "get_app"]
