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
