"""datasette-facet-n without the hand-written fixtures rule: what issue 19 asks for (the
fixture comes from the rows the request read, no rule written by hand)."""

from __future__ import annotations

import dataclasses

from realapps.apps.datasette_facet_n import APP as WITH_RULE

APP = dataclasses.replace(
    WITH_RULE,
    name="datasette-facet-n-norules",
    config="",
    xfail="the route has no id: gen-test finds no seed rows without a rule under "
    "fixtures.rules ('no seed rows for GET /stats/counts.json'); it flips when gen-test takes "
    "the rows the request read",
)
