from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import subprocess
import sys

import pytest

from amber import _words
from amber._pseudonym import MARKER_RE
from amber._pseudonym import PSEUDONYM_KINDS
from amber._pseudonym import Pseudonymizer
from amber._pseudonym import is_marker
from amber._pseudonym import is_synthetic
from amber._pseudonym import load_key
from amber._pseudonym import marker
from amber.errors import KeyMissing

KEY = b"test-key-0123456789abcdef-0123456789"
OTHER = b"another-key-0123456789abcdef-012345"

SAMPLES = {
    "email": "Alice.Smith@Corp.com",
    "name": "Alice Smith",
    "first_name": "Alice",
    "last_name": "Smith",
    "phone": "+44 20 7946 0958",
    "username": "alice",
    "ip": "8.8.8.8",
    "ipv6": "2a00:1450:4001:81b::200e",
    "customer_id": "1234567",
    "address": "1 Main Street, Springfield",
    "text": "some free text here",
}


def test_every_kind_has_a_sample() -> None:
    assert set(SAMPLES) == set(PSEUDONYM_KINDS)


@pytest.mark.parametrize("kind", PSEUDONYM_KINDS)
def test_deterministic_across_instances_and_key_dependent(kind: str) -> None:
    value = SAMPLES[kind]
    a = Pseudonymizer(KEY).pseudonym(kind, value)
    b = Pseudonymizer(KEY).pseudonym(kind, value)
    c = Pseudonymizer(OTHER).pseudonym(kind, value)
    assert a == b
    assert a != c
    assert a != value
    assert a.isascii()


def test_same_output_in_another_process() -> None:
    code = (
        "from amber._pseudonym import Pseudonymizer;"
        f"p = Pseudonymizer({KEY!r});"
        "print(p.pseudonym('email', 'bob@corp.com'), p.pseudonym('name', 'Bob'),"
        " p.pseudonym('customer_id', '98765'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "123"},
    ).stdout.split()
    p = Pseudonymizer(KEY)
    assert out[0] == p.pseudonym("email", "bob@corp.com")
    assert " ".join(out[1:3]) == p.pseudonym("name", "Bob")
    assert out[3] == p.pseudonym("customer_id", "98765")


def test_normalization() -> None:
    p = Pseudonymizer(KEY)
    assert p.pseudonym("email", " Bob@Corp.COM ") == p.pseudonym("email", "bob@corp.com")
    assert p.pseudonym("username", "Bob") == p.pseudonym("username", "bob")
    assert p.pseudonym("name", "Bob") != p.pseudonym("name", "bob")
    assert p.pseudonym("phone", "+1 (415) 555-2671") == p.pseudonym("phone", "+14155552671")
    assert p.pseudonym("ipv6", "2A00::1") == p.pseudonym("ipv6", "2a00:0:0::1")
    # the kind is part of the seed
    assert p.digest("name", "x") != p.digest("first_name", "x")


def test_synthetic_ranges() -> None:
    p = Pseudonymizer(KEY)
    for i in range(200):
        email = p.pseudonym("email", f"user{i}@corp.com")
        assert re.fullmatch(r"[a-z]+\.[a-z]+[0-9]{1,2}@example\.(com|org|net)", email)
        ip = ipaddress.ip_address(p.pseudonym("ip", f"10.0.{i}.1"))
        assert any(
            ip in ipaddress.ip_network(n)
            for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
        )
        ip6 = ipaddress.ip_address(p.pseudonym("ipv6", f"2a00::{i:x}"))
        assert ip6 in ipaddress.ip_network("2001:db8::/32")
        phone = p.pseudonym("phone", f"+44 20 7946 {i:04d}")
        assert re.fullmatch(r"\+1-[2-9][0-9]{2}-555-01[0-9]{2}", phone)
        assert is_synthetic("email", email)
        assert is_synthetic("ip", str(ip)) and is_synthetic("ipv6", str(ip6))
        assert is_synthetic("phone", phone)
    assert not is_synthetic("email", "bob@corp.com")
    assert not is_synthetic("ip", "8.8.8.8")
    assert not is_synthetic("phone", "+1 415 555 2671")
    assert is_synthetic("email", "x@mail.example.com")
    assert is_synthetic("email", "x@host.test")


def test_customer_id_keeps_shape() -> None:
    p = Pseudonymizer(KEY)
    for value in (
        "1234567",
        "9",
        "000123",
        "cus_9aB3kLmN",
        "550e8400-e29b-41d4-a716-446655440000",
        "AB-1234-xy",
    ):
        fake = p.pseudonym("customer_id", value)
        assert len(fake) == len(value)
        if value.isdigit():
            assert fake.isdigit()
            assert (fake[0] == "0") == (value[0] == "0") or value[0] == "0"
    assert p.pseudonym("customer_id", "cus_9aB3kLmN").startswith("cus_")
    uuid = p.pseudonym("customer_id", "550e8400-e29b-41d4-a716-446655440000")
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", uuid)
    assert int(p.pseudonym("customer_id", "1234567")) >= 1_000_000


