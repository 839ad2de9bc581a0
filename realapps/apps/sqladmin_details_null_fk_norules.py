"""sqladmin-details-null-fk without the hand-written rule: gen-test guesses the table of the
path's id itself."""

from __future__ import annotations

import dataclasses

from realapps.apps.sqladmin_details_null_fk import APP as WITH_RULE

APP = dataclasses.replace(
    WITH_RULE,
    name="sqladmin-details-null-fk-norules",
    config="",
)
