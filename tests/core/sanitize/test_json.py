"""JSON bodies are edited in their original bytes: only replaced values and keys change."""

import json
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from amber._model import Redaction
from amber._pseudonym import Pseudonymizer
from amber.sanitize import SanitizeConfig
from amber.sanitize import Sanitizer
from amber.sanitize import _json
from amber.sanitize._json import render_path
from tests.core.sanitize.conftest import KEY


def run(s: Sanitizer, body: bytes, ct: str | None) -> tuple[bytes, list[Redaction]]:
    out: list[Redaction] = []
    return s.bodies.sanitize(body, ct, "request.body", out), out


def test_render_path() -> None:
    assert render_path((((None, "items"), 3), "email")) == "$.items[3].email"
    assert render_path((None, "a b")) == '$["a b"]'


ODD_JSON = (
    b'{\n  "id" :\t123456789012345678901234567890,\n  "ratio": 1.0, "big": 1e3, "neg": -0.0,'
    b' "esc": "caf\\u00e9 \\/ \\"q\\" \\n", "dup": 1, "dup": 2,\n  "k\\u0065y": [ ],'
    b' "deep": ' + b"[" * 300 + b'"x"' + b"]" * 300 + b',  "uni": "\xc3\xa9\xf0\x9f\x98\x80",'
    b' "empty": {}, "t": true, "f": false, "n": null }\n'
)


def test_odd_json_without_secrets_is_byte_identical(sanitizer: Sanitizer) -> None:
    assert run(sanitizer, ODD_JSON, "application/json") == (ODD_JSON, [])
    nd = ODD_JSON.replace(b"\n", b" ") + b"\n" + b'[1.50, "a"]\n'
    assert run(sanitizer, nd, "application/x-ndjson") == (nd, [])


def test_secrets_change_only_their_own_spans(sanitizer: Sanitizer) -> None:
    # every odd construct next to secrets, in both serializers' styles and hand-written ones
    secrets = (b'"hunter2"', b'"bob@corp.com"', b"4111111111111111")
    for sep in (b", ", b",", b" ,\n\t"):
        template = sep.join(
            [
                b'{"esc": "caf\\u00e9"',
                b'"password": @0',
                b'"num": 1.0e3',
                b'"big": 1' + b"0" * 25,
                b'"user": {"email" : @1, "card":@2}',
                b'"after": [1, 2.50, "ok"]}',
            ]
        )
        body = template
        for i, secret in enumerate(secrets):
            body = body.replace(b"@%d" % i, secret)
        new, out = run(sanitizer, body, "application/json")
        assert len(out) == 3
        # put the replacements back as placeholders: what remains must be the template
        data = orjson.loads(new) if b"1" + b"0" * 25 not in new else None
        del data
        pieces = new
        for i, r in enumerate((b'"[REDACTED:sensitive-key]"', None, b'"[REDACTED:credit-card]"')):
            if r is not None:
                pieces = pieces.replace(r, b"@%d" % i, 1)
        fake = pieces.split(b'"email" : ')[1].split(b",")[0]
        assert fake.endswith(b'.example.com"') or b"example" in fake
        assert pieces.replace(fake, b"@1", 1) == template


def test_duplicate_keys_keep_both_and_each_is_sanitized(sanitizer: Sanitizer) -> None:
    body = (
        b'{"note": "mail bob@corp.com", "a": 1, "note": "fine", "password": "x1", "password": "y2"}'
    )
    new, out = run(sanitizer, body, "application/json")
    assert b"bob@corp.com" not in new and b"x1" not in new and b"y2" not in new
    assert new.count(b'"note"') == 2 and new.count(b'"password"') == 2
    assert new.endswith(
        b', "a": 1, "note": "fine", "password": "[REDACTED:sensitive-key]",'
        b' "password": "[REDACTED:sensitive-key]"}'
    )
    # a repeated key under a masked parent is masked too
    nested = b'{"credentials": {"user": "bob", "user": "ann"}}'
    new, _ = run(sanitizer, nested, "application/json")
    assert (
        new == b'{"credentials": {"user": "[REDACTED:sensitive-key]",'
        b' "user": "[REDACTED:sensitive-key]"}}'
    )


