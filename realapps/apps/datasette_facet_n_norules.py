"""datasette-facet-n without the hand-written fixtures rule: what issue 19 asks for (the
fixture comes from the rows the request read, no rule written by hand)."""

from __future__ import annotations

import dataclasses

from realapps.apps.datasette_facet_n import APP as WITH_RULE

APP = dataclasses.replace(
    WITH_RULE,
    name="datasette-facet-n-norules",
    config="",
    xfail="the route has no id and no rule: only the SQL trace could find the rows, and it "
    "runs only with verify, which needs the app imported into gen-test's process next to "
    "amber's cli extra (mitmproxy), which pip cannot install next to datasette 0.60.2: "
    "'no seed rows for GET /stats/counts.json'",
)
