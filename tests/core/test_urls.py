from __future__ import annotations

import pytest

from amber._urls import hide_password
from amber._urls import hide_passwords


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://app:s3cret@db/prod", "postgresql://app:***@db/prod"),
        (
            "postgresql+psycopg://app:s3cret@db:5432/prod?sslmode=require",
            "postgresql+psycopg://app:***@db:5432/prod?sslmode=require",
        ),
        ("https://ci:hunter2@staging.example.org", "https://ci:***@staging.example.org"),
        ("redis://:s3cret@cache:6379/0", "redis://:***@cache:6379/0"),  # no user name
        ("postgresql://app:s3cret@[::1]:5432/db", "postgresql://app:***@[::1]:5432/db"),
        # percent-encoded `@` and `:` are ordinary characters of the password
        ("postgresql://app:p%40ss%3Aw@db/prod", "postgresql://app:***@db/prod"),
    ],
)
def test_the_password_is_hidden(url: str, shown: str) -> None:
    assert hide_password(url) == shown
    assert hide_passwords(url) == shown


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        # raw `@` and `:` in a password: hidden whole (SQLAlchemy's renderer shows `ss`)
        ("postgresql://app:p@ss@db/prod", "postgresql://app:***@db/prod"),
        ("postgresql://app:p:ss@db/prod", "postgresql://app:***@db/prod"),
        ("postgresql://app:p@s:s@w@db:5432/prod", "postgresql://app:***@db:5432/prod"),
        # a raw `/` or `?` in a password, as SQLAlchemy accepts it
        ("postgresql://app:pa/ss@db/prod", "postgresql://app:***@db/prod"),
        ("postgresql://app:pa?ss@db/prod", "postgresql://app:***@db/prod"),
        # an `@` later in the path is not a password's end
        ("https://u:pw@host/users/ann@example.org", "https://u:***@host/users/ann@example.org"),
        # leaning to hiding: a port and an `@` in the query read as a password (as SQLAlchemy)
        ("https://host:8080/a?to=x@y.org", "https://host:***@y.org"),
    ],
)
def test_hostile_passwords_are_hidden_whole(url: str, shown: str) -> None:
    assert hide_password(url) == shown
    assert hide_passwords(url) == shown


@pytest.mark.parametrize(
    "text",
    [
        "https://user@host/x",  # a user name, no password
        "https://host:8443/path",  # a port, no userinfo
        "sqlite:///data/a@b/store.db",
        "sqlite:////abs/path:with@odd/chars.db",
        "postgresql://app:@db/prod",  # an empty password: nothing to hide
        "not a url at all",
        "user:pw@host",  # no scheme: not a URL (mask_argv handles flags)
        "",
    ],
)
def test_no_password_means_unchanged(text: str) -> None:
    assert hide_password(text) == text
    assert hide_passwords(text) == text


def test_a_single_url_may_hold_any_character_in_its_password() -> None:
    assert hide_password("postgresql://app:pa ss\"w'd@db/prod") == "postgresql://app:***@db/prod"


def test_every_url_in_a_text_is_hidden_and_nothing_else() -> None:
    text = (
        "amber replay --target https://ci:pw1@staging/x --source-db "
        "postgresql://ro:pw2@replica/app --path /a@b"
    )
    assert hide_passwords(text) == (
        "amber replay --target https://ci:***@staging/x --source-db "
        "postgresql://ro:***@replica/app --path /a@b"
    )
    doc = '{"store": "postgresql://app:pw@db/prod", "by": "ann@example.org"}'
    assert hide_passwords(doc) == (
        '{"store": "postgresql://app:***@db/prod", "by": "ann@example.org"}'
    )
    assert hide_passwords("a\nhttps://u:p@h\n") == "a\nhttps://u:***@h\n"


def test_hostile_input_takes_one_pass() -> None:
    # Each piece makes a backtracking regex quadratic: 200,000 `://` starts whose password
    # never ends, a run of `@`, URLs back to back. In one pass this is well under a second;
    # a quadratic one would run into pytest's timeout.
    n = 200_000
    text = "x://" * n + " a://u:" + "@" * n + "h " + "a://u:p@h" * n + " ://" + "a" * n
    out = hide_passwords(text)
    assert out.count("***") == n + 1 and "p@h" not in out
    assert hide_password("a://u:" + "x://" * n + "@h") == "a://u:***@h"
