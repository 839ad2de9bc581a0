"""The adversarial corpus as a ratchet, and a property test over random bodies.

The ratchet asserts that, on the corpus in `corpus/`, each class leaks at most as often and
each look-alike class is damaged at most as often as the sanitizer did when the table was
recorded: any regression fails, and every improvement should lower the table (issue 16's goal
is all zeros). `benchmarks/bench_sanitizer_recall.py` prints the full table.
"""

from __future__ import annotations

import json
import random
import string
from collections import Counter

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from amber._model import Exchange
from amber._pseudonym import Pseudonymizer
from amber.sanitize import SanitizeConfig
from amber.sanitize import Sanitizer
from tests.core.sanitize.conftest import KEY
from tests.core.sanitize.corpus import Planted
from tests.core.sanitize.corpus import Report
from tests.core.sanitize.corpus import cases
from tests.core.sanitize.corpus import forms
from tests.core.sanitize.corpus import leaked
from tests.core.sanitize.corpus import lookalike_cases
from tests.core.sanitize.corpus import planted
from tests.core.sanitize.corpus import run
from tests.core.sanitize.corpus import table
from tests.core.sanitize.corpus import truncation_cases
from tests.core.sanitize.corpus.carriers import ENCODINGS
from tests.core.sanitize.corpus.carriers import exchange
from tests.core.sanitize.corpus.formats import FORMATS
from tests.core.sanitize.corpus.formats import render
from tests.core.sanitize.corpus.lookalikes import lookalikes

# Leaking cases per class, out of the case counts in the comments: 4,508 of 11,811 leaked on
# 2026-12-02 at 68b2807 (recall 61.8 %), 1,003 after that day's work (91.5 %), 384 of 11,939
# once encoded values were read through (96.8 %; 4 passport values added).
# LOWER THESE as the sanitizer improves; never raise them.
LEAKS_AT_MOST = {
    "auth-header": 0,  # of 400
    "card": 0,  # of 1092
    # of 800 (all `gw`: a 5-letter value under a 2-letter name, in a field that names no cookie;
    # the 60 under fields that hold cookies, 7 leaking before, are caught); 35 since the
    # `html-table` carrier was added (2026-12-03): its own `gw` case, the same class
    "cookie": 35,
    "date-of-birth": 0,  # of 320
    "email": 0,  # of 1025
    "iban": 0,  # of 975
    "jwt": 0,  # of 390
    "national-id": 0,  # of 585
    "passport": 0,  # of 384
    "password": 0,  # of 1152
    "path-token": 0,  # of 120
    "phone": 0,  # of 858
    "private-key": 0,  # of 234
    "signed-url": 0,  # of 840
    "truncation": 0,  # of 168
    "url-userinfo": 0,  # of 252
    # 14: a Datadog key (32 hex digits) in free text with no key naming it is an MD5 or
    # an ETag to any detector, and those must survive (see docs/sanitization.md)
    "vendor-token": 14,  # of 2496
}

# Look-alike cases whose value was damaged, per class (classes not listed: 0). Lower these too.
CHANGED_AT_MOST: dict[str, int] = {}  # was js-source 64, name 60, sql-error 26, version 32

# Look-alike exchanges not stored byte for byte (of 2112: JSON re-serialized, a pair's `name`
# pseudonymized...), and bodies without a planted value that changed in secret cases (of 8060).
NOT_IDENTICAL_AT_MOST = 0  # was 775 before faithful JSON edits
CLEAN_BODIES_CHANGED_AT_MOST = 0

# Classes the sanitizer catches in every body of a format in the corpus, under their own key:
# the property tests check these for leaks (grow the lists as classes become caught).
_SHAPES = ("auth-header", "jwt", "private-key", "url-userinfo")
# the env renderer squashes `X-Amz-Signature` into `XAMZSIGNATURE`: no name left to know
_NAMED = (*_SHAPES, "signed-url")
# value classes, caught in every format (in `text`, which carries no key, only the values
# with a shape of their own: see `_catchable`)
_VALUES = (
    "card", "date-of-birth", "email", "iban", "national-id", "passport", "password", "phone",
    "vendor-token",
)  # fmt: skip
FULLY_CAUGHT: dict[str, tuple[str, ...]] = {
    "json": (*_NAMED, *_VALUES),
    "ndjson": (*_NAMED, *_VALUES),
    "form": (*_NAMED, *_VALUES),
    "multipart": (*_NAMED, *_VALUES),
    "sse": (*_NAMED, *_VALUES),
    "yaml": (*_NAMED, *_VALUES),
    "env": (*_SHAPES, *_VALUES),
    "xml": (*_NAMED, *_VALUES),
    "html": (*_NAMED, *_VALUES),
    "csv": (*_NAMED, *_VALUES),
    "text": (*_SHAPES, *_VALUES),
}
# Keys whose values have no shape to find them by without the key (docs/sanitization.md,
# Known limits): a Datadog key is 32 hex digits, like an MD5.
_SHAPELESS = frozenset({"datadog_api_key"})


