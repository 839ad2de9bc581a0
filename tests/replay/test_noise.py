"""Noise rules: path globs, header modes, amber.yaml mappings and versioned noise files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from amber.errors import ConfigError
from amber.replay._noise import DEFAULT_COMPARE_HEADERS
from amber.replay._noise import DEFAULT_VOLATILE_HEADERS
from amber.replay._noise import NoiseFile
from amber.replay._noise import NoiseRules
from amber.replay._noise import path_matches


@pytest.mark.parametrize(
    ("glob", "path", "expected"),
    [
        ("$.meta.generated_at", "$.meta.generated_at", True),
        ("$.meta.generated_at", "$.meta.generated", False),
        ("$.meta", "$.meta.generated_at", True),  # a glob covers its subtree
        ("$.user", "$.username", False),  # ... but not a longer key
        ("$.items[*].id", "$.items[3].id", True),
        ("$.items[*].id", "$.items[3].ids", False),
        ("$.items[2].id", "$.items[3].id", False),
        ("$.items[3].id", "$.items[3].id", True),
        ("$..created_at", "$.created_at", True),  # any depth, including none
        ("$..created_at", "$.a[1].b.created_at", True),
        ("$..created_at", "$.a.created_at_x", False),
        ("$.user.*", "$.user.name", True),
        ("$.user.*", "$.user", False),
        ("$.user.*", "$.user[0]", True),
        ('$["odd key"].x', '$["odd key"].x', True),
        ("$.@type", '$["@type"]', True),  # non-identifier keys are quoted in paths
        ("$..[*].id", "$.a[0].id", True),
        ("body$.x", "body$.x.y", True),
        ("$", "$.anything", True),
    ],
)
def test_path_globs(glob: str, path: str, expected: bool) -> None:
    assert path_matches(glob, path) is expected


def test_exact_glob_matching_for_ignore_order() -> None:
    assert path_matches("$.items", "$.items", subtree=False)
    assert not path_matches("$.items", "$.items[0]", subtree=False)


@pytest.mark.parametrize("glob", ["meta.x", "$.", "$.a[", "$.a[x]", "$..", '$["open'])
def test_bad_globs_raise(glob: str) -> None:
    with pytest.raises(ValueError):
        path_matches(glob, "$.a")


def test_header_modes() -> None:
    rules = NoiseRules(ignore_headers=frozenset({"x-cache", "x-debug-*"}))
    assert rules.header_mode("date") == "skip"
    assert rules.header_mode("x-b3-traceid") == "skip"  # prefix rule
    assert rules.header_mode("x-candidate-id") == "skip"  # not volatile: not selected
    assert rules.header_mode("content-type") == "compare"
    assert rules.header_mode("set-cookie") == "cookies"
    assert rules.header_mode("x-cache") == "ignore"
    assert rules.header_mode("x-debug-node") == "ignore"
    assert rules.header_mode("x-request-idx") == "skip"  # exact names: no substring
    all_headers = NoiseRules(compare_all_headers=True)
    assert all_headers.header_mode("x-candidate-id") == "compare"
    assert all_headers.header_mode("date") == "skip"
    etag = NoiseRules.from_mapping({"compare_headers": ["ETag"]})
    assert etag.header_mode("etag") == "compare"  # explicit beats volatile
    assert (
        NoiseRules(ignore_headers=frozenset({"set-cookie"})).header_mode("set-cookie") == "ignore"
    )


def test_the_per_rules_header_views_agree_with_header_mode() -> None:
    """`skips_header` (what the target sanitizer leaves out) and `compared_name` (what the
    comparison indexes) are `header_mode`, cached per spelling."""
    rules = NoiseRules(ignore_headers=frozenset({"x-cache"}))
    for name in ("Date", "date", "Content-Type", "X-Cache", "Set-Cookie", "X-Candidate-Id"):
        skipped = rules.header_mode(name) == "skip"
        assert rules.skips_header(name) is skipped
        assert rules.compared_name(name) == ("" if skipped else name.lower())
        assert rules.compared_name(name) == rules.compared_names[name]  # cached
    assert rules.skips_header is rules.skips_header  # one function per rules
    assert not rules.ignores_body and not NoiseRules(ignore_paths=("$.a",)).ignores_body
    assert NoiseRules(ignore_paths=("$",)).ignores_body


def test_volatile_defaults_are_lowercase_exact_names() -> None:
    assert all(h == h.lower() and "*" not in h for h in DEFAULT_VOLATILE_HEADERS)
    assert {"date", "x-request-id", "traceparent", "set-cookie", "etag"} <= DEFAULT_VOLATILE_HEADERS


def test_from_mapping_full() -> None:
    rules = NoiseRules.from_mapping(
        {
            "ignore_headers": ["X-Cache"],
            "compare_headers": ["x-api-version"],
            "compare_all_headers": False,
            "ignore_paths": ["$.meta.generated_at", "$..created_at"],
            "value_patterns": [
                {"path": "$..id", "like": "uuid"},
                {"path": "$.ts", "regex": r"\d+"},
                {"path": "header:Location", "regex": "/orders/\\d+"},
            ],
            "ignore_order": ["$.tags"],
            "text_line_patterns": [r"csrf=\w+"],
        }
    )
    assert rules.ignore_headers == frozenset({"x-cache"})
    assert rules.compare_headers[: len(DEFAULT_COMPARE_HEADERS)] == DEFAULT_COMPARE_HEADERS
    assert "x-api-version" in rules.compare_headers
    assert rules.ignore_paths == ("$..created_at", "$.meta.generated_at")  # canonical order
    assert [g for g, _ in rules.value_patterns] == ["$..id", "$.ts", "header:location"]
    assert rules.value_patterns[1][1].pattern == r"\d+"
    assert rules.ignore_order == ("$.tags",)
    assert rules.text_line_patterns == (re.compile(r"csrf=\w+"),)


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"ignore_pahts": []}, "replay.noise.ignore_pahts"),
        ({"ignore_paths": "$.a"}, "replay.noise.ignore_paths"),
        ({"ignore_paths": ["$.a", "nope"]}, "replay.noise.ignore_paths[1]"),
        ({"ignore_headers": [""]}, "replay.noise.ignore_headers[0]"),
        ({"compare_all_headers": "yes"}, "replay.noise.compare_all_headers"),
        ({"value_patterns": [{"path": "$.a"}]}, "replay.noise.value_patterns[0]"),
        (
            {"value_patterns": [{"path": "$.a", "regex": "("}]},
            "replay.noise.value_patterns[0].regex",
        ),
        (
            {"value_patterns": [{"path": "$.a", "like": "guid"}]},
            "replay.noise.value_patterns[0].like",
        ),
        (
            {"value_patterns": [{"path": "x", "regex": "a"}]},
            "replay.noise.value_patterns[0].path[0]",
        ),
        ({"text_line_patterns": ["[a-"]}, "replay.noise.text_line_patterns[0]"),
        ({"ignore_order": [3]}, "replay.noise.ignore_order[0]"),
    ],
)
def test_from_mapping_errors_name_the_key(data: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        NoiseRules.from_mapping(data)
    assert info.value.key == key
    assert str(info.value).startswith(f"{key}: ")


def test_merged_unions_everything() -> None:
    a = NoiseRules.from_mapping({"ignore_headers": ["x-a"], "ignore_paths": ["$.a"]})
    b = NoiseRules.from_mapping(
        {"ignore_headers": ["x-b"], "ignore_paths": ["$.a", "$.b"], "compare_all_headers": True}
    )
    m = a.merged(b)
    assert m.ignore_headers == {"x-a", "x-b"}
    assert m.ignore_paths == ("$.a", "$.b")
    assert m.compare_all_headers
    assert a.merged(NoiseRules()) is a


def _file() -> NoiseFile:
    return NoiseFile.from_mapping(
        {
            "version": 1,
            "global": {"ignore_headers": ["x-cache"], "ignore_paths": ["$..trace"]},
            "routes": {
                "GET /users/{id}": {
                    "ignore_paths": ["$.last_seen", "$.items[*].id"],
                    "value_patterns": [{"path": "$.ts", "like": "iso8601"}],
                },
                "* /users/{id}": {"ignore_order": ["$.roles"]},
                "POST /orders": {"ignore_paths": ["$.order_id"], "text_line_patterns": ["n=\\d+"]},
            },
        }
    )


def test_rules_for_merges_global_any_method_and_route() -> None:
    nf = _file()
    r = nf.rules_for("GET", "/users/{id}")
    assert set(r.ignore_paths) == {"$..trace", "$.last_seen", "$.items[*].id"}
    assert r.ignore_order == ("$.roles",)
    assert r.ignore_headers == {"x-cache"}
    put = nf.rules_for("PUT", "/users/{id}")
    assert put.ignore_paths == ("$..trace",) and put.ignore_order == ("$.roles",)
    assert nf.rules_for("GET", "/other").ignore_paths == ("$..trace",)
    assert nf.rules_for("GET", "/users/{id}") is r  # cached


def test_top_level_rule_keys_are_global_in_amber_yaml() -> None:
    nf = NoiseFile.from_mapping({"ignore_paths": ["$.a"], "global": {"ignore_paths": ["$.b"]}})
    assert nf.global_rules.ignore_paths == ("$.a", "$.b")


def test_noise_file_round_trip_is_byte_stable(tmp_path: Path) -> None:
    nf = _file()
    text = nf.dump("learned by a test\nfrom 3 requests")
    assert text.startswith("# learned by a test\n# from 3 requests\nversion: 1\n")
    path = tmp_path / "noise.yaml"
    path.write_text(text)
    again = NoiseFile.load(path)
    assert again.dump("learned by a test\nfrom 3 requests") == text
    assert again.rules_for("GET", "/users/{id}") == nf.rules_for("GET", "/users/{id}")
    assert again.rules_for("POST", "/orders") == nf.rules_for("POST", "/orders")
    # routes sorted by path then method, lists sorted: order of input does not matter
    assert text.index("* /users/{id}") < text.index("GET /users/{id}")
    assert text.index("POST /orders") < text.index("* /users/{id}")


def test_noise_file_merged() -> None:
    a = _file()
    b = NoiseFile.from_mapping({"routes": {"GET /users/{id}": {"ignore_paths": ["$.new"]}}})
    m = a.merged(b)
    assert "$.new" in m.rules_for("GET", "/users/{id}").ignore_paths
    assert "$.last_seen" in m.rules_for("GET", "/users/{id}").ignore_paths


def test_load_errors_name_file_line_and_key(tmp_path: Path) -> None:
    p = tmp_path / "noise.yaml"
    p.write_text("version: 1\nroutes:\n  GET /x:\n    ignore_paths:\n      - $.ok\n      - bad\n")
    with pytest.raises(ConfigError) as info:
        NoiseFile.load(p)
    e = info.value
    assert e.path == str(p) and e.key == "routes.GET /x.ignore_paths[1]" and e.line == 6
    assert str(e).startswith(f"{p}:6: routes.GET /x.ignore_paths[1]: ")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("global: {}\n", "version"),
        ("version: 2\n", "version"),
        ("version: 1\nroutes:\n  /x: {}\n", "routes./x"),
        ("version: 1\nrules: {}\n", "rules"),
        ("version: 1\nroutes: [1]\n", "routes"),
    ],
)
def test_load_rejects_bad_files(tmp_path: Path, text: str, key: str) -> None:
    p = tmp_path / "n.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError) as info:
        NoiseFile.load(p)
    assert info.value.key == key


def test_load_invalid_yaml_and_missing_file(tmp_path: Path) -> None:
    p = tmp_path / "n.yaml"
    p.write_text("version: 1\nroutes: {a: [\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        NoiseFile.load(p)
    with pytest.raises(ConfigError, match="cannot read"):
        NoiseFile.load(tmp_path / "missing.yaml")


def test_empty_file_is_empty_rules(tmp_path: Path) -> None:
    p = tmp_path / "n.yaml"
    p.write_text("")
    assert NoiseFile.load(p).empty
