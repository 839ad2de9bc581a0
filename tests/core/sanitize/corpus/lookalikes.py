"""Ordinary values that look like secrets or personal data and must survive byte for byte.

Each is planted under the key real traffic carries it under; none is secret, so the stored
form of every carrier holding one must keep it unchanged (and the body as a whole too).
"""

from __future__ import annotations

import base64
import hashlib
import random
import string
import uuid
from dataclasses import dataclass

__all__ = ["Lookalike", "lookalikes"]


@dataclass(frozen=True, slots=True)
class Lookalike:
    """One ordinary value, its class and the key it is carried under."""

    cls: str
    value: str
    key: str


def _isbn13(rng: random.Random) -> str:
    body = "978" + "".join(rng.choice(string.digits) for _ in range(9))
    total = sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _ean13(rng: random.Random) -> str:
    body = "40" + "".join(rng.choice(string.digits) for _ in range(10))
    total = sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _png_b64(rng: random.Random) -> str:
    raw = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + rng.randbytes(60)
    return "data:image/png;base64," + base64.b64encode(raw).decode()


def lookalikes() -> list[Lookalike]:
    """Every look-alike, in a fixed order (the same on every run)."""
    rng = random.Random(16100)
    out: list[Lookalike] = []

    def add(cls: str, key: str, *values: str) -> None:
        out.extend(Lookalike(cls, v, key) for v in values)

    add("uuid", "id", *(str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(8)))
    add(
        "uuid",
        "order_uuid",
        *(str(uuid.UUID(int=rng.getrandbits(128), version=4)).upper() for _ in range(2)),
    )
    add("hash", "sha256", *(hashlib.sha256(rng.randbytes(8)).hexdigest() for _ in range(4)))
    add("hash", "etag", *(hashlib.md5(rng.randbytes(8)).hexdigest() for _ in range(3)))
    add("hash", "commit", *(hashlib.sha1(rng.randbytes(8)).hexdigest() for _ in range(3)))
    add(
        "version",
        "version",
        "2.4.1.0",
        "10.0.19045.3693",
        "1.2.3",
        "4.18.2-beta.1",
        "192.168.0-rc2",
        "3.11.4",
        "127.0.0.2-build7",
        "8.8.4.4-lts",
    )
    add("price", "price", "19.99", "1,299.00", "0.05", "12 499,90", "4111.11", "1234567.89")
    add(
        "timestamp",
        "created_at",
        "2024-03-14T15:09:26Z",
        "2024-03-14T15:09:26.535+01:00",
        "1710428966",
        "1710428966535",
        "Thu, 14 Mar 2024 15:09:26 GMT",
        "2024-03-14 15:09:26",
    )
    add("isbn-ean", "isbn", *(_isbn13(rng) for _ in range(4)))
    add("isbn-ean", "ean", *(_ean13(rng) for _ in range(4)))
    add(
        "mac",
        "mac",
        "3c:22:fb:9a:41:0e",
        "00-1B-63-84-45-E6",
        "a4:83:e7:12:6c:d0",
        "f0:18:98:2b:77:c1",
    )
    add("trace-id", "trace_id", *(f"{rng.getrandbits(128):032x}" for _ in range(3)))
    add(
        "trace-id",
        "traceparent",
        *(f"00-{rng.getrandbits(128):032x}-{rng.getrandbits(64):016x}-01" for _ in range(3)),
    )
    add("trace-id", "request_id", "req_8f2a61c04d7b", "Root=1-65f31a2e-6c1b5e0a9d3f7c2b4e8a1d06")
    add("image", "thumbnail", *(_png_b64(rng) for _ in range(3)))
    add(
        "name",
        "name",
        "mug",
        "Stoneware Mug 350 ml",
        "eu-west-1",
        "us-east-2",
        "Frankfurt",
        "report-2024-q1.pdf",
        "amber-core",
        "Standard Shipping",
        "Blue Widget",
        "Main Street Store",
    )
    add(
        "sql-error",
        "error",
        'unrecognized token: "]"',
        'near "token": syntax error',
        'ERROR: column "password_hash" does not exist',
        'duplicate key value violates unique constraint "users_email_key"',
    )
    add(
        "js-source",
        "source",
        "const token = sessionStorage.getItem('auth');",
        "let password = document.getElementById('pw').value;",
        "if (apiKey === undefined) { throw new Error('missing key'); }",
        'secret = os.environ.get("APP_SECRET")',
    )
    add("id", "sku", "SKU-4821-XL", "B08N5WRWNW", "ord_00012345", "INV-2024-000917")
    add("id", "tracking", "1Z999AA10123456784", "9400111899223197428490")
    add("number", "count", "4111", "5500", "123456", "1000000", "3.14159", "6011")
    add("locale", "locale", "en-US", "de-DE", "pt-BR", "zh-Hans-CN")
    add("color", "color", "#1e90ff", "#FFAA00", "rgb(12, 34, 56)")
    add("semver-range", "requires", ">=1.2.3,<2", "~=3.11", "^4.17.21")
    add("coordinates", "location", "52.5200,13.4050", "-33.8688, 151.2093")
    add("duration", "timeout", "PT30M", "1500ms", "00:05:00")
    add(
        "path",
        "file",
        "/var/log/app/2024-03-14.log",
        "C:\\Users\\Public\\report.csv",
        "static/js/main.4f2a9c1e.js",
    )
    add("mime", "content_type", "application/vnd.api+json", "multipart/form-data")
    # encodings of ordinary text: the sanitizer reads through base64, hex and escapes, and
    # must keep what holds nothing (a cursor, a node id, an encoded title)
    add(
        "encoded",
        "cursor",
        _b64(b'{"id":12345,"sort":"created"}'),  # 40 characters, like an AWS secret key
        _b64(b'{"after":"2024-03-14T15:09:26Z","limit":50}', urlsafe=True),
        _b64(b"offset=200&order=desc"),
    )
    add("encoded", "node_id", "MDQ6VXNlcjU4MzIzMQ==", "MDEwOlJlcG9zaXRvcnkxMjk2MjY5")
    add("encoded", "state", _b64(b"return_to=/orders/42&lang=en-GB"))
    add(
        "encoded",
        "title",
        "Stoneware%20Mug%20350%20ml",
        "caf%C3%A9%20au%20lait",
        b"Hello, world! Order 4471 shipped".hex(),
        "\\u00c9tag\\u00e8re murale 80 cm",
    )
    add(
        "encoded",
        "integrity",
        "sha384-" + base64.b64encode(hashlib.sha384(rng.randbytes(8)).digest()).decode(),
        base64.b64encode(hashlib.sha256(rng.randbytes(8)).digest()).decode(),
    )
    add("id", "event_id", "01HQ3V8Z6K7WJ4YB5N2XG9TCMR", "evt_1OqRsT2eZvKYlo2CkQ8n9XyZ")
    add("id", "handler", "getUserAccountSettingsForProfileVersion2")
    # failing their checks: a card-shaped reference that fails Luhn, an IBAN-shaped one
    # that fails mod-97, a lower-case word run that is no IBAN
    add(
        "checksum-fail",
        "reference",
        "4111 1111 1111 1112",
        "GB00 WEST 1234 5698 7654 32",
        "de00370400440532013000",
    )
    return out


def _b64(raw: bytes, *, urlsafe: bool = False) -> str:
    if urlsafe:
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return base64.b64encode(raw).decode()