def test_escaped_keys_and_values_stay_escaped(sanitizer: Sanitizer) -> None:
    body = b'{"pass\\u0077ord":  "hunter2", "city": "M\\u00fcnchen", "m": "bob\\u0040corp.com"}'
    new, _ = run(sanitizer, body, "application/json")
    assert new.startswith(
        b'{"pass\\u0077ord":  "[REDACTED:sensitive-key]", "city": "M\\u00fcnchen"'
    )
    assert b"bob" not in new and b'"m": "' in new


def test_email_as_key_is_renamed_in_place(sanitizer: Sanitizer) -> None:
    body = b'{ "bob@corp.com" : {"n": 1.0},  "x": 2 }'
    new, out = run(sanitizer, body, "application/json")
    assert b"bob@corp.com" not in new
    assert new.startswith(b'{ "') and new.endswith(b'" : {"n": 1.0},  "x": 2 }')
    assert [r.rule for r in out] == ["email"]


def test_deep_nesting_big_ints_and_surrogates(sanitizer: Sanitizer) -> None:
    # as deep as the walk allows, on both paths: re-serialized (compact) and spliced
    inner = b'{"token": "abc123def456", "n": 123456789012345678901234}'
    for body in (b"[" * 800 + inner + b"]" * 800, b"[ " * 800 + inner + b"]" * 800):
        new, _ = run(sanitizer, body, "application/json")
        assert new == body.replace(b'"abc123def456"', b'"[REDACTED:sensitive-key]"')
    lone = b'{"a": "\\ud800 bob@corp.com", "b": "\\ud83d\\ude00"}'
    new, _ = run(sanitizer, lone, "application/json")
    assert b"bob@corp.com" not in new and new.startswith(b'{"a": "\\ud800 ')
    assert new.endswith(b'"b": "\\ud83d\\ude00"}')
    orjson.loads(new.replace(b"\\ud800", b""))  # still valid JSON


def test_splicer_and_reserializer_agree(sanitizer: Sanitizer) -> None:
    # orjson-compact and json.dumps-default bodies take the re-serializing fast path; the
    # same document with one extra space takes the splicer: the edits must be the same
    doc = {
        "users": [
            {
                "id": i,
                "email": f"u{i}@corp.com",
                "bio": "café",
                "score": 1.5,
                "token": f"t{i}abcdef0123",
            }
            for i in range(5)
        ],
        "total": 5,
    }
    for body in (orjson.dumps(doc), json.dumps(doc).encode()):
        fast, out_fast = run(sanitizer, body, "application/json")
        slow, out_slow = run(sanitizer, b" " + body, "application/json")
        assert slow == b" " + fast and out_fast == out_slow


def test_ndjson_and_top_level_strings_are_faithful(sanitizer: Sanitizer) -> None:
    body = b'{"a" : 1.0, "password": "p1"}\n"bob@corp.com"\n[ 1e3 ]\n'
    new, _ = run(sanitizer, body, "application/x-ndjson")
    lines = new.split(b"\n")
    assert lines[0] == b'{"a" : 1.0, "password": "[REDACTED:sensitive-key]"}'
    assert lines[1].startswith(b'"') and b"bob" not in lines[1] and lines[2:] == [b"[ 1e3 ]", b""]


# -- identity by context ----------------------------------------------------------------


_SANITIZER = Sanitizer(SanitizeConfig(), Pseudonymizer(KEY))
_KEYS = st.sampled_from(["id", "note", "name", "Caf\u00e9", "a b", "password", "email", "k"])
_LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8), st.sampled_from(["bob@corp.com", "hunter2", "4111111111111111"]),
)  # fmt: skip
_DOCS = st.recursive(
    _LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    doc=_DOCS, indent=st.sampled_from([None, 0, 2]), ascii_only=st.booleans(), compact=st.booleans()
)
def test_any_formatting_gives_the_same_edits(
    doc: object, indent: int | None, ascii_only: bool, compact: bool
) -> None:
    sanitizer = _SANITIZER
    body = json.dumps(
        doc, indent=indent, ensure_ascii=ascii_only, separators=(",", ":") if compact else None
    ).encode()
    new, out = run(sanitizer, body, "application/json")
    assert json.loads(new) is not None or new == b"null"  # still JSON
    if not out:
        assert new == body
    assert b"bob@corp.com" not in new
    # the splicer (a leading space defeats the re-serializing path) gives the same bytes
    spliced, out2 = run(sanitizer, b" " + body, "application/json")
    assert spliced == b" " + new and out2 == out


