"""datasette-facet-n behind HTTP Basic auth (the datasette-auth-passwords plugin from PyPI,
``http_basic_auth``): every request needs ``Authorization: Basic``. The generated test gets
the test credentials from ``testgen.auth`` in amber.yaml. Without them the test gets 401 on
both releases, which passes the default assertion; ``--expect-status 200`` makes the fixed
release prove it authenticated, the buggy release's 500 proves it there."""

from __future__ import annotations

import base64
import dataclasses

from realapps._app import Request
from realapps.apps import _datasette
from realapps.apps.datasette_facet_n import APP as PLAIN

PASSWORD = "realapps-test-password"
BASIC = base64.b64encode(f"analyst:{PASSWORD}".encode()).decode()

GLUE = f'''import os

from datasette.app import Datasette
from datasette.database import Database
from datasette_auth_passwords.utils import hash_password


def create_app():
    plugin = {{"http_basic_auth": True, "analyst_password_hash": hash_password("{PASSWORD}")}}
    ds = Datasette([], metadata={{"plugins": {{"datasette-auth-passwords": plugin}}}})
    path = os.environ["REALAPPS_DATABASE_URL"].removeprefix("sqlite:///")
    ds.add_database(Database(ds, path=path, is_mutable=True), name="stats")
    return ds.app()
'''

APP = dataclasses.replace(
    PLAIN,
    name="datasette-facet-n-basic",
    summary=PLAIN.summary + ", behind HTTP Basic auth",
    pins=("datasette-auth-passwords==1.1.1",),
    auth="HTTP Basic (datasette-auth-passwords)",
    serve=_datasette.serve_glue(GLUE),
    request=Request("GET", "/stats/counts.json", {"Authorization": f"Basic {BASIC}"}),
    glue=GLUE,
    # a 401 would pass the default assertion (no 5xx): the fixed release must answer 200
    gen_args=("--expect-status", "200"),
    config=PLAIN.config
    + f"""testgen:
  auth:
    headers:
      Authorization: Basic {BASIC}
""",
)
