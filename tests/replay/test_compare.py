"""Explainable comparison: status, headers, JSON/text/binary bodies, errors, noise rules."""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
import pytest

from amber._model import Response
from amber._model import exact_json_loads
from amber._model import has_long_integer
from amber.replay import _compare
from amber.replay._compare import Comparison
from amber.replay._compare import Difference
from amber.replay._compare import compare_responses
from amber.replay._compare import diff_bodies
from amber.replay._compare import diff_json
from amber.replay._compare import generalize
from amber.replay._noise import NoiseRules

JSON = (("Content-Type", "application/json"),)
RULES = NoiseRules()


def resp(
    body: Any = None,
    *,
    status: int = 200,
    headers: tuple[tuple[str, str], ...] = JSON,
    raw: bytes | None = None,
) -> Response:
    data = raw if raw is not None else json.dumps(body).encode()
    return Response(status=status, headers=headers, body=data)


def kinds(a: Any, b: Any) -> list[tuple[str, str]]:
    return [(d.path, d.kind) for d in diff_json(a, b)]


# -- JSON ------------------------------------------------------------------------------


def test_diff_json_kinds() -> None:
    a = {"name": "Ann", "age": 3, "tags": [1, 2, 3], "gone": 1, "flag": 1, "n": None}
    b = {"name": "Bob", "age": "3", "tags": [1, 2], "new": 2, "flag": True, "n": None}
    assert kinds(a, b) == [
        ("$.name", "value"),
        ("$.age", "type"),
        ("$.tags", "length"),
        ("$.tags[2]", "missing"),
        ("$.gone", "missing"),
        ("$.flag", "type"),
        ("$.new", "extra"),
    ]


def test_true_is_not_one_even_inside_equal_looking_subtrees() -> None:
    # Python says {"a": 1} == {"a": True}; the comparer must not.
    assert kinds({"x": {"a": 1, "b": [0]}}, {"x": {"a": True, "b": [False]}}) == [
        ("$.x.a", "type"),
        ("$.x.b[0]", "type"),
    ]
    assert kinds({"a": 1}, {"a": 1.0}) == []  # one JSON number


def test_order_kind_for_same_elements() -> None:
    assert kinds({"t": [1, 2, 3]}, {"t": [3, 2, 1]}) == [("$.t", "order")]
    d = next(diff_json([{"a": 1}, {"b": 2}], [{"b": 2}, {"a": 1}]))
    assert d.kind == "order" and d.expected == '[{"a":1},{"b":2}]'


def test_nested_paths_and_odd_keys() -> None:
    a = {"items": [{"id": 1}, {"id": 2}], "odd key": {"@t": 1}}
    b = {"items": [{"id": 1}, {"id": 5}], "odd key": {"@t": 2}}
    assert kinds(a, b) == [("$.items[1].id", "value"), ('$["odd key"]["@t"]', "value")]


def test_root_type_and_scalars() -> None:
    assert kinds([1], {"a": 1}) == [("$", "type")]
    assert kinds("a", "b") == [("$", "value")]


def test_generalize() -> None:
    assert generalize("body$.items[3].id") == "body$.items[*].id"
    assert generalize('body$["a[1]"][0]') == 'body$["a[1]"][*]'
    assert generalize("header:date") == "header:date"


def test_displays_are_short() -> None:
    d = next(diff_json({"a": "x" * 1000}, {"a": "y"}))
    assert d.expected is not None and len(d.expected) <= 200 and d.expected.endswith("…")


def test_explain_in_vcr_style() -> None:
    c = compare_responses(
        resp({"user": {"name": "Ann"}, "items": [1, 2, 3]}, status=200),
        resp({"user": {"name": "Bob"}, "items": [1, 2, 3, 4]}, status=500),
        RULES,
    )
    text = c.explain()
    assert text.splitlines()[0] == "status differs: 200 != 500"
    assert "body differs at 3 paths:" in text
    assert '  $.user.name: "Ann" != "Bob"' in text
    assert "  $.items: length 3 != 4" in text
    assert c.checks == {"status": False, "headers": True, "body": False}
    assert not c.ok


def test_equal_responses() -> None:
    c = compare_responses(resp({"a": 1}), resp({"a": 1}), RULES)
    assert (
        c.ok and c.differences == () and c.checks == {"status": True, "headers": True, "body": True}
    )
    assert c.explain() == "responses match (status, headers, body)"


def test_key_order_and_whitespace_do_not_matter() -> None:
    a = resp(raw=b'{"a": 1, "b": [1, 2]}')
    b = resp(raw=b'{"b":[1,2],"a":1}')
    assert compare_responses(a, b, RULES).ok


