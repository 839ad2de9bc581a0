"""datasette-facet-n in URL mode: no factory; the generated test runs against
``datasette serve`` of each release (``--amber-base-url``) and loads its fixture into the
database file that build serves (``--amber-db-url``)."""

from __future__ import annotations

import dataclasses

from realapps.apps.datasette_facet_n import APP as IN_PROCESS

APP = dataclasses.replace(
    IN_PROCESS,
    name="datasette-facet-n-url",
    glue=None,
    verify=None,  # URL mode: gen-test has no in-process app to verify against
    # the fixed build must answer 200: it sees the fixture loaded behind its back
    gen_args=("--expect-status", "200"),
)
