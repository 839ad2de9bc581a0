"""Vendor credentials recognized by their published shape, and the boundaries of a token.

Each shape is a distinctive prefix (`glpat-`, `npm_`, `sk-ant-api03-`...) or marker
(OpenAI's `T3BlbkFJ`) followed by the vendor's alphabet and length, written from the
vendors' documentation with gitleaks' and detect-secrets' public rule sets as references.
Shapes without a telling prefix (a Datadog key is 32 hex digits, like an MD5) are left to
the key rules: found by shape alone they would take every hash with them.

`LEFT` and `RIGHT` are the token boundaries every detector of `_values.py` uses. A regex
word boundary treats `_` as a word character and misses `KEY_ghp_...`; these also accept a
token right after a percent-escape (`%20ghp_...`) or an escaped control character
(`\\nghp_...` in raw JSON text), as logs and encoded query strings carry them.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["LEFT", "RIGHT", "VENDOR_HINTS", "VENDOR_SHAPES", "VendorShape"]

LEFT = r"(?:(?<![A-Za-z0-9%])|(?<=%[0-9A-Fa-f]{2})|(?<=\\[nrt]))"
RIGHT = r"(?![A-Za-z0-9])"


class VendorShape(NamedTuple):
    """One vendor credential: rule name, regex group name, pattern, and the group of the
    pattern to replace (None: the whole match)."""

    name: str
    ident: str
    pattern: str
    group: str | None = None


VENDOR_SHAPES: tuple[VendorShape, ...] = (
    VendorShape(
        "openai-key", "openai",
        LEFT + r"sk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,}"
        r"|[A-Za-z0-9_-]{16,}T3BlbkFJ[A-Za-z0-9_-]{16,})" + RIGHT,
    ),
    VendorShape("anthropic-key", "anthropic",
                LEFT + r"sk-ant-(?:api|admin|sid)[0-9]{2}-[A-Za-z0-9_-]{80,}" + RIGHT),
    VendorShape("npm-token", "npm", LEFT + r"npm_[A-Za-z0-9]{36}" + RIGHT),
    VendorShape("pypi-token", "pypi", LEFT + r"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}"),
    VendorShape(
        "gitlab-token", "gitlab",
        LEFT + r"gl(?:pat|rt|dt|ft|ptt|soat|cbt|imt|oas|ffct|agent)-[A-Za-z0-9_-]{20,}"
        r"|" + LEFT + r"GR1348941[A-Za-z0-9_-]{20,}",
    ),
    # 34 letters of both cases: an identifier such as `hf_` + a lowercase word is not one
    VendorShape("huggingface-token", "hf",
                LEFT + r"(?:hf|api_org)_(?=[a-z]{0,33}[A-Z])(?=[A-Z]{0,33}[a-z])[A-Za-z]{34}"
                + RIGHT),
    VendorShape("digitalocean-token", "dotoken", LEFT + r"do[opr]_v1_[a-f0-9]{64}" + RIGHT),
    VendorShape("shopify-token", "shopify",
                LEFT + r"shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}" + RIGHT),
    VendorShape("mailgun-key", "mailgun", LEFT + r"key-[0-9a-f]{32}" + RIGHT),
    VendorShape(
        "azure-storage-key", "azure",
        # also percent-encoded: `AccountKey%3D...%2B...%3D%3D`
        r"(?i:AccountKey|SharedAccessKey)(?:=|%3[Dd])"
        r"(?P<azure_v>(?:[A-Za-z0-9+/]|%2[BbFf]){20,}(?:%3[Dd]|=){0,2})",
        group="azure_v",
    ),
    # a Twilio API key's SID, found without the word "twilio" nearby (lowercase hex only:
    # Twilio never prints it in upper case)
    VendorShape("twilio-key", "twiliosk", LEFT + r"SK[0-9a-f]{32}" + RIGHT),
    VendorShape("square-token", "square",
                LEFT + r"(?:EAAA[A-Za-z0-9_-]{56,}|sq0(?:atp|csp)-[A-Za-z0-9_-]{22,})"
                + RIGHT),
    VendorShape("heroku-key", "heroku", LEFT + r"HRKU-[A-Za-z0-9_-]{60}" + RIGHT),
)  # fmt: skip
"""Vendor credentials by shape; `_values.py` compiles them with its other token rules."""

VENDOR_HINTS: tuple[str, ...] = (
    "sk-", "npm_", "pypi-", "glpat-", "glrt-", "gldt-", "glft-", "glptt-", "glsoat-",
    "glcbt-", "glimt-", "gloas-", "glffct-", "glagent-", "GR1348941", "hf_", "api_org_",
    "_v1_", "shp", "key-", "ccountKey", "ccessKey", "SK", "EAAA", "sq0", "HRKU-",
)  # fmt: skip
"""Substrings one of which every vendor shape contains: the cheap gate before the regex."""
