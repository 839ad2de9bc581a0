"""`TargetSanitizer`: a live response in the capture's sanitized space."""

from __future__ import annotations

import dataclasses

import orjson
import pytest

from amber._model import Exchange
from amber._model import Request
from amber._model import Response
from amber._pseudonym import Pseudonymizer
from amber.sanitize import SanitizeConfig
from amber.sanitize import Sanitizer
from amber.sanitize import TargetSanitizer
from amber.sanitize._target import RESPONSE_FIELDS
from amber.sanitize._target import UNSANITIZED_BODY

from .conftest import KEY

TOKEN = "tok_" + "9fQ2xLr7Vb3Nc8Kd1Zw6Hs4Jm5Pa0Ty"
GITHUB = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"  # found in free text by its shape
REFRESH = "rt_" + "Zk29dLq8Xw7Vb6Nc5Mh4Jg3Fd2Sa1Pe0"
PERSON = {
    "user": {
        "name": "Earl Reynolds",
        "username": "earl.reynolds",
        "email": "earl.reynolds@corp-mail.com",
        "phone": "+1 415 867 5309",
        "customer_id": "cus_N8a2KpQ4rT6vX9yZ",
        "address": "742 Evergreen Terrace, Springfield",
        "api_token": TOKEN,
    },
    "refresh_token": REFRESH,
    "items": [{"name": "Blue mug", "qty": 2}],
}
RAW_VALUES = [
    "Earl Reynolds",
    "earl.reynolds",
    "corp-mail.com",
    "867 5309",
    "cus_N8a2KpQ4rT6vX9yZ",
    "Evergreen",
    TOKEN,
    REFRESH,
    "s3ss10n-Secr3t-Value-0042",
]
HEADERS = (
    ("Content-Type", "application/json"),
    ("Set-Cookie", "session=s3ss10n-Secr3t-Value-0042; Path=/; HttpOnly"),
    ("X-User-Email", "earl.reynolds@corp-mail.com"),
)


def live(
    body: dict[str, object] = PERSON, headers: tuple[tuple[str, str], ...] = HEADERS
) -> Response:
    return Response(200, "OK", headers=headers, body=orjson.dumps(body))


def captured(sanitizer: Sanitizer, resp: Response) -> Exchange:
    """What capture stores for `resp`."""
    req = Request("GET", "http", "api.internal", 80, "/me")
    return sanitizer.sanitize(Exchange("01", req, resp))


def assert_nothing_raw(resp: Response) -> None:
    blob = resp.body + repr(resp.headers).encode() + resp.reason.encode()
    for value in RAW_VALUES:
        assert value.encode() not in blob, value


def test_the_same_real_values_meet_the_capture_s_pseudonyms(sanitizer: Sanitizer) -> None:
    stored = captured(sanitizer, live())
    assert stored.response is not None
    assert_nothing_raw(stored.response)
    # a separate sanitizer with the same key, as a replay run builds its own
    ts = TargetSanitizer(Sanitizer(SanitizeConfig(), Pseudonymizer(KEY)))
    out = ts.response(live(), stored)
    assert out.body == stored.response.body
    assert out.headers == stored.response.headers
    assert_nothing_raw(out)


def test_another_key_gives_other_pseudonyms(sanitizer: Sanitizer) -> None:
    stored = captured(sanitizer, live())
    assert stored.response is not None
    ts = TargetSanitizer(Sanitizer(SanitizeConfig(), Pseudonymizer(b"another-key-0123456789abc")))
    out = ts.response(live(), stored)
    assert out.body != stored.response.body
    assert_nothing_raw(out)