def _catchable(p: Planted, fmt: str, key: str, columns: int) -> bool:
    """Can the sanitizer find `p` in a body of format `fmt`, placed under `key`? In `text`
    (values only, no keys) only by its shape, unless the encoding put the key inside.

    A CSV body of one column has no delimiter, and `_tabular` reads it as plain text (its
    header is not applied: a known gap, left to the body formats' owner), so there too."""
    if p.cls not in FULLY_CAUGHT[fmt]:
        return False
    if (fmt == "text" and key != "payload") or (fmt == "csv" and columns == 1):
        return p.shaped and p.key not in _SHAPELESS
    return True


@pytest.fixture(scope="module")
def report() -> Report:
    sanitizer = Sanitizer(SanitizeConfig(), Pseudonymizer(KEY))
    return run(sanitizer, [*cases(), *lookalike_cases(), *truncation_cases()])


def test_corpus_is_big_enough() -> None:
    values = planted()
    assert len(values) >= 300
    assert len({p.value for p in values}) == len(values)
    assert len(lookalikes()) >= 100
    assert min(Counter(p.cls for p in values).values()) >= 6


def test_every_case_carries_its_value() -> None:
    # a leak check that cannot see the planted value would measure nothing
    for case in [*cases(), *truncation_cases()]:
        assert leaked(case.exchange, case.needles), (case.cls, case.carrier, case.encoding)


def test_no_crash(report: Report) -> None:
    assert report.crashes == 0


def test_leaks_do_not_regress(report: Report) -> None:
    worse = {
        c: (n, LEAKS_AT_MOST.get(c, 0))
        for c, n in report.leaks.items()
        if n > LEAKS_AT_MOST.get(c, 0)
    }
    assert not worse, f"leaks above the ratchet (now, allowed): {worse}\n{table(report)}"
    # an export shows only what was stored: it never adds a leak of its own
    assert not report.export_only_leaks, table(report)


def test_over_redaction_does_not_regress(report: Report) -> None:
    worse = {
        c: (n, CHANGED_AT_MOST.get(c, 0))
        for c, n in report.changed.items()
        if n > CHANGED_AT_MOST.get(c, 0)
    }
    assert not worse, f"look-alikes damaged above the ratchet: {worse}\n{table(report)}"
    assert report.total(report.not_identical) <= NOT_IDENTICAL_AT_MOST, table(report)
    assert report.clean_bodies_changed <= CLEAN_BODIES_CHANGED_AT_MOST, table(report)


# -- property test -----------------------------------------------------------------------

_PLANTED = planted()
_NEUTRAL_KEYS = ("id", "items", "data", "meta", "count", "status", "title", "tags", "page")
_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(string.ascii_lowercase + " ", max_size=12),
)  # fmt: skip
_documents = st.recursive(
    _leaf,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(_NEUTRAL_KEYS), inner, max_size=4)
    ),
    max_leaves=20,
)


