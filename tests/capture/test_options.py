"""The capture addon's option table and the parsers every entry shares (`--set`, the flags of
`amber capture`, amber.yaml). Precedence and the addon's use of them are tested in
test_addon.py."""

from __future__ import annotations

import math

import pytest
from mitmproxy import exceptions

from amber._config import CAPTURE_KEYS
from amber._routes import RoutePattern
from amber.capture._options import BY_NAME
from amber.capture._options import NOT_IN_YAML
from amber.capture._options import OPTIONS
from amber.capture._options import parse_count
from amber.capture._options import parse_filter
from amber.capture._options import parse_rate
from amber.capture._options import parse_sample_key
from amber.capture._options import path_patterns


def test_every_option_but_store_and_config_has_its_amber_yaml_key() -> None:
    assert {o.key for o in OPTIONS if o.name not in NOT_IN_YAML} == set(CAPTURE_KEYS)
    assert NOT_IN_YAML == {"amber_store", "amber_config"}
    assert list(BY_NAME) == [o.name for o in OPTIONS]


def test_options_are_strings_or_lists_of_strings_that_mean_not_given_when_empty() -> None:
    """mitmproxy's --set parses str and Sequence[str] options; an empty value is the
    mitmproxy default, which means "take amber.yaml's value, else the default"."""
    for option in OPTIONS:
        assert option.unset == ("" if option.typespec is str else [])
        if option.name not in NOT_IN_YAML:
            assert f"capture.{option.key}" in option.help, option.name


@pytest.mark.parametrize(
    ("value", "rate"), [("0", 0.0), ("0.3", 0.3), ("1", 1.0), (0.25, 0.25), (1, 1.0)]
)
def test_a_rate_is_text_or_a_number_from_0_to_1(value: str | float, rate: float) -> None:
    assert parse_rate(value, "amber_sample_rate") == rate


@pytest.mark.parametrize("value", ["", "half", "1.5", "-0.1", "nan", "inf", str(math.pi)])
def test_a_bad_rate_names_where_it_came_from(value: str) -> None:
    with pytest.raises(exceptions.OptionsError, match=r"^amber.yaml:3: capture.sample_rate: "):
        parse_rate(value, "amber.yaml:3: capture.sample_rate")


def test_counts() -> None:
    assert parse_count("5", "amber_queue_size", low=1, what="x") == 5
    assert parse_count(0, "amber_max_body_size", low=0, what="x") == 0
    for bad in ("0", "1k", "1.5", "", "-3"):
        with pytest.raises(
            exceptions.OptionsError,
            match=r"^amber_queue_size: expected a whole number, 1 or more \(x\)",
        ):
            parse_count(bad, "amber_queue_size", low=1, what="x")


def test_sample_keys() -> None:
    assert parse_sample_key(" header:X-User-Id ", "k") == ("header", "x-user-id")
    assert parse_sample_key("cookie:Session", "k") == ("cookie", "Session")  # names kept
    assert parse_sample_key("", "k") is None
    for bad in ("query:user", "header:", "user"):
        with pytest.raises(exceptions.OptionsError, match="expected 'header:NAME'"):
            parse_sample_key(bad, "k")


def test_filters_and_path_patterns() -> None:
    assert parse_filter("", "f") is None
    assert parse_filter("~d api.example.com", "f") is not None
    with pytest.raises(exceptions.OptionsError, match="^f: .*write a mitmproxy filter"):
        parse_filter("~d (", "f")
    globs, template = path_patterns(["/api/*", "/users/{id}"], "p")
    assert globs == "/api/*" and isinstance(template, RoutePattern)
    with pytest.raises(exceptions.OptionsError, match="^p: "):
        path_patterns(["/a/{x}/{x}"], "p")  # a parameter named twice