def test_a_real_difference_stays_visible_in_sanitized_form(sanitizer: Sanitizer) -> None:
    stored = captured(sanitizer, live())
    assert stored.response is not None
    changed = {**PERSON, "user": {**PERSON["user"], "email": "mallory.quinn@corp-mail.com"}}  # type: ignore[dict-item]
    out = TargetSanitizer(sanitizer).response(live(changed), stored)
    got = orjson.loads(out.body)["user"]
    want = orjson.loads(stored.response.body)["user"]
    assert got["email"] != want["email"] and "mallory" not in got["email"]
    assert {k: v for k, v in got.items() if k != "email"} == {
        k: v for k, v in want.items() if k != "email"
    }


def test_parts_equal_to_the_recording_are_taken_as_they_are(sanitizer: Sanitizer) -> None:
    stored = captured(sanitizer, live())
    assert stored.response is not None
    ts = TargetSanitizer(sanitizer)
    # the stored response itself (what an unchanged build behind a fixture would answer)
    same = stored.response
    assert ts.response(same, stored) is same
    # a differing Date header: only that field is looked at, the rest kept as they are
    dated = Response(200, "OK", headers=(*same.headers, ("Date", "Tue")), body=same.body)
    out = ts.response(dated, stored)
    assert out.body is same.body and out.headers[: len(same.headers)] == same.headers


def test_without_a_recording_everything_is_sanitized(sanitizer: Sanitizer) -> None:
    out = TargetSanitizer(sanitizer).response(live(), None)
    assert_nothing_raw(out)
    reason = TargetSanitizer(sanitizer).response(Response(403, f"denied {GITHUB}"), None)
    assert reason.reason == "denied [REDACTED:github-token]"


def test_a_body_the_sanitizer_fails_on_is_replaced_not_kept(
    sanitizer: Sanitizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: object) -> bytes:
        raise RecursionError

    monkeypatch.setattr(sanitizer.bodies, "sanitize", boom)
    out = TargetSanitizer(sanitizer).response(live(), None)
    assert out.body == UNSANITIZED_BODY


def test_sanitize_response_reports_its_redactions(sanitizer: Sanitizer) -> None:
    resp, notes = sanitizer.sanitize_response(live())
    assert_nothing_raw(resp)
    where = {n.location for n in notes}
    assert "response.body$.user.email" in where and "response.headers.set-cookie.session" in where
    assert TargetSanitizer(sanitizer).text(f"failed: {GITHUB}") == "failed: [REDACTED:github-token]"


def test_walking_only_what_differs_gives_what_the_full_rules_give(sanitizer: Sanitizer) -> None:
    """Every JSON body of the adversarial corpus (secrets and personal values planted in
    every JSON carrier: pairs, AWS tags, GraphQL, JSON in JSON...), against a recording of
    the same shape (itself sanitized, then another case's): the same document as the full
    body rules make."""
    from tests.core.sanitize.corpus import cases

    ts = TargetSanitizer(sanitizer)
    compared = 0
    previous: dict[str, bytes] = {}
    for case in cases():
        ex = case.exchange
        msg = ex.response if ex.response is not None and ex.response.body else ex.request
        ct, body = msg.content_type or "", msg.body
        if not body or not ("json" in ct or body.lstrip()[:1] in (b"{", b"[")):
            continue
        live = Response(200, headers=(("content-type", ct),) if ct else (), body=body)
        full = sanitizer.sanitize_response(live)[0].body
        for recorded in (full, previous.get(case.carrier)):
            if recorded is None:
                continue
            got = ts.response(live, Response(200, headers=live.headers, body=recorded)).body
            assert got == full or orjson.loads(got) == orjson.loads(full), (case.carrier, got)
            compared += 1
        previous[case.carrier] = full
    assert compared > 5000


def test_a_leaf_equal_to_the_recorded_one_is_not_sanitized_again(sanitizer: Sanitizer) -> None:
    stored = captured(sanitizer, live())
    assert stored.response is not None
    recorded = orjson.loads(stored.response.body)
    # a build that answers with the stored pseudonyms (say, seeded from sanitized data),
    # plus a new field: the pseudonyms are not pseudonymized a second time
    again = live({**recorded, "served_at": "2024-05-06T07:08:09Z"})
    out = orjson.loads(TargetSanitizer(sanitizer).response(again, stored).body)
    assert out == {**recorded, "served_at": "2024-05-06T07:08:09Z"}
    assert orjson.loads(sanitizer.sanitize_response(again)[0].body)["user"] != recorded["user"]


