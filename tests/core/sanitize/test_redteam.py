"""The red-team corpus (`redteam_cases.py`) in-process: every planted value gone from the
stored exchange and its exports, every look-alike kept byte for byte.

The few cases the sanitizer cannot catch without damaging ordinary data are listed below
with the reason (docs/sanitization.md, Known limits); the lists may only shrink.
`tests/capture/redteam_e2e.py` runs the same cases through `amber capture`.
"""

from __future__ import annotations

import pytest

from amber._model import Exchange
from amber._model import Request
from amber._model import Response
from amber._pseudonym import Pseudonymizer
from amber.sanitize import SanitizeConfig
from amber.sanitize import Sanitizer
from amber.sanitize import scan_bytes
from tests.core.sanitize.conftest import KEY
from tests.core.sanitize.corpus.measure import forms
from tests.core.sanitize.corpus.measure import leaked
from tests.core.sanitize.corpus.measure import leaked_in_exports
from tests.core.sanitize.redteam_cases import RTCase
from tests.core.sanitize.redteam_cases import lookalike_cases
from tests.core.sanitize.redteam_cases import secret_cases

KNOWN_LEAKS: set[str] = set()
KNOWN_CHANGED: set[str] = set()


def _exchange(case: RTCase) -> Exchange:
    req = Request(
        method=case.method,
        scheme="https",
        host="api.acme.io",
        port=443,
        path=case.path,
        query=case.query,
        headers=(("Host", "api.acme.io"), *case.req_headers),
        body=case.req_body,
    )
    resp = Response(status=case.status, reason="OK", headers=case.resp_headers, body=case.resp_body)
    return Exchange(id="redteam", request=req, response=resp)


@pytest.fixture(scope="module")
def sanitizer() -> Sanitizer:
    return Sanitizer(SanitizeConfig(), Pseudonymizer(KEY))


def test_corpus_size() -> None:
    secrets, looks = secret_cases(), lookalike_cases()
    assert len(secrets) >= 150 and len(looks) >= 80
    assert len({(c.cls, c.name) for c in secrets}) == len(secrets)
    assert len({c.name for c in looks}) == len(looks)


def test_no_planted_value_is_stored(sanitizer: Sanitizer) -> None:
    leaks: set[str] = set()
    for case in secret_cases():
        stored = sanitizer.sanitize(_exchange(case))
        needles = set().union(*(forms(v) for v in case.values))
        if leaked(stored, needles) or leaked_in_exports(stored, needles):
            leaks.add(f"{case.cls}/{case.name}")
    assert leaks - KNOWN_LEAKS == set(), "new leaks"
    assert KNOWN_LEAKS - leaks == set(), "fixed: take them off KNOWN_LEAKS"


def test_lookalikes_are_stored_byte_for_byte(sanitizer: Sanitizer) -> None:
    changed: set[str] = set()
    for case in lookalike_cases():
        ex = _exchange(case)
        stored = sanitizer.sanitize(ex)
        assert stored.response is not None and ex.response is not None
        same = (
            stored.request.headers == ex.request.headers
            and stored.request.body == ex.request.body
            and stored.request.query == ex.request.query
            and stored.response.headers == ex.response.headers
            and stored.response.body == ex.response.body
            and not stored.redactions
        )
        if not same:
            changed.add(case.name)
    assert changed - KNOWN_CHANGED == set(), "look-alikes changed"
    assert KNOWN_CHANGED - changed == set(), "fixed: take them off KNOWN_CHANGED"


def test_what_was_stored_scans_clean(sanitizer: Sanitizer) -> None:
    """The text scanner (`amber scan` on logs and reports) finds nothing in what the
    sanitizer wrote: its pseudonyms and markers, new rules included, are its own."""
    dirty: list[str] = []
    for case in secret_cases():
        stored = sanitizer.sanitize(_exchange(case))
        assert stored.response is not None
        for body in (stored.request.body, stored.response.body):
            if scan_bytes(body):
                dirty.append(case.name)
    assert dirty == []
