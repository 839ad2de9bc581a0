"""sqladmin-details-null-fk without the hand-written rule: gen-test guesses the table of the
path's id itself."""

from __future__ import annotations

import dataclasses

from realapps.apps.sqladmin_details_null_fk import APP as WITH_RULE

APP = dataclasses.replace(
    WITH_RULE,
    name="sqladmin-details-null-fk-norules",
    config="",
    xfail="gen-test's id guess for GET /admin/user/details/{id} seeds teams.id = 2 (the first "
    "table holding the value), not users.id = 2 (the table the path names, 'user'), so the "
    "fixture has no users table: 'no such table: users' on both releases; nothing catches "
    "it, since gen-test cannot verify this app (sqladmin 0.1.9 requires SQLAlchemy < 2, "
    "amber's cli extra SQLAlchemy >= 2)",
)