def test_what_the_comparison_ignores_is_neither_sanitized_nor_kept(sanitizer: Sanitizer) -> None:
    import re

    from amber.sanitize._target import IGNORED

    stored = captured(sanitizer, live())
    assert stored.response is not None
    # the build now answers a nonce, another token and a new refresh token; the noise rules
    # ignore `$.nonce` and `$.user.api_token` (subtree semantics, as amber.replay's regex)
    other = "tok_" + "Qq8Ww7Ee6Rr5Tt4Yy3Uu2Ii1Oo0Pp9Aa"
    body = {**PERSON, "nonce": "5f1d9c0e2b7a4c3d", "user": {**PERSON["user"], "api_token": other}}
    ignore = re.compile(r"\$(?:\.nonce|\.user\.api_token)(?=$|[.\[])")
    ts = TargetSanitizer(sanitizer)
    dated = (*HEADERS, ("Date", "Tue, 01 Dec 2026"), ("X-Trace", other))
    out = ts.response(
        live(body, dated), stored, ignore=ignore, drop_header=lambda n: n in ("Date", "X-Trace")
    )
    got, want = orjson.loads(out.body), orjson.loads(stored.response.body)
    assert got["nonce"] == IGNORED and got["user"]["api_token"] == IGNORED
    # the rest as the capture's sanitizer would have it: pseudonym meets pseudonym
    assert {k: v for k, v in got["user"].items() if k != "api_token"} == {
        k: v for k, v in want["user"].items() if k != "api_token"
    }
    assert got["refresh_token"] == want["refresh_token"]
    assert [n for n, _ in out.headers] == [n for n, _ in HEADERS]  # the dropped ones left out
    assert_nothing_raw(out)
    assert other.encode() not in out.body + repr(out.headers).encode()
    # a body the rules ignore whole
    whole = ts.response(live(body), stored, ignore=re.compile(r"\$"))
    assert whole.body == IGNORED.encode()
    # without rules, the same response is sanitized throughout (the token masked)
    full = ts.response(live(body, dated), stored)
    assert orjson.loads(full.body)["user"]["api_token"] != IGNORED
    assert other.encode() not in full.body and any(n == "Date" for n, _ in full.headers)


def test_the_documents_parsed_are_handed_to_the_comparison(sanitizer: Sanitizer) -> None:
    stored = captured(sanitizer, live())
    assert stored.response is not None
    ts = TargetSanitizer(sanitizer)
    changed = {**PERSON, "items": [{"name": "Red mug", "qty": 3}]}
    out = ts.response(live(changed), stored)
    assert ts.parsed(out.body) == orjson.loads(out.body)
    assert ts.parsed(stored.response.body) == orjson.loads(stored.response.body)
    # only those very objects: an equal copy, or any other body, is not known
    assert ts.parsed(bytes(bytearray(out.body))) is None and ts.parsed(b"{}") is None