_TEXT_LEAVES = _LEAVES.map(json.dumps)
_TEXT_DOCS = st.recursive(
    _TEXT_LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4).map(lambda xs: "[ " + ",".join(xs) + "]")
        | st.lists(st.tuples(_KEYS, inner), max_size=5).map(
            lambda kv: "{" + " ,".join(f"{json.dumps(k)} :{v}" for k, v in kv) + "}"
        )
    ),
    max_leaves=12,
)


_IDENTITY = ("email", "name")


def _masked_under_password(node: object, masked: bool = False, key: str = "") -> bool:
    """Every leaf under a `password` key (repeated keys included) is masked or empty (an
    identity key inside keeps its own rule: a pseudonym)."""
    if isinstance(node, list) and all(isinstance(p, tuple) for p in node) and node:
        return all(
            _masked_under_password(v, k == "password" or (masked and k not in _IDENTITY), k)
            for k, v in node
        )
    if isinstance(node, list):
        return all(_masked_under_password(v, masked, key) for v in node)
    return not masked or node in (None, "", "[REDACTED:sensitive-key]")


@settings(max_examples=300, deadline=None)
@given(text=_TEXT_DOCS)
def test_repeated_keys_and_odd_spacing_never_leak(text: str) -> None:
    body = text.encode()
    new, out = run(_SANITIZER, body, "application/json")
    if not out:
        assert new == body
    assert b"bob@corp.com" not in new
    pairs = json.loads(new, object_pairs_hook=list)
    assert _masked_under_password(pairs)


def test_name_value_pairs_take_the_names_verdict(sanitizer: Sanitizer) -> None:
    body = json.dumps(
        {
            "env": [
                {"name": "REGION", "value": "eu-west-1"},
                {"name": "DATABASE_PASSWORD", "value": "qwerty"},
            ],
            "Tags": [{"Key": "team", "Value": "payments"}, {"Key": "api_key", "Value": ["a", "b"]}],
        }
    ).encode()
    new, out = run(sanitizer, body, "application/json")
    doc = json.loads(new)
    assert doc["env"][0]["value"] == "eu-west-1" and doc["Tags"][0]["Value"] == "payments"
    assert doc["env"][1]["value"].startswith("[REDACTED:")
    assert all(v.startswith("[REDACTED:") for v in doc["Tags"][1]["Value"])
    assert len(out) == 3


def test_pairs_named_by_a_bare_name_or_an_ordinary_word_are_kept(sanitizer: Sanitizer) -> None:
    body = json.dumps(
        [
            {"name": "name", "value": "mug"},
            {"Key": "sha256", "Value": "ab" * 32},
            {"name": "APP_VERSION", "value": "2.4.1.0"},
        ]
    ).encode()
    assert run(sanitizer, body, "application/json") == (body, [])


def test_json_inside_a_json_string_is_walked(sanitizer: Sanitizer) -> None:
    inner = json.dumps({"secrets": ["k1", "k2"], "user": {"email": "bob@corp.com"}, "n": 1})
    body = json.dumps({"payload": inner, "note": "[not json", "list": "[1, 2]"}).encode()
    new, out = run(sanitizer, body, "application/json")
    payload = json.loads(json.loads(new)["payload"])
    assert payload["secrets"] == ["[REDACTED:sensitive-key]"] * 2
    assert "bob@corp.com" not in new.decode() and payload["n"] == 1
    assert json.loads(new)["note"] == "[not json" and json.loads(new)["list"] == "[1, 2]"
    assert {r.location for r in out} == {
        "request.body$.payload$.secrets[0]",
        "request.body$.payload$.secrets[1]",
        "request.body$.payload$.user.email",
    }
    plain = json.dumps({"payload": json.dumps({"a": [1, "x"]})}).encode()
    assert run(sanitizer, plain, "application/json") == (plain, [])