# -- noise rules on bodies ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (b'[{"a":1,"b":2},{"a":3,"b":4}]', b'[{"b":2,"a":1},{"b":4,"a":3}]'),
        (
            b'{"items":[{"id":1,"tags":{"x":1,"y":2}},{"id":2,"tags":{"x":3,"y":4}}]}',
            b'{"items":[{"tags":{"y":2,"x":1},"id":1},{"id":2,"tags":{"y":4,"x":3}}]}',
        ),
    ],
)
def test_objects_in_arrays_with_other_key_order_are_equal(a: bytes, b: bytes) -> None:
    result = compare_responses(resp(raw=a), resp(raw=b), RULES)
    assert result.ok, result.differences


@pytest.mark.parametrize(
    ("path", "x", "y"),
    [
        ("body$.id", "18446744073709551616", "18446744073709551617"),
        ("body$.id", "-9223372036854775809", "-9223372036854775810"),
        (
            "body$[0]",
            "170141183460469231731687303715884105727",
            "170141183460469231731687303715884105728",
        ),
    ],
)
def test_integers_beyond_64_bits_compare_exactly(path: str, x: str, y: str) -> None:
    def body(n: str) -> bytes:
        return (f'{{"id": {n}}}' if path == "body$.id" else f"[{n}]").encode()

    result = compare_responses(resp(raw=body(x)), resp(raw=body(y)), RULES)
    assert [(d.path, d.kind, d.expected, d.actual) for d in result.differences] == [
        (path, "value", x, y)
    ]
    assert compare_responses(resp(raw=body(x)), resp(raw=body(x)), RULES).ok


def test_ignore_globs_move_differences_to_ignored() -> None:
    rules = NoiseRules.from_mapping({"ignore_paths": ["$..created_at", "$.items[*].id", "$.meta"]})
    a = {
        "created_at": 1,
        "items": [{"id": 1, "n": "a", "created_at": 1}],
        "meta": {"x": 1, "y": [1]},
        "name": "Ann",
    }
    b = {
        "created_at": 2,
        "items": [{"id": 2, "n": "a", "created_at": 2}],
        "meta": {"x": 2, "y": []},
        "name": "Bob",
    }
    c = compare_responses(resp(a), resp(b), rules)
    assert [d.path for d in c.differences] == ["body$.name"]
    assert sorted(d.path for d in c.ignored) == [
        "body$.created_at",
        "body$.items[0].created_at",
        "body$.items[0].id",
        "body$.meta",
    ]
    assert "(4 differences ignored by noise rules)" in c.explain()


def test_root_ignore_hides_any_body() -> None:
    rules = NoiseRules.from_mapping({"ignore_paths": ["$"]})
    c = compare_responses(
        resp(raw=b"\x00\x01", headers=()), resp(raw=b"\x00\x02", headers=()), rules
    )
    assert c.ok and c.ignored


def test_value_patterns_need_both_values_to_match() -> None:
    rules = NoiseRules.from_mapping(
        {"value_patterns": [{"path": "$..id", "like": "uuid"}, {"path": "$.at", "like": "iso8601"}]}
    )
    u1, u2 = "0b7c9a52-3d2b-4c36-9f61-6f1d7e8b0a11", "5f2e1c3a-8d4b-4e2a-b1c9-0a9e8f7d6c55"
    same_shape = compare_responses(
        resp({"id": u1, "x": {"id": u2}, "at": "2024-01-02T03:04:05Z"}),
        resp({"id": u2, "x": {"id": u1}, "at": "2024-05-06T07:08:09Z"}),
        rules,
    )
    assert same_shape.ok and len(same_shape.ignored) == 3
    broken = compare_responses(resp({"id": u1}), resp({"id": "not-a-uuid"}), rules)
    assert [d.path for d in broken.differences] == ["body$.id"]
    gone = compare_responses(resp({"id": u1}), resp({}), rules)
    assert [d.kind for d in gone.differences] == ["missing"]


def test_ignore_order_compares_multisets() -> None:
    rules = NoiseRules.from_mapping({"ignore_order": ["$.tags", "$.users[*].roles"]})
    a = {"tags": ["a", "b", "b"], "users": [{"roles": [1, 2]}], "other": [1, 2]}
    b = {"tags": ["b", "a", "b"], "users": [{"roles": [2, 1]}], "other": [2, 1]}
    c = compare_responses(resp(a), resp(b), rules)
    assert [(d.path, d.kind) for d in c.differences] == [("body$.other", "order")]
    c2 = compare_responses(resp({"tags": ["a", "b"]}), resp({"tags": ["b", "c"]}), rules)
    assert [(d.path, d.kind, d.expected, d.actual) for d in c2.differences] == [
        ("body$.tags[0]", "missing", '"a"', None),
        ("body$.tags[1]", "extra", None, '"c"'),
    ]