def test_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown pseudonym kind"):
        Pseudonymizer(KEY).pseudonym("shoe_size", "42")


def test_marker() -> None:
    assert marker("password") == "[REDACTED:password]"
    assert is_marker("[REDACTED:sensitive-key]")
    assert not is_marker("[REDACTED:x] and more")
    assert MARKER_RE.fullmatch(marker("aws-access-key-id"))


def test_load_key() -> None:
    hexkey = "ab" * 32
    assert load_key({"AMBER_KEY": hexkey}) == hexkey.encode()
    assert load_key({"AMBER_KEY": "  sixteen-chars-ok  "}) == b"sixteen-chars-ok"
    with pytest.raises(KeyMissing, match=r"AMBER_KEY is not set: generate one with .*token_hex"):
        load_key({})
    with pytest.raises(KeyMissing, match="AMBER_KEY is not set"):
        load_key({"AMBER_KEY": "   "})
    with pytest.raises(KeyMissing, match=r"too short .*keep it out of the repository"):
        load_key({"AMBER_KEY": "short"})
    with pytest.raises(KeyMissing):
        Pseudonymizer(b"short")


def test_own_pseudonyms_carry_the_keys_tag() -> None:
    p, other = Pseudonymizer(KEY), Pseudonymizer(b"another key of 32 bytes........")
    kinds = {
        "email": [f"user{i}@corp.com" for i in range(300)],
        "ip": [f"10.0.{i}.1" for i in range(300)],
        "ipv6": [f"2a00::{i:x}" for i in range(300)],
        "phone": [f"+44 20 7946 {i:04d}" for i in range(300)],
    }
    for kind, values in kinds.items():
        fakes = [p.pseudonym(kind, v) for v in values]
        assert all(p.is_own(kind, f) for f in fakes), kind
        # a pseudonym of a pseudonym is itself: sanitizing twice, or a fixture made from a
        # sanitized capture, changes nothing
        assert all(p.pseudonym(kind, f) == f for f in fakes), kind
        # under another key, most are not own output (the tag is keyed)
        foreign = sum(other.is_own(kind, f) for f in fakes)
        assert foreign < len(fakes) // 4, (kind, foreign)
        assert not p.is_own(kind, values[0])  # outside the ranges: never


def test_documentation_values_from_traffic_are_not_own_output() -> None:
    p = Pseudonymizer(KEY)
    emails = [
        f"{w}@example.{t}" for w in ("alice", "bob", "alice.smith", "a.b7") for t in ("com", "org")
    ]
    assert not any(p.is_own("email", e) for e in emails)
    assert p.pseudonym("email", "alice@example.com") != "alice@example.com"
    # 1 in 8 TEST-NET addresses and 1 in 16 fictional lines carry a tag by chance
    ips = [f"192.0.2.{n}" for n in range(1, 255)]
    assert 10 <= sum(p.is_own("ip", a) for a in ips) <= 60
    phones = [f"+1-212-555-01{n:02d}" for n in range(100)]
    assert sum(p.is_own("phone", f) for f in phones) <= 20
    # `amber scan` has no key: every value in a synthetic range counts as a pseudonym
    scan = Pseudonymizer(KEY, trust_ranges=True)
    assert all(scan.is_own("email", e) for e in emails) and scan.is_own("ip", ips[0])


# -- amber's own generators (no Faker) --------------------------------------------------

NAME_KINDS = ("name", "first_name", "last_name", "username", "address", "text")


def test_names_come_from_ambers_word_lists() -> None:
    p = Pseudonymizer(KEY)
    first, last = set(_words.FIRST_NAMES), set(_words.LAST_NAMES)
    for i in range(500):
        a, b = p.pseudonym("name", f"Person {i}").split(" ")
        assert a in first and b in last
        assert p.pseudonym("first_name", f"F{i}") in first
        assert p.pseudonym("last_name", f"L{i}") in last
        email = p.pseudonym("email", f"p{i}@corp.com")
        m = re.fullmatch(r"([a-z]+)\.([a-z]+)[0-9]{1,2}@example\.(?:com|org|net)", email)
        assert m is not None and m[1].title() in first and m[2].title() in last