def _plant(doc: object, p: Planted, rnd: random.Random) -> object:
    """`doc` with `{p.key: p.value}` added at a random place (a dict or list inside it, or
    around it)."""
    holders: list[object] = []
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            holders.append(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            holders.append(node)
            stack.extend(node)
    if not holders:
        return {"data": doc, p.key: p.value}
    holder = rnd.choice(holders)
    if isinstance(holder, dict):
        holder[p.key] = p.value
    else:
        assert isinstance(holder, list)
        holder.insert(rnd.randrange(len(holder) + 1), {p.key: p.value})
    return doc


def _check(
    sanitizer: Sanitizer,
    ex: Exchange,
    values: list[Planted],
    fmt: str,
    keys: list[str] | None = None,
    columns: int = 0,
) -> None:
    stored = sanitizer.sanitize(ex)  # raises on a crash
    # a value planted twice is checked only when both of its placements can be caught
    catchable: dict[str, bool] = {}
    for i, p in enumerate(values):
        ok = _catchable(p, fmt, p.key if keys is None else keys[i], columns)
        catchable[p.value] = catchable.get(p.value, True) and ok
    for p in values:
        if catchable[p.value]:
            needles = {f for part in (*p.parts, p.value) for f in forms(part)}
            assert not leaked(stored, needles), (fmt, p.cls, p.key, ex.request.body[:300])


_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@_SETTINGS
@given(
    doc=_documents,
    values=st.lists(st.sampled_from(_PLANTED), min_size=1, max_size=4),
    rnd=st.randoms(use_true_random=False),
    indent=st.sampled_from([None, 2]),
)
def test_random_json_bodies(
    sanitizer: Sanitizer, doc: object, values: list[Planted], rnd: random.Random, indent: int | None
) -> None:
    for p in values:
        doc = _plant(doc, p, rnd)
    body = json.dumps(doc, indent=indent).encode()
    _check(sanitizer, exchange(req_body=body, req_type="application/json"), values, "json")


@_SETTINGS
@given(
    fmt=st.sampled_from(sorted(FORMATS)),
    pairs=st.lists(
        st.tuples(st.sampled_from(_NEUTRAL_KEYS), st.text(string.ascii_letters + " ", max_size=10)),
        max_size=6,
    ),
    values=st.lists(st.sampled_from(_PLANTED), min_size=1, max_size=4),
    encodings=st.lists(st.sampled_from(sorted(ENCODINGS)), min_size=4, max_size=4),
    rnd=st.randoms(use_true_random=False),
)
def test_random_bodies_of_every_format(
    sanitizer: Sanitizer,
    fmt: str,
    pairs: list[tuple[str, str]],
    values: list[Planted],
    encodings: list[str],
    rnd: random.Random,
) -> None:
    # each planted value in a placement encoding: raw, URL-encoded, base64, hex or escaped
    # inside a JSON document in a string
    keys: list[str] = []
    for p, enc in zip(values, encodings, strict=False):
        key, value = ENCODINGS[enc](p.key, p.value)
        keys.append(key)
        pairs.insert(rnd.randrange(len(pairs) + 1), (key, value))
    body, ctype = render(fmt, pairs)
    _check(sanitizer, exchange(req_body=body, req_type=ctype), values, fmt, keys, len(pairs))


_CONTENT_TYPES = (
    "application/json", "application/x-ndjson", "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=b", "text/xml", "text/html", "text/csv", "text/plain",
    "text/event-stream", "application/yaml", "application/octet-stream", "application/json; "
    "charset=latin-1",
)  # fmt: skip


@_SETTINGS
@given(
    body=st.binary(max_size=300) | st.text(max_size=300).map(str.encode),
    ctype=st.sampled_from(_CONTENT_TYPES),
    value=st.sampled_from(_PLANTED),
)
def test_random_bodies_never_crash(
    sanitizer: Sanitizer, body: bytes, ctype: str, value: Planted
) -> None:
    cut = len(body) // 2
    planted_body = body[:cut] + value.value.encode() + body[cut:]
    for b in (body, planted_body):
        sanitizer.sanitize(exchange(req_body=b, req_type=ctype, resp_body=b, resp_type=ctype))


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_planted_value_in_every_encoding(sanitizer: Sanitizer, fmt: str) -> None:
    """The property tests above sample; this goes through all of it, in a fixed order:
    each planted value, in each placement encoding, alone in a body of the format, between
    two neutral fields, and before three (a body of one or two fields is not config text,
    whatever its shape: another reader decides), wherever `_catchable` says it can be
    caught. A class the random tests would find one day in CI fails here on every run."""
    leaks: list[tuple[str, str, str, int]] = []
    for p in _PLANTED:
        for enc in sorted(ENCODINGS):
            key, value = ENCODINGS[enc](p.key, p.value)
            for pairs in (
                [(key, value)],
                [("note", "hello"), (key, value), ("id", "7")],
                [(key, value), ("a", "x y"), ("b", ""), ("c", "z")],
            ):
                if not _catchable(p, fmt, key, len(pairs)):
                    continue
                body, ctype = render(fmt, pairs)
                stored = sanitizer.sanitize(exchange(req_body=body, req_type=ctype))
                needles = {f for part in (*p.parts, p.value) for f in forms(part)}
                if leaked(stored, needles):
                    leaks.append((p.cls, p.key, enc, len(pairs)))
    assert not leaks, leaks
