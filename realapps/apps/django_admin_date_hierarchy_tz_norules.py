"""django-admin-date-hierarchy-tz without its rule: the changelist's route has no id, and
gen-test cannot trace the rows a request on PostgreSQL reads (its verify and trace run on
SQLite only), so nothing says which users the fixture needs."""

from __future__ import annotations

import dataclasses

from realapps.apps.django_admin_date_hierarchy_tz import APP as WITH_RULE

_RULE = """  rules:
    - route: GET /admin/auth/user/
      seeds: [auth_user.id = 1, auth_user.id = 2, auth_user.id = 3]
"""
assert _RULE in WITH_RULE.config

APP = dataclasses.replace(
    WITH_RULE,
    name="django-admin-date-hierarchy-tz-norules",
    config=WITH_RULE.config.replace(_RULE, ""),
    xfail="gen-test exits 1 ('no seed rows for GET /admin/auth/user/: add a rule under "
    "fixtures.rules in amber.yaml'): the route has no id, and the SQL trace that finds the "
    "rows a request read runs only with verify, which loads fixtures into SQLite only, so "
    "it cannot run the app on its PostgreSQL source (docs/realapps.md, What amber lacks 9)",
)