# -- text and binary ----------------------------------------------------------------------


HTML = (("Content-Type", "text/html; charset=utf-8"),)


def test_text_bodies_by_lines() -> None:
    a = resp(raw=b"<p>one</p>\n<p>two</p>\n<p>three</p>\n", headers=HTML)
    b = resp(raw=b"<p>one</p>\n<p>TWO</p>\n<p>three</p>\n<p>four</p>\n", headers=HTML)
    c = compare_responses(a, b, RULES)
    assert [(d.path, d.kind, d.expected, d.actual) for d in c.differences] == [
        ("body:line 2", "text", "<p>two</p>", "<p>TWO</p>"),
        ("body:line 4", "extra", None, "<p>four</p>"),
    ]


def test_text_line_differences_are_capped() -> None:
    a = resp(raw="\n".join(f"line {i}" for i in range(100)).encode(), headers=HTML)
    b = resp(raw="\n".join(f"LINE {i}" for i in range(100)).encode(), headers=HTML)
    diffs = compare_responses(a, b, RULES).differences
    assert len(diffs) == _compare.MAX_LINE_DIFFERENCES + 1
    assert diffs[-1] == Difference("body:lines", "text", "80 more differing lines", None)


def test_text_line_patterns_blank_noise() -> None:
    rules = NoiseRules.from_mapping({"text_line_patterns": [r"csrf=\w+"]})
    a = resp(raw=b"<form>\n<input csrf=abc123>\n</form>", headers=HTML)
    b = resp(raw=b"<form>\n<input csrf=zz9>\n</form>", headers=HTML)
    c = compare_responses(a, b, rules)
    assert c.ok and c.ignored[0].path == "body:text"
    assert not compare_responses(a, b, RULES).ok


def test_binary_bodies_by_hash_and_length() -> None:
    png = (("Content-Type", "image/png"),)
    a = resp(raw=b"\x89PNG\x00\x01\x02", headers=png)
    b = resp(raw=b"\x89PNG\x00\x01\x03\x04", headers=png)
    (d,) = compare_responses(a, b, RULES).differences
    assert d.path == "body:sha256" and d.kind == "binary"
    assert d.expected is not None and d.expected.endswith("(7 bytes)")
    assert d.actual is not None and d.actual.endswith("(8 bytes)")
    assert compare_responses(a, resp(raw=a.body, headers=png), RULES).ok


def test_huge_bodies_compare_by_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_compare, "MAX_JSON_BYTES", 1000)
    monkeypatch.setattr(_compare, "MAX_TEXT_BYTES", 1000)
    big = {"items": list(range(500))}
    a, b = resp(big), resp({"items": [*range(499), -1]})
    assert [d.path for d in compare_responses(a, b, RULES).differences] == ["body:sha256"]
    assert compare_responses(a, resp(big), RULES).ok
    ta = resp(raw=b"x\n" * 2000, headers=HTML)
    tb = resp(raw=b"x\n" * 1999 + b"y\n", headers=HTML)
    assert [d.path for d in compare_responses(ta, tb, RULES).differences] == ["body:sha256"]


def test_invalid_json_against_json_is_a_type_difference() -> None:
    c = compare_responses(resp({"a": 1}), resp(raw=b'{"a": 1,,'), RULES)
    (d,) = c.differences
    assert (d.path, d.kind) == ("body", "type")
    assert d.expected == "JSON object" and d.actual is not None and "invalid-json" in d.actual
    # both invalid: compared as text
    c2 = compare_responses(resp(raw=b"{oops\n1"), resp(raw=b"{oops\n2"), RULES)
    assert [d.path for d in c2.differences] == ["body:line 2"]


def test_json_sniffed_without_content_type() -> None:
    c = compare_responses(
        resp(raw=b'{"a": 1}', headers=()), resp(raw=b'{"a": 2}', headers=()), RULES
    )
    assert [d.path for d in c.differences] == ["body$.a"]


def test_empty_against_body() -> None:
    c = compare_responses(resp(raw=b""), resp({"a": 1}), RULES)
    assert [(d.path, d.kind) for d in c.differences] == [("body", "extra")]


