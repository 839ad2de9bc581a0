from __future__ import annotations

import orjson

from amber._pseudonym import Pseudonymizer
from amber._pseudonym import marker
from amber.sanitize import SanitizeConfig
from amber.sanitize import scan_bytes

SECRET = "ghp_" + "S3cr3tT0k3n" * 3 + "abc"


def test_findings_have_position_not_secret() -> None:
    data = f"line one\nkey {SECRET} here\nmail bob@corp.com\npassword=hunter2\n".encode()
    findings = scan_bytes(data)
    assert [(f.rule, f.line, f.column) for f in findings] == [
        ("github-token", 2, 5),
        ("email", 3, 6),
        ("secret-key-value", 4, 10),
    ]
    assert findings[0].offset == data.index(SECRET.encode())
    assert findings[0].length == len(SECRET)
    for f in findings:
        for value in (
            vars(f).values() if hasattr(f, "__dict__") else (getattr(f, n) for n in f.__slots__)
        ):
            assert SECRET not in str(value) and "hunter2" not in str(value)


def test_markers_and_pseudonyms_are_not_flagged() -> None:
    p = Pseudonymizer(b"scan-test-key-0123456789")
    doc = {
        "a": marker("jwt"),
        "b": f"password={marker('secret-key-value')}",
        "c": p.pseudonym("email", "bob@corp.com"),
        "d": p.pseudonym("ip", "8.8.8.8"),
        "e": p.pseudonym("ipv6", "2a00::1"),
        "f": p.pseudonym("phone", "+44 20 7946 0958"),
        "g": "Bearer [REDACTED:authorization]",
        "h": '"password": "[REDACTED:sensitive-key]"',
        "i": "postgres://app:[REDACTED:url-userinfo]@db:5432/x",
    }
    assert scan_bytes(orjson.dumps(doc)) == []
    assert scan_bytes(orjson.dumps(orjson.dumps(doc).decode())) == []  # JSON inside JSON


def test_escaped_json_inside_json_is_found() -> None:
    inner = orjson.dumps({"password": "hunter2"}).decode()
    assert [f.rule for f in scan_bytes(orjson.dumps({"body": inner}))] == ["secret-key-value"]


def test_config_and_rule_filter() -> None:
    cfg = SanitizeConfig.from_mapping(
        {"detectors": {"email": False}, "rules": [{"name": "ticket", "pattern": "TCK-[0-9]{6}"}]}
    )
    data = b"bob@corp.com TCK-123456 8.8.8.8"
    assert [f.rule for f in scan_bytes(data, config=cfg)] == ["ipv4", "ticket"]
    assert [f.rule for f in scan_bytes(data, rules=["email"])] == ["email"]


def test_binary_offsets_are_bytes() -> None:
    data = b"\xff\xfe\x00caf\xc3\xa9 " + SECRET.encode()
    (f,) = scan_bytes(data)
    assert data[f.offset : f.offset + f.length] == SECRET.encode()


def test_empty_and_null_values_under_secret_keys_are_not_findings() -> None:
    from amber.sanitize import scan_bytes as scan

    assert scan(b"password_hash: null\ntoken: ''\napi_key: false\n") == []
    assert [f.rule for f in scan(b"password_hash: pbkdf2$abc$def\n")] == ["secret-key-value"]
