"""django-admin-date-hierarchy-tz without its rule: the changelist's route has no id, so
nothing but the run itself says which users the fixture needs. gen-test traces the request
on the PostgreSQL source (read-only: the login's session write is refused, so the trace
stops at the admin's own row), verifies on a migrated database (--verify-db-url), and
widens to the first rows of the tables the request read until the expectation's miss
reproduces."""

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
)