def test_reserializer_slots_cannot_be_faked(sanitizer: Sanitizer) -> None:
    # the json.dumps-layout fast path serializes edited values as slots; a body that holds a
    # slot's spelling itself, integers and masked scalars still gets the splicer's edits
    doc = {
        "note": "\x00amber-slot\x00",
        "customer_id": 500123,
        "password": True,
        "secret": 1.5,
        "email": "bob@corp.com",
        "items": [{"customer_id": -7, "token": None, "pin": 1234}],
    }
    plain = {k: v for k, v in doc.items() if k != "note"}  # (the fast path itself)
    for body in (json.dumps(doc).encode(), json.dumps(plain).encode()):
        fast, out_fast = run(sanitizer, body, "application/json")
        slow, out_slow = run(sanitizer, b" " + body, "application/json")
        assert slow == b" " + fast and out_fast == out_slow
        assert b"bob@corp.com" not in fast and b"500123" not in fast and b"1234" not in fast


def test_token_locating_editor_is_not_fooled_by_equal_text(
    sanitizer: Sanitizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # spaced and indented bodies are edited by finding each old value's token after the one
    # before (`_spliced`): a key, an earlier unedited value, a string holding the token's
    # text, a number holding the digits, masked containers (not found: the other editors
    # take over) and non-ASCII text must all come out as the splicer writes them
    taken: list[bool] = []
    spliced = _json._spliced

    def counted(*args: Any) -> bytes | None:
        found = spliced(*args)
        taken.append(found is not None)
        return found

    monkeypatch.setattr(_json, "_spliced", counted)
    plain: dict[str, Any] = {
        "note": "ann@corp.com is not here",
        "customer_id": 500123,
        "email": "ann@corp.com",
        "other": "ann@corp.com",
        "people": [{"first_name": "Ann", "last_name": "Ann", "title": "Ann"}],
    }
    traps: list[dict[str, Any]] = [
        {"n": '"ann@corp.com"'},  # a new value with an escape: not this editor's
        {"caf\u00e9": "caf\u00e9"},  # `json.dumps` escapes it, orjson does not: refused
        {"ann@corp.com": "a key spelled as the value (renamed)"},
        # a number holding the digits of customer_id before it: found first, refused
        {"ref": 5001230, "customer_id": 500123},
        # a key spelled as the value before it
        {"people": [{"Ann": 1, "first_name": "Ann", "title": "Ann"}]},
        {"password": {"a": [1, 2]}, "secret": [], "pin": 1.5},  # masked containers, floats
    ]
    for d in (plain, *({k: v for k, v in plain.items() if k not in t} | t for t in traps)):
        for kw in ({}, {"indent": 2}, {"ensure_ascii": False}, {"separators": (", ", ":")}):
            body = json.dumps(d, **kw).encode()  # type: ignore[arg-type]
            taken.clear()
            fast, out_fast = run(sanitizer, body, "application/json")
            if d is plain:
                assert taken == [True]  # found and proven in every layout
            slow, out_slow = run(sanitizer, b" " + body, "application/json")
            assert slow == b" " + fast and out_fast == out_slow
            new = json.loads(fast)
            assert new.get("ref", 5001230) == 5001230 and new["people"][0]["title"] == "Ann"
            assert new["customer_id"] != 500123 and b"@corp.com" not in fast


def test_an_organization_under_a_person_key_keeps_its_name(sanitizer: Sanitizer) -> None:
    """Under `author`, `owner` or `customer` a bare `name` is a person's, unless it names an
    organization (package metadata's `{"author": {"name": "Rust Project"}}`, a B2B
    customer): that one stays byte for byte; an explicit `full_name` is a person's always."""
    people = {"author": {"name": "Margaret Whitfield"}, "owner": {"name": "Sam O'Neil"}}
    orgs = {
        "author": {"name": "Rust Project"},
        "owner": {"name": "Google LLC"},
        "customer": {"name": "The Django Software Foundation", "tier": "gold"},
    }
    new, out = run(sanitizer, json.dumps(orgs).encode(), "application/json")
    assert new == json.dumps(orgs).encode() and not out
    new, out = run(sanitizer, json.dumps(people).encode(), "application/json")
    assert b"Whitfield" not in new and b"O'Neil" not in new and len(out) == 2
    doc = {"customer": {"full_name": "Acme Team Lead Jo Park"}}
    new, _ = run(sanitizer, json.dumps(doc).encode(), "application/json")
    assert b"Jo Park" not in new


def test_an_owner_slash_name_slug_is_not_a_person(sanitizer: Sanitizer) -> None:
    """GitHub's repository `full_name` (`octocat/Hello-World`) and a path under a person's
    `name` are kept byte for byte; a person's name beside them is not."""
    doc = {
        "full_name": "octocat/Hello-World",
        "owner": {"login": "octocat", "name": "acme/billing-api"},
        "user": {"full_name": "Mona Lisa Octocat", "email": "mona@corp.test"},
    }
    body = json.dumps(doc).encode()
    new, out = run(sanitizer, body, "application/json")
    assert b'"full_name": "octocat/Hello-World"' in new
    assert b'"name": "acme/billing-api"' in new
    assert b"Mona Lisa" not in new and b"mona@corp.test" not in new
    assert "$.full_name" not in " ".join(r.location for r in out)


def test_a_mapping_written_as_its_items_goes_by_its_names(sanitizer: Sanitizer) -> None:
    """`[["username", "bob"], ["password", "..."]]` (Python's `dict.items()`, `parse_qsl`):
    each value by its name's key rule, masked or pseudonymized; lists of other things are
    not pairs."""
    doc = {
        "form": [["username", "bob"], ["password", "Qz8xk2LmP0"], ["remember", "1"]],
        "one": [["api_key", "Zx81kLmQ0pRt7YvB2nWc"]],
        "matrix": [["x", "y"], ["z", "w"]],
        "numbers": [[1, 2], [3, 4]],
        "mixed": [["secret", "kept"], ["b"]],  # not all pairs: no pair list
    }
    new, out = run(sanitizer, json.dumps(doc).encode(), "application/json")
    got = json.loads(new)
    assert got["form"][1:] == [["password", "[REDACTED:sensitive-key]"], ["remember", "1"]]
    assert got["form"][0][0] == "username" and got["form"][0][1] not in ("bob", "")
    assert got["one"] == [["api_key", "[REDACTED:sensitive-key]"]]
    assert got["matrix"] == doc["matrix"] and got["numbers"] == doc["numbers"]
    assert got["mixed"] == doc["mixed"]
    assert sorted(r.location.split("$")[1] for r in out) == [
        ".form[0][1]",
        ".form[1][1]",
        ".one[0][1]",
    ]


@pytest.mark.parametrize(
    "dumps",
    [
        json.dumps,  # spaced, ASCII with escapes: the re-serializing editor
        lambda d: json.dumps(d, separators=(",", ":")),  # compact with escapes: the splicer
        lambda d: json.dumps(d, indent=2),  # indented: the splicer
        lambda d: " " + json.dumps(d),  # a leading space: the splicer
    ],
)
def test_an_edited_value_keeps_the_bodys_escaping(sanitizer: Sanitizer, dumps: Any) -> None:
    """A value partly replaced (an email inside a note) is written escaped where the body
    escapes non-ASCII text, whichever editor writes it; raw where the body is raw."""
    doc = {"note": "Grüße, schreib an jana.k@corp.test", "x": "ü"}
    body = dumps(doc).encode()
    new, _ = run(sanitizer, body, "application/json")
    assert new.isascii() and b"corp.test" not in new
    assert json.loads(new)["note"].startswith("Grüße, schreib an ")
    raw = json.dumps(doc, ensure_ascii=False).encode()
    new, _ = run(sanitizer, raw, "application/json")
    assert "Grüße".encode() in new and b"\\u00fc" not in new


def test_another_tools_markers_under_sensitive_keys_are_kept(sanitizer: Sanitizer) -> None:
    """A value the app masked already (Rails' `[FILTERED]`, `***`, `<redacted>`) is no
    secret: kept byte for byte, not replaced by amber's marker; a real one beside it is."""
    doc = {
        "password": "[FILTERED]",
        "token": "********",
        "api_key": "<redacted>",
        "secret": "xxxx",
        "email": "[REDACTED]",
        "client_secret": "Zx81kLmQ0pRt7YvB2nWc",
    }
    new, out = run(sanitizer, json.dumps(doc).encode(), "application/json")
    assert json.loads(new) == {**doc, "client_secret": "[REDACTED:sensitive-key]"}
    assert [r.location for r in out] == ["request.body$.client_secret"]
