from __future__ import annotations

from typing import Any

import pytest

from amber.errors import ConfigError
from amber.sanitize import DEFAULT_MAX_DECODED_BODY
from amber.sanitize import SanitizeConfig


def test_defaults() -> None:
    assert SanitizeConfig.from_mapping(None) == SanitizeConfig()
    assert SanitizeConfig.from_mapping({}).max_decoded_body == DEFAULT_MAX_DECODED_BODY


def test_full_example() -> None:
    cfg = SanitizeConfig.from_mapping(
        {
            "headers": {"redact": ["X-Internal-Token"], "keep": ["X-Debug"]},
            "keys": {
                "redact": ["Employee-Number"],
                "markers": ["nonce"],
                "keep": ["session_count"],
                "pseudonymize": {"account_ref": "customer_id", "name": None},
            },
            "detectors": {"phone": False},
            "rules": [
                {"name": "ticket", "pattern": "TCK-[0-9]{6}"},
                {
                    "name": "emp",
                    "pattern": "E[0-9]{7}",
                    "action": "pseudonym",
                    "kind": "customer_id",
                },
            ],
            "max_decoded_body": 1048576,
        }
    )
    assert cfg.sensitive_headers == {"x-internal-token"}
    assert cfg.sensitive_keys == {"employee_number"}
    assert "name" not in cfg.identity_keys() and cfg.identity_keys()["account_ref"] == "customer_id"
    assert "phone" not in cfg.enabled_detectors() and "email" in cfg.enabled_detectors()
    assert [r.name for r in cfg.rules] == ["ticket", "emp"]
    assert cfg.max_decoded_body == 1048576


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"header": {}}, "sanitize.header"),
        ("nope", "sanitize"),
        ({"headers": {"redact": "x-a"}}, "sanitize.headers.redact"),
        ({"headers": {"redact": ["ok", 3]}}, "sanitize.headers.redact[1]"),
        ({"headers": {"drop": []}}, "sanitize.headers.drop"),
        ({"keys": {"pseudonymize": {"uid": "shoe"}}}, "sanitize.keys.pseudonymize.uid"),
        ({"keys": []}, "sanitize.keys"),
        ({"detectors": {"emial": False}}, "sanitize.detectors.emial"),
        ({"detectors": {"email": "no"}}, "sanitize.detectors.email"),
        ({"rules": {"name": "x"}}, "sanitize.rules"),
        ({"rules": [{"name": "x", "pattern": "(unclosed"}]}, "sanitize.rules[0].pattern"),
        ({"rules": [{"name": "x", "pattern": "a*"}]}, "sanitize.rules[0].pattern"),
        ({"rules": [{"name": "bad name!", "pattern": "a"}]}, "sanitize.rules[0].name"),
        ({"rules": [{"name": "x", "pattern": "a", "action": "hash"}]}, "sanitize.rules[0].action"),
        ({"rules": [{"name": "x", "pattern": "a", "kind": "email"}]}, "sanitize.rules[0].kind"),
        ({"rules": [{"name": "x", "pattern": "a", "colour": 1}]}, "sanitize.rules[0].colour"),
        ({"max_decoded_body": "16M"}, "sanitize.max_decoded_body"),
        ({"max_decoded_body": True}, "sanitize.max_decoded_body"),
    ],
)
def test_errors_name_the_key(data: Any, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        SanitizeConfig.from_mapping(data)
    assert info.value.key == key
    assert str(info.value).startswith(f"{key}: ")
