from __future__ import annotations

import pytest

from amber.sanitize._ids import card_ok
from amber.sanitize._ids import iban_ok
from amber.sanitize._ids import luhn_ok
from amber.sanitize._ids import nino_ok
from amber.sanitize._ids import phone_ok
from amber.sanitize._ids import ssn_ok
from amber.sanitize._ids import steuer_id_ok


def _luhn_complete(body: str) -> str:
    return next(body + d for d in "0123456789" if luhn_ok(body + d))


@pytest.mark.parametrize(
    ("family", "prefix", "length"),
    [
        ("visa", "4", 16), ("visa-13", "4", 13), ("mastercard-2", "2720", 16),
        ("amex", "37", 15), ("discover", "6011", 16), ("jcb", "3589", 16),
        ("diners", "36", 14), ("maestro-12", "6759", 12), ("maestro-19", "5018", 19),
        ("mir", "2204", 16), ("rupay", "6080", 16), ("rupay-8", "8172", 16),
        ("unionpay-19", "62", 19), ("elo", "5067", 16), ("troy", "9792", 16),
        ("verve", "5061", 19), ("uatp", "1", 15),
    ],
)  # fmt: skip
def test_every_iin_family_is_a_card(family: str, prefix: str, length: int) -> None:
    number = _luhn_complete(prefix + "3" * (length - len(prefix) - 1))
    assert card_ok(number), family
    assert not card_ok(number[:-1] + str((int(number[-1]) + 1) % 10)), "Luhn"


@pytest.mark.parametrize(
    "text",
    [
        "7" + "0" * 15,  # no family starts with 7
        _luhn_complete("5" + "1" * 10),  # a 12-digit number outside Maestro's own IINs
        _luhn_complete("1" + "2" * 11),  # UATP is 15 digits, never 13
        "10.0.19045.3693",  # dots between digits, not grouped as a card
        "4111 1111-1111 1111",  # two kinds of separator
    ],
)
def test_not_cards(text: str) -> None:
    assert not card_ok(text)


def test_cards_grouped_by_dots() -> None:
    assert card_ok("4111.1111.1111.1111")
    assert card_ok("3782.822463.10005")


def test_ibans_of_the_registry_in_either_case() -> None:
    assert iban_ok("DE89370400440532013000")
    assert iban_ok("de89370400440532013000")
    assert iban_ok("GB82 WEST 1234 5698 7654 32")
    assert iban_ok("AL47212110090000000235698741")  # a registry country added this round
    assert not iban_ok("De89370400440532013000")  # mixed case: an id, not an IBAN
    assert not iban_ok("DE89370400440532013001")
    assert not iban_ok("ZZ89370400440532013000")


def test_national_ids() -> None:
    assert ssn_ok("123-45-6789")
    assert not ssn_ok("666-45-6789") and not ssn_ok("123-00-6789")
    assert nino_ok("AB123456C") and nino_ok("AB 12 34 56 C")
    assert not nino_ok("GB123456C")  # a prefix HMRC never issues
    assert not nino_ok("DA123456C") and not nino_ok("AO123456C") and not nino_ok("AB123456E")
    assert steuer_id_ok("12345678911")
    assert not steuer_id_ok("12345678912")  # check digit
    assert not steuer_id_ok("12345678901")  # no repeated digit in the first ten
    assert not steuer_id_ok("02345678911")  # starts with 0


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("+44 20 7946 0958", True), ("+0044 20 7946 0321", True), ("00 44 161 496 0742", True),
        ("0049 89 2180 4431", True), ("(415) 867-5309", True), ("+1 23", False),
        ("00 12", False), ("115-867-5309", False),
    ],
)  # fmt: skip
def test_phones(text: str, ok: bool) -> None:
    assert phone_ok(text) is ok
