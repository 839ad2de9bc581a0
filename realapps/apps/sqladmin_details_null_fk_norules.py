"""sqladmin-details-null-fk without the hand-written rule: gen-test guesses the table of the
path's id itself."""

from __future__ import annotations

import dataclasses

from realapps.apps.sqladmin_details_null_fk import APP as WITH_RULE

APP = dataclasses.replace(
    WITH_RULE,
    name="sqladmin-details-null-fk-norules",
    config="",
    # the id guess still proposes teams.id = {path.id} (the first table holding the
    # value), but the SQL trace (--app-python, in sqladmin 0.1.9's interpreter) adds the
    # users row the request read, and shrinking drops the guessed team
)