def test_username_shapes() -> None:
    p = Pseudonymizer(KEY)
    low_first = {n.lower() for n in _words.FIRST_NAMES}
    low_last = {n.lower() for n in _words.LAST_NAMES}
    seen = set()
    for i in range(300):
        u = p.pseudonym("username", f"user{i}")
        assert re.fullmatch(r"[a-z_]+(?:0|[1-9][0-9]?)?", u), u
        a, sep, b = u.partition("_")
        if sep:
            seen.add("first_last")
            assert a in low_first and b in low_last
        else:
            word = u.rstrip("0123456789")
            assert word[:-1] in low_first or word[1:] in low_last, u
            seen.add("first_l_n" if word[:-1] in low_first else "f_last_n")
    assert seen == {"first_last", "first_l_n", "f_last_n"}


def test_address_shape() -> None:
    p = Pseudonymizer(KEY)
    shape = re.compile(
        r"([1-9][0-9]{2,3}) ([A-Za-z]+) ([A-Za-z]+)(?: Apt\. [0-9]+| Suite [0-9]{3})?, "
        r"([A-Za-z ]+), ([A-Z]{2}) ([1-9][0-9]{4})"
    )
    units = set()
    for i in range(400):
        address = p.pseudonym("address", f"{i} Real Road, Somewhere")
        m = shape.fullmatch(address)
        assert m is not None, address
        assert m[2] in _words.STREETS and m[3] in _words.STREET_SUFFIXES
        assert m[4] in _words.CITIES and m[5] in _words.STATES
        units.add("Apt." in address or "Suite" in address)
    assert units == {True, False}


def test_text_keeps_the_word_count_up_to_twelve() -> None:
    p = Pseudonymizer(KEY)
    words = set(_words.WORDS)
    for n in (1, 2, 5, 12, 30):
        out = p.pseudonym("text", " ".join(f"w{i}" for i in range(n))).split(" ")
        assert len(out) == min(n, 12)
        assert all(w in words for w in out)


@pytest.mark.parametrize("kind", NAME_KINDS)
def test_deterministic_per_key_kind_and_value(kind: str) -> None:
    a, b, other = Pseudonymizer(KEY), Pseudonymizer(KEY), Pseudonymizer(OTHER)
    values = [f"Someone Number {i}" for i in range(200)]
    ours = [a.pseudonym(kind, v) for v in values]
    assert ours == [b.pseudonym(kind, v) for v in values]
    theirs = [other.pseudonym(kind, v) for v in values]
    assert sum(x == y for x, y in zip(ours, theirs, strict=True)) < 20  # key-dependent
    # the kind is part of the seed: a name's first name is not the first_name pseudonym
    if kind == "name":
        firsts = [a.pseudonym("first_name", v) for v in values]
        assert sum(n.split(" ")[0] == f for n, f in zip(ours, firsts, strict=True)) < 20


def test_ten_thousand_inputs_give_distinct_names() -> None:
    p = Pseudonymizer(KEY)
    names = {p.pseudonym("name", f"Customer {i}") for i in range(10_000)}
    assert len(names) >= 9_900, len(names)
    usernames = {p.pseudonym("username", f"customer{i}") for i in range(10_000)}
    assert len(usernames) >= 9_900, len(usernames)
    addresses = {p.pseudonym("address", f"{i} Elm St") for i in range(10_000)}
    assert len(addresses) == 10_000
    # every list entry is reachable and none dominates
    firsts = [p.pseudonym("first_name", f"f{i}") for i in range(20_000)]
    counts = {n: firsts.count(n) for n in set(firsts)}
    assert len(counts) > 0.9 * len(_words.FIRST_NAMES)
    assert max(counts.values()) < 5 * 20_000 / len(_words.FIRST_NAMES)


def test_a_name_pseudonym_imports_no_faker() -> None:
    # as in the light runtime, where Faker is not installed: importing it fails
    code = (
        "import sys\n"
        "sys.modules['faker'] = None\n"
        "from amber._pseudonym import Pseudonymizer\n"
        f"p = Pseudonymizer({KEY!r})\n"
        "for kind in ('name', 'first_name', 'last_name', 'username', 'address', 'text',"
        " 'email'):\n"
        "    p.pseudonym(kind, 'Alice Smith')\n"
        "print(p.pseudonym('name', 'Alice Smith'))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'faker' and sys.modules[m]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out == [Pseudonymizer(KEY).pseudonym("name", "Alice Smith"), "[]"]


@pytest.mark.parametrize("key", [b"k" * 16, b"0123456789abcdef" * 4, b"x" * 65, bytes(range(200))])
def test_the_keyed_hashes_are_hmac_sha256(key: bytes) -> None:
    # the pseudonymizer computes HMAC-SHA256 from two pre-keyed hashes: the same bytes
    p = Pseudonymizer(key)
    for msg in (b"", b"email\0alice@corp.com", "ü".encode() * 100):
        assert p._hmac(msg) == hmac.new(key, msg, hashlib.sha256).digest()
    assert (
        p.digest("email", "A@b.com ") == hmac.new(key, b"email\0a@b.com", hashlib.sha256).digest()
    )
