"""amber._identity: the test identity's declaration, values, placeholders and hashes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib.util
from pathlib import Path

import pytest

from amber._config import load_config
from amber._identity import HashScheme
from amber._identity import TestIdentity
from amber._identity import credential_of_field
from amber._identity import identity_from_config
from amber._identity import is_password_column
from amber._identity import needs_sentence
from amber.errors import ConfigError


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "amber.yaml"
    path.write_text(text)
    return path


def test_declared_values_and_env_references(tmp_path: Path) -> None:
    cfg = load_config(
        _config(
            tmp_path,
            "testing:\n  identity:\n    user: alice\n    password: ${PW}\n    api_key: k-123456\n",
        )
    )
    ident = identity_from_config(cfg)
    assert ident is not None
    assert ident.value("user") == "alice"
    assert ident.value("password", {"PW": "s3cret!"}) == "s3cret!"
    assert ident.value("basic", {"PW": "s3cret!"}) == base64.b64encode(b"alice:s3cret!").decode()
    assert ident.value("bearer") is None
    assert ident.declared("basic") and not ident.declared("bearer")
    with pytest.raises(ConfigError, match="environment variable PW is not set"):
        ident.value("password", {})
    # a value whose variable is unset is left out of what the scan knows, not an error
    assert ident.known_values({}) == ["alice", "k-123456"]


def test_bad_declarations_name_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as e:
        load_config(_config(tmp_path, "testing:\n  identity:\n    pasword: x\n"))
    assert e.value.line == 3 and "pasword" in str(e.value)
    with pytest.raises(ConfigError, match="unknown hash scheme 'md5'"):
        load_config(_config(tmp_path, "testing:\n  identity:\n    hash: md5\n"))
    with pytest.raises(ConfigError, match="valid keys under testing"):
        load_config(_config(tmp_path, "testing:\n  identiy: {}\n"))
    with pytest.raises(ConfigError, match="login"):
        TestIdentity.from_mapping({"login": {"method": "POST"}})


def test_werkzeug_hash_is_werkzeugs_format_and_verifies() -> None:
    hashed = HashScheme("werkzeug", 1000).hash("pw-1")
    method, salt, digest = hashed.split("$")
    assert method == "pbkdf2:sha256:1000"
    assert hashlib.pbkdf2_hmac("sha256", b"pw-1", salt.encode(), 1000).hex() == digest
    assert HashScheme("werkzeug", 1000).hash("pw-1") == hashed  # deterministic
    assert HashScheme("werkzeug", 1000).hash("pw-2") != hashed
    if importlib.util.find_spec("werkzeug") is not None:
        from werkzeug.security import check_password_hash

        assert check_password_hash(hashed, "pw-1")
        assert check_password_hash(HashScheme("werkzeug-scrypt").hash("pw-1"), "pw-1")
        assert not check_password_hash(hashed, "pw-2")


def test_django_hash_is_djangos_format() -> None:
    hashed = HashScheme("django", 1200).hash("pw-1")
    algorithm, n, salt, b64 = hashed.split("$")
    assert (algorithm, n) == ("pbkdf2_sha256", "1200")
    raw = hashlib.pbkdf2_hmac("sha256", b"pw-1", salt.encode(), 1200)
    assert hmac.compare_digest(base64.b64decode(b64), raw)
    if importlib.util.find_spec("django") is not None:
        from django.conf import settings

        if not settings.configured:
            settings.configure(
                PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
            )
        from django.contrib.auth.hashers import check_password

        assert check_password("pw-1", hashed)
        assert not check_password("pw-2", hashed)


def test_passlib_pbkdf2_hash_is_passlibs_format() -> None:
    hashed = HashScheme("passlib-pbkdf2-sha256", 1100).hash("pw-1")
    empty, ident, n, salt, digest = hashed.split("$")
    assert (empty, ident, n) == ("", "pbkdf2-sha256", "1100")

    def ab64_decode(text: str) -> bytes:  # passlib's adapted base64
        text = text.replace(".", "+")
        return base64.b64decode(text + "=" * (-len(text) % 4))

    raw = hashlib.pbkdf2_hmac("sha256", b"pw-1", ab64_decode(salt), 1100)
    assert hmac.compare_digest(ab64_decode(digest), raw)
    assert "+" not in hashed and "=" not in hashed
    assert HashScheme("passlib-pbkdf2-sha256", 1100).hash("pw-1") == hashed  # deterministic
    assert HashScheme("passlib-pbkdf2-sha256", 1100).hash("pw-2") != hashed
    if importlib.util.find_spec("passlib") is not None:
        from passlib.hash import pbkdf2_sha256

        assert pbkdf2_sha256.verify("pw-1", hashed)
        assert not pbkdf2_sha256.verify("pw-2", hashed)


@pytest.mark.parametrize(("scheme", "module"), [("bcrypt", "bcrypt"), ("argon2", "argon2")])
def test_library_schemes_say_what_to_install(scheme: str, module: str) -> None:
    if importlib.util.find_spec(module) is not None:
        assert HashScheme(scheme).hash("pw") == HashScheme(scheme).hash("pw")
        return
    with pytest.raises(ConfigError, match="pip install"):
        HashScheme(scheme).hash("pw")


def test_field_and_column_classification() -> None:
    assert credential_of_field("password") == "password"
    assert credential_of_field("new_password") == "password"
    assert credential_of_field("X-Api-Key") == "api_key"
    assert credential_of_field("access_token") == "bearer"
    assert credential_of_field("username") == "user"
    assert credential_of_field("quantity") is None
    assert credential_of_field("pin_code", {"pin_code": "api_key"}) == "api_key"
    for name in ("password_hash", "hashed_password", "passwd", "encrypted_password", "pwd"):
        assert is_password_column(name), name
    for name in ("password_reset_at", "email", "pass_count"):
        assert not is_password_column(name), name


def test_needs_sentence_names_the_keys() -> None:
    text = needs_sentence(["basic"], login=False)
    assert "testing.identity.user, testing.identity.password in amber.yaml" in text
    assert "testing.identity.login" in needs_sentence([], login=True)