def test_documents_the_caller_parsed_are_used_not_parsed_again(sanitizer: Sanitizer) -> None:
    stored = captured(sanitizer, live())
    assert stored.response is not None
    rec_body = stored.response.body
    changed = {**PERSON, "items": [{"name": "Red mug", "qty": 3}]}
    resp = live(changed)
    rec_doc, act_doc = orjson.loads(rec_body), orjson.loads(resp.body)
    plain = TargetSanitizer(sanitizer).response(resp, stored)
    # the caller's documents give what parsing gives; the replayed one takes the edits
    given = TargetSanitizer(sanitizer).response(
        resp, stored, parsed=(rec_body, rec_doc, resp.body, act_doc)
    )
    assert given.body == plain.body
    assert_nothing_raw(given)
    assert act_doc["user"]["name"] != "Earl Reynolds"  # changed in place (documented)
    assert rec_doc == orjson.loads(rec_body)  # the recorded one is only read
    # they are used, not re-derived: a replayed document that says otherwise shows
    marked = orjson.loads(resp.body)
    marked["items"][0]["qty"] = 99
    used = TargetSanitizer(sanitizer).response(
        resp, stored, parsed=(rec_body, orjson.loads(rec_body), resp.body, marked)
    )
    assert orjson.loads(used.body)["items"][0]["qty"] == 99
    # only for those very bodies: an equal copy of the body is parsed again
    copy = Response(200, "OK", headers=HEADERS, body=bytes(bytearray(resp.body)))
    other = TargetSanitizer(sanitizer).response(
        copy, stored, parsed=(rec_body, orjson.loads(rec_body), resp.body, marked)
    )
    assert orjson.loads(other.body)["items"][0]["qty"] == 3


def test_the_sanitized_response_keeps_every_other_field_of_the_live_one(
    sanitizer: Sanitizer,
) -> None:
    # built field by field (cheaper than dataclasses.replace): every field is copied
    assert RESPONSE_FIELDS == tuple(f.name for f in dataclasses.fields(Response))
    stored = captured(sanitizer, live())
    resp = dataclasses.replace(
        live({**PERSON, "extra": 1}),
        http_version="HTTP/1.0",
        content_encoding="gzip",
        timestamp_start=1.5,
        timestamp_end=2.5,
        body_truncated=False,
    )
    out = TargetSanitizer(sanitizer).response(resp, stored)
    assert out is not resp and out.body != resp.body
    for name in RESPONSE_FIELDS:
        if name not in ("headers", "body", "reason"):
            assert getattr(out, name) == getattr(resp, name), name


def test_the_rules_walk_a_pruned_document_once_and_reuse_it(sanitizer: Sanitizer) -> None:
    """Responses that differ from the recording only where the noise rules ignore (a nonce)
    and where the capture pseudonymized (the person) prune to the same document: the JSON
    rules walk it once, and each response comes out as a fresh sanitizer makes it."""
    import re

    stored = captured(sanitizer, live())
    ignore = re.compile(r"\$\.nonce(?=$|[.\[])")
    ts = TargetSanitizer(sanitizer)
    outs = []
    for nonce in ("5f1d9c0e2b7a4c3d", "0a9b8c7d6e5f4a3b", "77aa66bb55cc44dd"):
        resp = live({**PERSON, "nonce": nonce})
        out = ts.response(resp, stored, ignore=ignore)
        assert out.body == TargetSanitizer(sanitizer).response(resp, stored, ignore=ignore).body
        assert_nothing_raw(out)
        outs.append(out.body)
    assert outs[0] == outs[1] == outs[2]
    assert len(ts._walks) == 1
    # another person prunes to another document: walked, and cached apart
    other = {**PERSON, "user": {**PERSON["user"], "name": "Maria Garcia"}}
    out = ts.response(live(other), stored, ignore=ignore)
    assert b"Maria Garcia" not in out.body and len(ts._walks) == 2


def test_a_pair_whose_name_is_kept_is_walked_every_time(sanitizer: Sanitizer) -> None:
    """In a name/value pair the name equal to the recording is kept (it decides the
    value's verdict): such a pruned document depends on more than its text, not cached."""
    recorded = Response(200, headers=HEADERS[:1], body=b'{"env": [{"name": "A", "value": "1"}]}')
    pair = {"env": [{"name": "A", "value": "s3cr3t-Value-0042"}]}
    ts = TargetSanitizer(sanitizer)
    out = ts.response(live(pair, HEADERS[:1]), recorded)
    assert out.body == TargetSanitizer(sanitizer).response(live(pair, HEADERS[:1]), recorded).body
    assert not ts._walks
