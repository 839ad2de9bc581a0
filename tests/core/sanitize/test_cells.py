from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid

import pytest

from amber._pseudonym import Pseudonymizer
from amber.sanitize import CellSanitizer
from amber.sanitize import SanitizeConfig
from amber.sanitize import Sanitizer
from amber.sanitize._ids import card_ok
from amber.sanitize._ids import luhn_ok

KEY = b"cells-test-key-0123456789abcdef!"


@pytest.fixture
def cells() -> CellSanitizer:
    return CellSanitizer(Sanitizer(SanitizeConfig(), Pseudonymizer(KEY)))


@pytest.mark.parametrize(
    "name",
    ["totp_seed", "recovery", "pw", "date_of_birth", "mfa_secret", "password_salt",
     "customer_ssn", "backup_codes", "credentials", "otp"],
)  # fmt: skip
def test_secret_column_names(cells: CellSanitizer, name: str) -> None:
    assert cells.column(name) == ("mask", "sensitive-key")


@pytest.mark.parametrize(
    "name",
    ["seed_count", "product_name", "sku", "app_version", "mac_address", "passenger_count",
     "has_password", "recovery_enabled", "created_at", "compass"],
)  # fmt: skip
def test_ordinary_column_names(cells: CellSanitizer, name: str) -> None:
    assert cells.column(name) is None


def test_postal_addresses_by_suffix(cells: CellSanitizer) -> None:
    assert cells.column("shipping_address") == ("pseudonym", "address")
    assert cells.column("billing_address") == ("pseudonym", "address")
    assert cells.column("ip_address") == ("pseudonym", "ip")
    assert cells.column("wallet_address") is None


def test_person_tables(cells: CellSanitizer) -> None:
    assert cells.about_person("users", ["id", "name"])
    assert cells.about_person("things", ["id", "name", "email"])
    assert not cells.about_person("products", ["id", "name", "sku"])


def test_text_uses_capture_pseudonyms(cells: CellSanitizer) -> None:
    new, hits = cells.text("write to Jane@Corp.com today", "t.c")
    fake = Pseudonymizer(KEY).pseudonym("email", "Jane@Corp.com")
    assert new == f"write to {fake} today"
    assert [h.rule for h in hits] == ["email"]
    same = "nothing here, version 2.4.1"
    assert cells.text(same, "t.c")[0] is same


def test_version_column_is_not_an_address(cells: CellSanitizer) -> None:
    assert cells.text("2.4.1.0", "t.v", "app_version") == ("2.4.1.0", [])
    assert cells.text("10.4.1.0", "t.v", "note")[0] != "10.4.1.0"
    # four single digits: a version, unless the column names an address
    assert cells.text("2.4.1.0", "t.v", "note") == ("2.4.1.0", [])
    assert cells.text("2.4.1.0", "t.v", "peer_ip")[0] != "2.4.1.0"


def test_json_text_edited_in_place(cells: CellSanitizer) -> None:
    text = '{ "smtp_pass" : "hunter2",\n  "theme": "dark", "n": 1.50 }'
    new, hits = cells.text(text, "t.settings", "settings")
    assert new == '{ "smtp_pass" : "[REDACTED:sensitive-key]",\n  "theme": "dark", "n": 1.50 }'
    assert {h.location for h in hits} == {"t.settings"}


def test_json_under_a_secret_column_keeps_its_shape(cells: CellSanitizer) -> None:
    new, _ = cells.json({"client_id": "a", "scopes": ["x"]}, "t.c", "credentials")
    assert new == {"client_id": "[REDACTED:sensitive-key]", "scopes": ["[REDACTED:sensitive-key]"]}
    plain, _ = cells.json({"user": {"email": "a@corp.com"}, "n": 2}, "t.p", "profile")
    assert plain["user"]["email"] == Pseudonymizer(KEY).pseudonym("email", "a@corp.com")
    assert plain["n"] == 2
    kept = {"version": "1.2.3"}
    assert cells.json(kept, "t.m", "meta")[0] is kept
    assert cells.json("not json {", "t.m", "meta")[0] == "not json {"


def test_binary_text_and_bytes(cells: CellSanitizer) -> None:
    new, hits = cells.binary(b"mail ops@corp.com", "t.b")
    assert b"corp.com" not in new and hits
    raw = bytes(range(256))
    assert cells.binary(raw, "t.b") == (raw, [])


def test_card_integers(cells: CellSanitizer) -> None:
    new, hits = cells.integer(4111111111111111, "t.n")
    assert new != 4111111111111111 and len(str(new)) == 16 and not luhn_ok(str(new))
    assert [h.rule for h in hits] == ["credit-card"]
    assert cells.integer(1733150000123, "t.n") == (1733150000123, [])
    assert cells.integer(42, "t.n") == (42, [])


def test_masked_values_keep_their_type(cells: CellSanitizer) -> None:
    assert cells.masked("x") == "[REDACTED:sensitive-key]"
    assert cells.masked(b"\x00\x01") == b"[REDACTED:sensitive-key]"
    n = cells.masked(4111111111111111)
    assert isinstance(n, int) and not card_ok(str(n)) and n == cells.masked(4111111111111111)
    assert cells.masked(4111111111111112) != n
    assert isinstance(cells.masked(decimal.Decimal("123")), decimal.Decimal)
    assert isinstance(cells.masked(12.5), float)
    assert cells.masked(float("nan")) == 0.0
    assert cells.masked(-77) < 0
    assert cells.masked(dt.date(1984, 7, 19)) == dt.date(1900, 1, 1)
    assert cells.masked(dt.datetime(1984, 7, 19, 3)) == dt.datetime(1900, 1, 1)
    assert cells.masked(dt.time(3, 4)) == dt.time(0, 0)
    u = uuid.UUID("6f1c2a4e-8b1d-4c9e-9a3f-2b7d5e8c1a90")
    assert isinstance(cells.masked(u), uuid.UUID) and cells.masked(u) != u
    assert cells.masked(None) is None and cells.masked(True) is True
    assert json.dumps(cells.masked([1, 2])) == '"[REDACTED:sensitive-key]"'