def test_truncated_capture_is_not_compared() -> None:
    full = json.dumps({"items": list(range(100))}).encode()
    recorded = Response(200, headers=JSON, body=full[:50], body_truncated=True)
    c = compare_responses(recorded, resp(raw=full), RULES)
    assert c.ok and "body" not in c.checks and c.checks["body_truncated_prefix"] is True
    c2 = compare_responses(
        resp(raw=full[:50]), resp(raw=b"x" + full), RULES, expected_truncated=True
    )
    assert c2.ok and c2.checks["body_truncated_prefix"] is False


# -- headers ------------------------------------------------------------------------------


def test_volatile_headers_ignored_selected_compared() -> None:
    a = Response(
        200,
        headers=(
            ("Date", "Mon"),
            ("X-Request-ID", "1"),
            ("Content-Type", "application/json; charset=utf-8"),
            ("X-Custom", "a"),
            ("traceparent", "00-a"),
        ),
    )
    b = Response(
        200,
        headers=(
            ("date", "Tue"),
            ("x-request-id", "2"),
            ("content-type", "application/json;charset=UTF-8"),
            ("X-Custom", "b"),
            ("traceparent", "00-b"),
        ),
    )
    c = compare_responses(a, b, RULES)
    assert c.ok, c.explain()
    c2 = compare_responses(a, b, NoiseRules(compare_all_headers=True))
    assert [(d.path, d.expected, d.actual) for d in c2.differences] == [
        ("header:x-custom", "a", "b")
    ]
    c3 = compare_responses(a, Response(200, headers=(("Content-Type", "text/html"),)), RULES)
    assert [(d.path, d.kind) for d in c3.differences] == [("header:content-type", "header")]


def test_set_cookie_compared_by_names_only() -> None:
    a = Response(200, headers=(("Set-Cookie", "sid=abc; Path=/"), ("Set-Cookie", "csrf=1")))
    b = Response(200, headers=(("Set-Cookie", "csrf=2"), ("Set-Cookie", "sid=zzz; HttpOnly")))
    assert compare_responses(a, b, RULES).ok
    c = Response(200, headers=(("Set-Cookie", "sid=zzz"),))
    (d,) = compare_responses(a, c, RULES).differences
    assert (d.path, d.expected, d.actual) == ("header:set-cookie", "csrf, sid", "sid")
    ignored = NoiseRules(ignore_headers=frozenset({"set-cookie"}))
    assert compare_responses(a, c, ignored).ok


def test_missing_header_and_header_value_patterns() -> None:
    a = Response(201, headers=(("Location", "/orders/17"),))
    b = Response(201, headers=(("Location", "/orders/99"),))
    assert not compare_responses(a, b, RULES).ok
    rules = NoiseRules.from_mapping(
        {"value_patterns": [{"path": "header:location", "regex": r"/orders/\d+"}]}
    )
    assert compare_responses(a, b, rules).ok
    (d,) = compare_responses(a, Response(201), RULES).differences
    assert (d.path, d.expected, d.actual) == ("header:location", "/orders/17", None)


def test_user_ignored_headers_are_kept_in_ignored() -> None:
    rules = NoiseRules(ignore_headers=frozenset({"content-type"}))
    c = compare_responses(
        Response(200, headers=JSON), Response(200, headers=(("Content-Type", "text/plain"),)), rules
    )
    assert c.ok and [d.path for d in c.ignored] == ["header:content-type"]


# -- errors -----------------------------------------------------------------------------


def test_errors() -> None:
    both = compare_responses(None, None, RULES, expected_error="timeout", actual_error="reset")
    assert both.ok and both.checks == {"error": True}
    c = compare_responses(resp({"a": 1}), None, RULES, actual_error="connection refused")
    assert c.differences == (Difference("error", "error", "HTTP 200", "connection refused"),)
    assert c.explain() == "error differs: HTTP 200 != connection refused"
    c2 = compare_responses(None, resp({"a": 1}), RULES, expected_error="upstream timeout")
    assert c2.differences[0].expected == "upstream timeout"


def test_diff_bodies_public() -> None:
    out = diff_bodies(resp({"a": [1]}), resp({"a": [2]}), RULES)
    assert out == [Difference("body$.a[0]", "value", "1", "2")]


