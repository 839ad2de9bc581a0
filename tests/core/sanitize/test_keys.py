from __future__ import annotations

import pytest

from amber.sanitize._keys import KeyClassifier
from amber.sanitize._keys import normalize_key
from amber.sanitize._keys import split_tokens


def test_normalize_and_split() -> None:
    assert normalize_key("X-Api.Key") == "x_api_key"
    assert split_tokens("userPassword") == ["user", "password"]
    assert split_tokens("X-API-Key") == ["x", "api", "key"]
    assert split_tokens("APIKey") == ["api", "key"]
    assert split_tokens("oauth_token.v2") == ["oauth", "token", "v", "2"]


@pytest.mark.parametrize(
    "key",
    [
        "password", "Password", "passwd", "access_token", "refresh-token", "id_token",
        "client_secret", "otp", "pin", "cvv", "cvc", "ssn", "iban", "card_number", "api_key",
        "apikey", "private_key", "secret", "userPassword", "authToken", "auth", "x-auth-code",
        "session_id", "sessionId", "csrf_token", "privateKey", "apiKey", "db.password",
        "aws_secret_access_key", "credentials", "new_password", "Authorization", "_csrf",
        "connect.sid", "PHPSESSID", "signature", "csrfmiddlewaretoken",
    ],
)  # fmt: skip
def test_sensitive(key: str) -> None:
    assert KeyClassifier().classify(key) == ("mask", "sensitive-key"), key


@pytest.mark.parametrize(
    "key",
    [
        "author", "authority", "authored_by", "Accept", "access_count", "tokens_used",
        "max_tokens", "prompt_tokens", "tokenizer_version", "cc_count", "occupation",
        "session_count", "token_expires_at", "password_length", "has_password",
        "token_type", "keyboard", "monkey", "key", "status", "id", "pinned",
        "description", "oauth", "secretary", "is_session_active", "sessions",
    ],
)  # fmt: skip
def test_not_sensitive(key: str) -> None:
    assert KeyClassifier().classify(key) is None, key


@pytest.mark.parametrize(
    "key",
    [
        "dob", "DOB", "date_of_birth", "dateOfBirth", "birthDate", "birth_date", "birthday",
        "bday", "born_on", "geburtsdatum", "customer_dob", "userBirthDate", "passport",
        "passport_number", "passportNo", "nino", "ni_number", "steuer_id", "steuerid", "tin",
        "taxId", "national_id",
    ],
)  # fmt: skip
def test_dates_of_birth_passports_and_national_ids_are_masked(key: str) -> None:
    # personal data whose shape alone (a date, 9 characters, 11 digits) says nothing
    assert KeyClassifier().classify(key) == ("mask", "sensitive-key"), key


@pytest.mark.parametrize(
    "key",
    [
        "passport_expiry", "passport_country", "has_passport", "passport_issuer",
        "birthday_reminder_enabled", "birth_date_verified", "tax_id_type", "tint", "stdin",
        "destination", "born_count",
    ],
)  # fmt: skip
def test_keys_about_those_values_are_kept(key: str) -> None:
    assert KeyClassifier().classify(key) is None, key


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("email", "email"), ("Email", "email"), ("billing_email", "email"),
        ("contactEmail", "email"), ("first_name", "first_name"), ("firstName", "first_name"),
        ("last_name", "last_name"), ("phone", "phone"), ("mobilePhone", "phone"),
        ("username", "username"), ("name", "name"), ("customer_id", "customer_id"),
        ("ip_address", "ip"), ("address", "address"),
    ],
)  # fmt: skip
def test_identity(key: str, kind: str) -> None:
    assert KeyClassifier().classify(key) == ("pseudonym", kind)


def test_email_verified_is_not_an_email() -> None:
    k = KeyClassifier()
    assert k.classify("email_verified") is None
    assert k.classify("is_email") is None


def test_configured_keys() -> None:
    k = KeyClassifier(
        sensitive=["Employee-Number"],
        markers=["nonce"],
        keep=["session"],
        identity={"account_ref": "customer_id"},
    )
    assert k.classify("employee_number") == ("mask", "sensitive-key")
    assert k.classify("requestNonce") == ("mask", "sensitive-key")
    assert k.classify("session") is None
    assert k.classify("account_ref") == ("pseudonym", "customer_id")
    assert k.classify("email") is None  # identity mapping replaced wholesale here


@pytest.mark.parametrize(
    "key",
    [
        "pw", "oldPw", "newPw", "login_pw", "db_pass", "smtp_pass", "userPass", "passcode",
        "X-Passcode", "pin_code", "otp_code", "mfa_code", "recoveryCodes", "backup_codes",
        "security_answer", "master_key", "X-2FA-Code", "tfa_code", "totpCode", "mfa_token",
        "api_keys", "apiKeys", "clientSecrets", "X2FACODE",
        # glued after a service's name, as its client's variables write it
        "PGPASSWORD", "MYSQLPASSWORD", "SAPASSWORD", "REDISPASS", "ldappassword", "APP_KEY",
        # other languages
        "passwort", "Kennwort", "contraseña", "mot_de_passe", "nova_senha",
        "user_wachtwoord", "hasło", "пароль", "密码",
        "パスワード",
    ],
)  # fmt: skip
def test_abbreviated_secret_keys_are_masked(key: str) -> None:
    assert KeyClassifier().classify(key) == ("mask", "sensitive-key"), key


@pytest.mark.parametrize(
    "key",
    ["bypass", "passed", "passenger", "compass", "passes", "pass_through", "pass_rate",
     "pin_color", "pwd_hint", "2fa_enabled", "mfa_required", "otp_length", "sapphire",
     "pgpool", "mysqldump", "passion", "sassy", "keystore_path", "app_keyboard", "mapKey",
     "api_keys_count", "num_api_keys"],
)  # fmt: skip
def test_words_around_those_abbreviations_are_kept(key: str) -> None:
    assert KeyClassifier().classify(key) is None, key


@pytest.mark.parametrize(
    "key",
    [
        # header names and upper-case variables lose their camelCase: the marker is glued
        "oldpw", "X-OldPw", "OLDPW", "newpw", "userpass", "confirmpassword", "currentpassword",
        "newpassword", "recoverycodes", "accesstoken", "clientsecret", "idtoken", "XAPIKEY2",
        # ICAO 9303's name for a passport's number
        "document_number", "documentNumber", "DOCUMENT_NO",
    ],
)  # fmt: skip
def test_markers_glued_to_a_head_word_are_masked(key: str) -> None:
    assert KeyClassifier().classify(key) == ("mask", "sensitive-key"), key


@pytest.mark.parametrize(
    "key",
    ["haspassword", "passwordlength", "trespass", "overpass", "cache_bypass", "author",
     "webhooks", "mypassage", "document_type", "documents", "xpath", "xsession_count"],
)  # fmt: skip
def test_glued_words_that_are_not_secrets_are_kept(key: str) -> None:
    assert KeyClassifier().classify(key) is None, key
