"""sqlite-web-update-missing with its login declared as documented config: ``testgen.auth``
(the schema of ``replay.auth``) posts the login form once and injects the session cookie."""

from __future__ import annotations

import dataclasses

from realapps.apps import _sqlite_web
from realapps.apps.sqlite_web_update_missing import APP as NO_LOGIN

APP = dataclasses.replace(
    NO_LOGIN,
    name="sqlite-web-update-missing-login",
    config=NO_LOGIN.config
    + f"""testgen:
  auth:
    login:
      method: POST
      path: /login/
      form: {{password: {_sqlite_web.PASSWORD}}}
      token: {{cookie: session}}
      inject: {{cookie: session}}
""",
    xfail="testgen.auth.login is accepted but never run by the generated test's client "
    "(testing/_client.py applies the auth's headers, cookie and hook; nothing calls "
    "Auth.start, so there is no token): the request goes without a session, silently, and "
    "gets the redirect to /login/ on both releases",
)
