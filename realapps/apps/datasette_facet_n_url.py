"""datasette-facet-n in URL mode: no factory; the generated test runs against
``datasette serve`` of each release (``--amber-base-url``) and loads its fixture into the
database file that build serves (``--amber-db-url``). gen-test verifies the same way: the
buggy release served on an empty verify file (``--base-url`` + ``--verify-db-url``); no
SQL trace there, so the facet rule seeds the rows and widening adds what it needs."""

from __future__ import annotations

import dataclasses

from realapps.apps.datasette_facet_n import APP as IN_PROCESS

APP = dataclasses.replace(
    IN_PROCESS,
    name="datasette-facet-n-url",
    glue=None,
    verify=None,  # gen-test verifies against the buggy release served on a verify file
    # the fixed build must answer 200: it sees the fixture loaded behind its back
    gen_args=("--expect-status", "200"),
)
