"""datasette-facet-n without the hand-written fixtures rule: what issue 19 asks for (the
fixture comes from the rows the request read, no rule written by hand)."""

from __future__ import annotations

import dataclasses

from realapps.apps.datasette_facet_n import APP as WITH_RULE

APP = dataclasses.replace(
    WITH_RULE,
    name="datasette-facet-n-norules",
    config="",
    # no rule: the SQL trace (gen-test --app-python, in datasette 0.60.2's own
    # interpreter) finds the rows the request read
)
