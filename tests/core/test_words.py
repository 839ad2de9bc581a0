from __future__ import annotations

import re

import pytest

from amber import _words

LISTS = {
    "FIRST_NAMES": (_words.FIRST_NAMES, r"[A-Z][a-z]+", 700),
    "LAST_NAMES": (_words.LAST_NAMES, r"[A-Z][a-z]+", 900),
    "STREETS": (_words.STREETS, r"[A-Z][a-z]+", 150),
    "STREET_SUFFIXES": (_words.STREET_SUFFIXES, r"[A-Z][a-z]+", 15),
    "CITIES": (_words.CITIES, r"[A-Z][a-z]+(?: [A-Z][a-z]+)*", 150),
    "STATES": (_words.STATES, r"[A-Z]{2}", 50),
    "WORDS": (_words.WORDS, r"[a-z]+", 400),
}


@pytest.mark.parametrize("name", sorted(LISTS))
def test_lists_are_sorted_unique_ascii_letters(name: str) -> None:
    words, shape, at_least = LISTS[name]
    assert len(words) >= at_least
    assert list(words) == sorted(set(words)), "sorted and unique: the order is part of the output"
    bad = [w for w in words if not re.fullmatch(shape, w)]
    assert not bad, bad


def test_name_space_is_large_enough_for_distinct_names() -> None:
    # 10k people drawn uniformly from first x last names collide in under 1 % of cases
    combos = len(_words.FIRST_NAMES) * len(_words.LAST_NAMES)
    assert 10_000 * 10_000 / (2 * combos) < 100


def test_every_list_is_exported() -> None:
    assert set(_words.__all__) == set(LISTS)
    assert all(isinstance(getattr(_words, n), tuple) for n in _words.__all__)
