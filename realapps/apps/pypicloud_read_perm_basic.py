"""pypicloud #284: after the Pyramid 2.0 upgrade (1.2.2), a user who is not an admin loses
the permissions the access backend grants them: ``request.effective_principals`` is
``[Everyone]`` under Pyramid 2's security policy, so ``has_permission`` finds neither
``user:<name>`` nor ``Authenticated``. With the SQL access backend, the user's row
(``admin`` false) and their row in ``pypicloud_user_permissions`` decide it: ``GET
/pypi/acme-utils/json`` with HTTP Basic credentials (pypicloud's own Basic auth, as pip
sends them) answers 404 "No packages found" to ann, who may read acme-utils, and 200 to the
admin. Pyramid, SQLAlchemy 1.4 (SQLite). Fixed in 1.2.4."""

from __future__ import annotations

import base64

from realapps._app import RealApp
from realapps._app import Request
from realapps.apps import _pypicloud

BASIC = base64.b64encode(f"ann:{_pypicloud.ANN_PASSWORD}".encode()).decode()

APP = RealApp(
    name="pypicloud-read-perm-basic",
    summary="a user's own read permission is ignored: 404 for a package they may read, "
    "behind pypicloud's HTTP Basic auth",
    bug="https://github.com/stevearc/pypicloud/issues/284",
    framework="Pyramid (pypicloud, waitress)",
    db_layer="SQLAlchemy 1.4 (SQLite): SQL cache and SQL access backend",
    failure="4xx (404) where the fixed release answers 200; needs a non-admin user row and "
    "their permission row",
    package="pypicloud",
    buggy="1.2.3",
    fixed="1.2.4",
    # mid-2021: pypicloud 1.2 declares no SQLAlchemy pin and uses String(convert_unicode=...),
    # which SQLAlchemy 2.0 removed
    pins=("SQLAlchemy==1.4.54", "waitress"),
    seed=_pypicloud.seed,
    db_name="pypi",
    serve=_pypicloud.serve,
    auth="HTTP Basic (pypicloud's own, SQL access backend)",
    request=Request("GET", "/pypi/acme-utils/json", {"Authorization": f"Basic {BASIC}"}),
    glue=_pypicloud.GLUE,
    # A captured 404 becomes a snapshot test by default (a 4xx may be the right answer): the
    # route's testing.expect says the working build answers 200.
    config="""fixtures:
  rules:
    - route: GET /pypi/{package}/json
      seeds:
        - packages.name = {path.package}
        - pypicloud_user_permissions.package = {path.package}
  known_values: {pypicloud_users.username: tester}
testing:
  identity: {user: tester, password: realapps-test-password, hash: passlib-pbkdf2-sha256}
  expect:
    - {route: "GET /pypi/{package}/json", status: 200}
""",
)
