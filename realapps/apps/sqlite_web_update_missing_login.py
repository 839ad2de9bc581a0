"""sqlite-web-update-missing with its login declared as documented config: the test identity
(``testing.identity``: the password and the login form, docs/testing.md) logs in once per
test and sends the session cookie."""

from __future__ import annotations

import dataclasses

from realapps.apps import _sqlite_web
from realapps.apps.sqlite_web_update_missing import APP as NO_LOGIN

APP = dataclasses.replace(
    NO_LOGIN,
    name="sqlite-web-update-missing-login",
    config=NO_LOGIN.config
    + f"""testing:
  identity:
    password: {_sqlite_web.PASSWORD}
    login:
      method: POST
      path: /login/
      form: {{password: "{{password}}"}}
""",
    # each verify run is a fresh child process of sqlite-web 0.5.0's interpreter
    # (--app-python), so the factory's module-level Flask set-up runs once per process
    xfail=None,
)
