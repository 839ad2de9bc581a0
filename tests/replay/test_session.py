from __future__ import annotations

import orjson

from amber._model import Request
from amber._model import Response
from amber.replay._session import SessionState
from amber.replay._session import has_marker


def resp(body: object, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    return Response(
        200, headers=(("content-type", "application/json"), *headers), body=orjson.dumps(body)
    )


def test_learns_tokens_cookies_and_minted_ids() -> None:
    st = SessionState()
    st.learn(
        resp({"access_token": "[REDACTED:sensitive-key]", "user": {"id": 41}}),
        resp(
            {"access_token": "fresh-token-abc", "user": {"id": 97}},
            (("set-cookie", "sid=new-sid; Path=/; HttpOnly"),),
        ),
    )
    st.learn(
        resp({"order": {"id": "ord_AAAA1111"}}, (("location", "/orders/ord_AAAA1111"),)),
        resp({"order": {"id": "ord_BBBB2222"}}, (("location", "/orders/ord_BBBB2222"),)),
    )
    req = Request(
        "POST",
        "http",
        "h",
        80,
        "/users/41/orders/ord_AAAA1111",
        "ref=ord_AAAA1111",
        headers=(
            ("Authorization", "Bearer [REDACTED:authorization]"),
            ("Cookie", "sid=[REDACTED:cookie]; theme=dark"),
            ("X-Api-Key", "[REDACTED:api-key]"),
        ),
        body=b'{"order_id": "ord_AAAA1111", "user_id": 41, "refresh": 1}',
    )
    path, query, headers, body = st.rewrite(req)
    assert path == "/users/97/orders/ord_BBBB2222"
    assert query == "ref=ord_BBBB2222"
    h = dict(headers)
    assert h["Authorization"] == "Bearer fresh-token-abc"
    assert h["Cookie"] == "sid=new-sid; theme=dark"
    assert "X-Api-Key" not in h  # a marker nothing can fill is dropped
    assert orjson.loads(body) == {"order_id": "ord_BBBB2222", "user_id": 97, "refresh": 1}


def test_short_and_equal_values_are_not_learned() -> None:
    st = SessionState()
    st.learn(
        resp({"status": "ok", "n": 5, "name": "same-value"}),
        resp({"status": "ko", "n": 6, "name": "same-value"}),
    )
    assert st.values == {}
    req = Request("GET", "http", "h", 80, "/a/ok")
    assert st.rewrite(req)[0] == "/a/ok"


def test_nothing_learned_leaves_requests_alone() -> None:
    st = SessionState()
    req = Request("POST", "http", "h", 80, "/x", body=b"not json [REDACTED:x]")
    assert st.rewrite(req)[3] == b"not json [REDACTED:x]"


def test_ids_beyond_64_bits_are_carried_exactly() -> None:
    def raw(body: bytes) -> Response:
        return Response(200, headers=(("content-type", "application/json"),), body=body)

    st = SessionState()
    st.learn(
        raw(b'{"id": 170141183460469231731687303715884105727}'),
        raw(b'{"id": 170141183460469231731687303715884105729}'),
    )
    req = Request("GET", "http", "h", 80, "/things/170141183460469231731687303715884105727")
    assert st.rewrite(req)[0] == "/things/170141183460469231731687303715884105729"


def test_markers_are_the_cores() -> None:
    """`has_marker` finds what `amber._pseudonym.marker` makes, inside a longer value too."""
    from amber._pseudonym import marker

    assert has_marker(f"Bearer {marker('authorization')}")
    assert has_marker(f"sid={marker('AWS:Secret.Key_2')}; theme=dark")  # any rule name
    assert not has_marker("[REDACTED:]") and not has_marker("[REDACTED: x]")
    assert not has_marker("plain value")


def test_before_anything_is_learned_only_masked_cookies_are_left_out() -> None:
    req = Request(
        "GET",
        "http",
        "h",
        80,
        "/",
        headers=(
            ("Cookie", "sid=[REDACTED:cookie]; theme=dark"),
            ("X-Api-Key", "[REDACTED:api-key]"),
            ("Accept", "*/*"),
        ),
    )
    assert SessionState().rewrite(req)[2] == (("Cookie", "theme=dark"), ("Accept", "*/*"))


def _learned(n: int, **kw: int) -> SessionState:
    """A session that learned `n` ids (`id-000000` -> `new-000000`, ...) from one list."""
    st = SessionState(**kw)
    st.learn(
        resp([{"id": f"id-{i:06d}"} for i in range(n)]),
        resp([{"id": f"new-{i:06d}"} for i in range(n)]),
    )
    return st


def test_the_index_finds_values_on_token_boundaries_only() -> None:
    st = _learned(3)
    st.learn(
        resp({"label": "widget 5", "href": "/orders/7?x=1"}),
        resp({"label": "widget 9", "href": "/orders/8?x=1"}),
    )
    req = Request(
        "GET",
        "http",
        "h",
        80,
        "/o/id-000001/xid-000002/id-0000021",
        "a=id-000002&b=widget 5&c=widget 55",
        headers=(("X-Ref", "see /orders/7?x=1, id-000000"),),
        body=b"text id-000001 and id-000001x",
    )
    path, query, headers, body = st.rewrite(req)
    assert path == "/o/new-000001/xid-000002/id-0000021"  # whole tokens only
    assert query == "a=new-000002&b=widget 9&c=widget 55"  # a longer value, bounded too
    assert dict(headers)["X-Ref"] == "see /orders/8?x=1, new-000000"
    assert body == b"text new-000001 and id-000001x"


def test_the_index_is_bounded_and_evicts_the_oldest() -> None:
    st = _learned(30, max_learned=20)
    assert len(st.values) == 20 and "id-000009" not in st.values and "id-000029" in st.values
    req = Request("GET", "http", "h", 80, "/o/id-000009/id-000029")
    assert st.rewrite(req)[0] == "/o/id-000009/new-000029"
    # complex values leave the first-token index when evicted
    st = SessionState(max_learned=2)
    for i in range(5):
        st.learn(resp({"ref": f"a b {i}xyz"}), resp({"ref": f"c d {i}xyz"}))
    assert sum(len(v) for v in st.index.complex.values()) == 2


def test_rewriting_costs_what_the_request_holds_not_what_was_learned() -> None:
    """With 10,000 values learned, a request is rewritten by looking its tokens up: no
    learned value is compared with it (counted, not timed)."""
    st = _learned(10_000)
    assert len(st.values) == 10_000

    class Counting(dict[str, str]):
        lookups = 0

        def __contains__(self, key: object) -> bool:
            Counting.lookups += 1
            return super().__contains__(key)

        def items(self):  # type: ignore[no-untyped-def]
            raise AssertionError("the learned values are not iterated per request")

    st.index.values = Counting(st.index.values)
    req = Request(
        "GET", "http", "h", 80, "/orders/id-000123", "q=id-009999", headers=(("Accept", "a/b"),)
    )
    path, query, _, _ = st.rewrite(req)
    assert (path, query) == ("/orders/new-000123", "q=new-009999")
    assert Counting.lookups <= 8  # one per token of the request


def test_per_response_noise_is_not_learned() -> None:
    st = SessionState()
    st.learn(
        resp(
            {
                "created_at": "2026-01-02T03:04:05Z",
                "served": "Tue, 01 Dec 2026 10:00:00 GMT",
                "epoch": "1764681234",
                "nonce": "a1b2c3d4e5f6",
                "requestId": "req-aaaaaaaa",
                "id": "ord_11111111",
            }
        ),
        resp(
            {
                "created_at": "2026-12-02T03:04:05Z",
                "served": "Wed, 02 Dec 2026 10:00:00 GMT",
                "epoch": "1764689999",
                "nonce": "ffeeddccbbaa",
                "requestId": "req-bbbbbbbb",
                "id": "ord_22222222",
            }
        ),
    )
    assert st.values == {"ord_11111111": "ord_22222222"}


def test_a_key_that_changes_on_every_response_stops_being_learned() -> None:
    from amber.replay._session import CHURN_AFTER

    st = SessionState()
    for i in range(CHURN_AFTER + 10):
        st.learn(resp({"salt": f"rec-{i:08d}"}), resp({"salt": f"new-{i:08d}"}))
    assert "salt" in st.churn and st.values == {}
    # a key whose values later requests use is never taken for noise
    st = SessionState()
    for i in range(CHURN_AFTER + 10):
        st.learn(resp({"oid": f"rec-{i:08d}"}), resp({"oid": f"new-{i:08d}"}))
        req = Request("GET", "http", "h", 80, f"/orders/rec-{i:08d}")
        assert st.rewrite(req)[0] == f"/orders/new-{i:08d}"
    assert not st.churn and len(st.values) == CHURN_AFTER + 10


def test_churned_keys_stay_noise_for_location_too() -> None:
    from amber.replay._session import CHURN_AFTER

    st = SessionState()
    for i in range(CHURN_AFTER + 5):
        st.learn(
            resp({}, (("location", f"/jobs/rec{i:06d}"),)),
            resp({}, (("location", f"/jobs/new{i:06d}"),)),
        )
    assert "location" in st.churn and st.values == {}


def test_learning_hands_on_the_documents_it_parsed() -> None:
    st = SessionState()
    rec, act = resp({"id": "ord_AAAA1111", "n": [1, 2]}), resp({"id": "ord_BBBB2222", "n": [1]})
    parsed = st.learn(rec, act)
    assert parsed is not None
    assert parsed[0] is rec.body and parsed[2] is act.body
    assert parsed[1] == {"id": "ord_AAAA1111", "n": [1, 2]}
    assert parsed[3] == {"id": "ord_BBBB2222", "n": [1]}
    # nothing to parse: an equal body, no answer, a body that is not JSON
    assert st.learn(rec, rec) is None
    assert st.learn(rec, None) is None
    text = Response(200, headers=(("content-type", "text/plain"),), body=b"ord_CCCC3333")
    assert st.learn(rec, text) is None
    # what was handed on is not kept: changing it changes nothing learned
    parsed[3]["id"] = "changed"
    assert st.values["ord_AAAA1111"] == "ord_BBBB2222"


def test_a_marker_under_a_noise_key_still_teaches_a_secret() -> None:
    """Learning skips the scalars under keys it knows to be noise before descending to
    them; a marker recorded there is a secret all the same."""
    st = SessionState()
    st.learn(resp({"nonce": "a1b2c3d4e5f6"}), resp({"nonce": "ffeeddccbbaa"}))
    assert st.values == {}  # noise: not learned (and now known as noise)
    st.learn(resp({"nonce": "[REDACTED:token]"}), resp({"nonce": "fresh-secret-value"}))
    assert st.secrets == {"nonce": "fresh-secret-value"}
    # a container under a noise key is still walked: its own keys decide
    st.learn(resp({"nonce": {"order_id": "ord_AAAAAAAA"}}), resp({"nonce": {"order_id": "ord_B1"}}))
    assert st.values == {"ord_AAAAAAAA": "ord_B1"}
