from __future__ import annotations

import pytest

from amber._model import Redaction
from amber._pseudonym import Pseudonymizer
from amber.sanitize._keys import KeyClassifier
from amber.sanitize._values import ValueScanner

ALNUM = "a1B2c3D4e5F6g7H8i9J0"  # 20 made-up token characters
HEX = "0123456789abcdef"

# made-up values in each vendor's published shape
VENDOR_TOKENS = {
    "openai-key": [
        "sk-proj-" + ALNUM * 3,
        "sk-" + ALNUM + "T3BlbkFJ" + ALNUM,
    ],
    "anthropic-key": ["sk-ant-api03-" + ALNUM * 4 + "-_AA"],
    "npm-token": ["npm_" + ALNUM + ALNUM[:16]],
    "pypi-token": ["pypi-AgEIcHlwaS5vcmc" + ALNUM * 3],
    "gitlab-token": ["glpat-" + ALNUM, "glrt-" + ALNUM, "GR1348941" + ALNUM],
    "huggingface-token": ["hf_" + "aBcDeFgHiJkLmNoPqRsTuVwXyZaBcDeFgH"],
    "digitalocean-token": ["dop_v1_" + HEX * 4],
    "shopify-token": ["shpat_" + HEX * 2, "shpss_" + HEX * 2],
    "mailgun-key": ["key-" + HEX * 2],
    "twilio-key": ["SK" + HEX * 2],
    "square-token": ["EAAA" + ALNUM * 3, "sq0atp-" + ALNUM + "abcd"],
    "heroku-key": ["HRKU-" + ALNUM * 3],
}
CASES = [(rule, token) for rule, tokens in VENDOR_TOKENS.items() for token in tokens]


@pytest.fixture
def scanner(pseudo: Pseudonymizer) -> ValueScanner:
    return ValueScanner(pseudo, KeyClassifier())


def _apply(scanner: ValueScanner, text: str) -> tuple[str, list[str]]:
    out: list[Redaction] = []
    return scanner.apply(text, "t", out), [r.rule for r in out]


@pytest.mark.parametrize(("rule", "token"), CASES)
@pytest.mark.parametrize("before", [" ", "\n", "\t", "KEY_", ",", "%20", "=", "\\n"])
def test_vendor_tokens_found_wherever_they_are_glued(
    scanner: ValueScanner, rule: str, token: str, before: str
) -> None:
    text, rules = _apply(scanner, f"ref{before}{token} end")
    assert token not in text
    assert text == f"ref{before}[REDACTED:{rule}] end"
    assert rules == [rule]


def test_azure_storage_key_masked_not_its_connection_string(scanner: ValueScanner) -> None:
    key = (ALNUM * 5)[:86] + "=="
    conn = f"DefaultEndpointsProtocol=https;AccountName=store1;AccountKey={key};EndpointSuffix=x"
    text, rules = _apply(scanner, conn)
    assert key not in text
    assert "AccountKey=[REDACTED:azure-storage-key];EndpointSuffix=x" in text
    assert "AccountName=store1" in text
    assert rules == ["azure-storage-key"]


def test_telegram_bot_token(scanner: ValueScanner) -> None:
    token = "123456789:AA" + ALNUM + "abcdefghijklm"
    text, rules = _apply(scanner, f"bot%20{token} end")
    assert text == "bot%20[REDACTED:telegram-bot-token] end"
    assert rules == ["telegram-bot-token"]


@pytest.mark.parametrize(
    "text",
    [
        "hf_" + "a" * 34,  # one case only: an identifier, not a Hugging Face token
        "sk-" + "short1",
        "npm_" + ALNUM,  # too short
        "SK" + HEX.upper() * 2,  # Twilio prints its SIDs in lower case
        "ask" + "SK" + HEX * 2,  # inside a longer word
        "d41d8cd98f00b204e9800998ecf8427e",  # an MD5, the shape of a Datadog key
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # a traceparent
        "550e8400-e29b-41d4-a716-446655440000",
    ],
)
def test_look_alikes_kept(scanner: ValueScanner, text: str) -> None:
    assert _apply(scanner, f"value {text} end") == (f"value {text} end", [])


def test_azure_storage_key_percent_encoded(scanner: ValueScanner) -> None:
    key = (ALNUM * 5)[:40] + "+/" + (ALNUM * 5)[:44] + "=="
    quoted = key.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")
    encoded = f"AccountName%3Dstore1%3BAccountKey%3D{quoted}%3BEndpoint"
    text, rules = _apply(scanner, encoded)
    assert text == "AccountName%3Dstore1%3BAccountKey%3D[REDACTED:azure-storage-key]%3BEndpoint"
    assert rules == ["azure-storage-key"]


def test_slack_webhook_percent_encoded(scanner: ValueScanner) -> None:
    url = "https%3A%2F%2Fhooks.slack.com%2Fservices%2FT0000000%2FB0000000%2F" + ALNUM
    text, rules = _apply(scanner, f"hook={url}&x=1")
    assert ALNUM not in text and "B0000000" not in text
    assert text == "hook=https%3A%2F%2Fhooks.slack.com%2Fservices%2F[REDACTED:slack-webhook]&x=1"
    assert rules == ["slack-webhook"]


@pytest.mark.parametrize(
    "template",
    [
        "/bot{t}/sendMessage",  # a Bot API path, as a request line or a log carries it
        "https://api.telegram.org/bot{t}/getUpdates?offset=3",
        '{{"webhook": "https://api.telegram.org/bot{t}/setWebhook"}}',
        "bot{t}",
    ],
)
def test_telegram_bot_token_in_bot_api_urls(scanner: ValueScanner, template: str) -> None:
    token = "1234567890:AA" + ALNUM + "abcdefghijklm"
    text, rules = _apply(scanner, template.format(t=token))
    assert token.split(":")[1] not in text
    assert text == template.format(t="[REDACTED:telegram-bot-token]")
    assert rules == ["telegram-bot-token"]


@pytest.mark.parametrize(
    "text",
    [
        "robot1234567890:AA" + ALNUM + "abcdefghijklm",  # glued inside a longer word
        "bot1234567890:AB" + ALNUM + "abcdefghijklm",  # not the token's `AA`
        "bot12:AA" + ALNUM + "abcdefghijklm",  # too few digits for a bot id
    ],
)
def test_telegram_bot_api_look_alikes_kept(scanner: ValueScanner, text: str) -> None:
    assert _apply(scanner, text) == (text, [])