def test_deep_nesting_does_not_recurse_forever() -> None:
    def nested(leaf: str, depth: int = 900) -> bytes:
        return ('{"k":' * depth + leaf + "}" * depth).encode()

    c = compare_responses(resp(raw=nested("1")), resp(raw=nested("2")), RULES)
    assert len(c.differences) == 1 and c.differences[0].path.startswith("body$.k.k")
    same = compare_responses(resp(raw=nested("[1, 2]")), resp(raw=nested("[1,2]")), RULES)
    assert same.ok
    assert orjson.loads(nested("1", 10)) == {
        "k": {"k": {"k": {"k": {"k": {"k": {"k": {"k": {"k": {"k": 1}}}}}}}}}
    }


def test_difference_count_is_bounded() -> None:
    a = {f"k{i}": i for i in range(2000)}
    b = {f"k{i}": i + 1 for i in range(2000)}
    c = compare_responses(resp(a), resp(b), RULES)
    assert len(c.differences) == _compare.MAX_BODY_DIFFERENCES


def test_comparison_is_a_value() -> None:
    c = Comparison()
    assert c.ok and c.explain() == "responses match (nothing compared)"
    assert re.fullmatch(r"[a-z]+", "ok")


def test_masked_values_in_the_recording_are_not_held_against_the_target() -> None:
    recorded = resp({"access_token": "[REDACTED:sensitive-key]", "user": "ann"})
    actual = resp({"access_token": "eyJfresh", "user": "ann"})
    cmp = compare_responses(recorded, actual, RULES)
    assert cmp.ok and [d.path for d in cmp.ignored] == ["body$.access_token"]
    changed = compare_responses(recorded, resp({"access_token": "x", "user": "bob"}), RULES)
    assert [d.path for d in changed.differences] == ["body$.user"]


@pytest.mark.parametrize(
    ("body", "long"),
    [
        (b'{"id": 18446744073709551616}', True),
        (b"[1, -9223372036854775809 ]", True),
        (b"18446744073709551616", True),
        (b'{"a":[\n  12345678901234567890\n]}', True),
        (b'{"request_id": "0000000000000000000000000000000a"}', False),  # a string: orjson is exact
        (b'{"n": 1234567890123456789.5, "m": 0.12345678901234567890123}', False),  # floats
        (b'{"id": 123456789012345678}', False),  # 18 digits: within 64 bits
    ],
)
def test_the_exact_parse_is_taken_only_for_long_integer_tokens(body: bytes, long: bool) -> None:
    # one parse for the comparison and the target sanitizer: the core's (amber._model)
    assert has_long_integer(body) is long
    assert exact_json_loads(body) == json.loads(body)
    assert _compare.loads_json is exact_json_loads


def test_documents_the_caller_parsed_are_used_as_they_are() -> None:
    a = Response(200, headers=(("content-type", "application/json"),), body=b'{"a": 1}')
    b = Response(200, headers=(("content-type", "application/json"),), body=b'{"a": 2}')
    asked: list[bytes] = []

    def parsed(body: bytes) -> object:
        asked.append(body)
        return {"a": 3} if body is b.body else None  # the caller's document of `b`

    cmp = compare_responses(a, b, NoiseRules(), parsed=parsed)
    assert asked == [a.body, b.body]
    assert [(d.path, d.expected, d.actual) for d in cmp.differences] == [("body$.a", "1", "3")]
    quiet = compare_responses(a, b, NoiseRules(ignore_paths=("$.a",)), ignored_displays=False)
    assert quiet.ok and [(d.path, d.expected, d.actual) for d in quiet.ignored] == [
        ("body$.a", None, None)
    ]


def test_each_rules_own_ignore_paths_decide_call_after_call() -> None:
    """What the comparison caches (path segments, whether a pattern matches a path, the
    ignored differences without displays) never carries one rule set's verdict to another."""
    a = {"a": 1, "b": 1, "odd key": 1}
    b = {"a": 2, "b": 2, "odd key": 2}
    on_a = NoiseRules(ignore_paths=("$.a",))
    on_b = NoiseRules(ignore_paths=("$.b", '$["odd key"]'))
    for _ in range(2):
        for rules, shown, hidden in (
            (on_a, ["body$.b", 'body$["odd key"]'], ["body$.a"]),
            (on_b, ["body$.a"], ["body$.b", 'body$["odd key"]']),
        ):
            c = compare_responses(resp(a), resp(b), rules, ignored_displays=False)
            assert [d.path for d in c.differences] == shown
            assert [(d.path, d.expected, d.actual) for d in c.ignored] == [
                (p, None, None) for p in hidden
            ]
            full = compare_responses(resp(a), resp(b), rules)
            assert [(d.path, d.expected) for d in full.ignored] == [(p, "1") for p in hidden]
