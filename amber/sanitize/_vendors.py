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

__all__ = [
    "LEFT",
    "MIDDLE_HINTS",
    "MIDDLE_SHAPES",
    "MORE_HINTS",
    "MORE_SHAPES",
    "RIGHT",
    "VENDOR_HINTS",
    "VENDOR_SHAPES",
    "VendorShape",
]

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

MORE_SHAPES: tuple[VendorShape, ...] = (
    # from gitleaks' current rules (cmd/generate/config/rules), a prefix each, all at a
    # token boundary (`LEFT`): a group of their own in `_values.py`, gated on `MORE_HINTS`,
    # so that the older group's regex, run more often, does not try them
    VendorShape("slack-token", "slackapp", LEFT + r"xapp-[0-9]-[A-Z0-9]+-[0-9]+-[a-z0-9]+" + RIGHT),
    VendorShape("google-oauth", "gocspx",
                LEFT + r"(?:GOCSPX-[A-Za-z0-9_-]{28}|ya29\.[A-Za-z0-9_-]{30,})" + RIGHT),
    VendorShape("braintree-token", "braintree",
                LEFT + r"access_token\$(?:production|sandbox)\$[0-9a-z]{16}\$[0-9a-f]{32}" + RIGHT),
    VendorShape("linear-key", "linear", LEFT + r"lin_(?:api|oauth)_[A-Za-z0-9]{40}" + RIGHT),
    VendorShape("doppler-token", "doppler",
                LEFT + r"dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,44}" + RIGHT),
    VendorShape("postman-key", "postman", LEFT + r"PMAK-[a-fA-F0-9]{24}-[a-fA-F0-9]{34}" + RIGHT),
    VendorShape(
        "grafana-token", "grafana",
        LEFT + r"(?:glc_[A-Za-z0-9+/]{32,400}={0,3}|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}"
        r"|eyJrIjoi[A-Za-z0-9]{70,400}={0,3})(?![A-Za-z0-9+/=])",
    ),
    VendorShape("vault-token", "vault",
                LEFT + r"(?:hvs\.[A-Za-z0-9_-]{90,120}|hvb\.[A-Za-z0-9_-]{138,300})" + RIGHT),
    VendorShape("atlassian-token", "atlassian",
                LEFT + r"AT(?:ATT|CTT)3[A-Za-z0-9_=-]{186}(?![A-Za-z0-9_=-])"),
    VendorShape(
        "discord-webhook", "discord",
        LEFT + r"discord(?:app)?\.com(?:/|%2[Ff])api(?:/|%2[Ff])webhooks(?:/|%2[Ff])[0-9]{17,20}"
        r"(?:/|%2[Ff])(?P<discord_v>[A-Za-z0-9_-]{60,})",
        group="discord_v",
    ),
    VendorShape("databricks-token", "databricks", LEFT + r"dapi[a-f0-9]{32}(?:-[0-9])?" + RIGHT),
    VendorShape("newrelic-key", "newrelic",
                LEFT + r"NR(?:AK|II|JS)-[A-Za-z0-9]{19,27}" + RIGHT),
    VendorShape("sentry-token", "sentry",
                LEFT + r"(?:sntryu_[a-f0-9]{64}|sntrys_eyJ[A-Za-z0-9=_+/]{100,})" + RIGHT),
    VendorShape("sendinblue-key", "brevo",
                LEFT + r"xkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16}" + RIGHT),
    VendorShape("dynatrace-token", "dynatrace",
                LEFT + r"dt0c01\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{64}" + RIGHT),
    VendorShape("pulumi-token", "pulumi", LEFT + r"pul-[a-f0-9]{40}" + RIGHT),
    VendorShape("rubygems-key", "rubygems", LEFT + r"rubygems_[a-f0-9]{48}" + RIGHT),
    VendorShape("age-secret-key", "age",
                LEFT + r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}" + RIGHT),
    VendorShape("planetscale-token", "pscale",
                LEFT + r"pscale_(?:tkn|pw|oauth)_[A-Za-z0-9_=.-]{32,64}" + RIGHT),
    VendorShape("typeform-token", "typeform", LEFT + r"tfp_[A-Za-z0-9_.=-]{59}" + RIGHT),
    VendorShape("flutterwave-key", "flutterwave",
                LEFT + r"FLW(?:SECK|PUBK)(?:_TEST)?-[a-h0-9]{32}-X" + RIGHT),
    VendorShape("artifactory-key", "artifactory", LEFT + r"AKCp[A-Za-z0-9]{69}" + RIGHT),
    VendorShape("alibaba-key", "alibaba", LEFT + r"LTAI[A-Za-z0-9]{20}" + RIGHT),
    VendorShape("contentful-token", "contentful", LEFT + r"CFPAT-[A-Za-z0-9_=-]{43}" + RIGHT),
    VendorShape("easypost-key", "easypost", LEFT + r"EZ[AT]K[A-Za-z0-9]{54}" + RIGHT),
    VendorShape("groq-key", "groq", LEFT + r"gsk_[A-Za-z0-9]{52}" + RIGHT),
    VendorShape("perplexity-key", "pplx", LEFT + r"pplx-[A-Za-z0-9]{48}" + RIGHT),
    VendorShape("langsmith-key", "langsmith",
                LEFT + r"lsv2_(?:pt|sk)_[a-f0-9]{32}_[a-f0-9]{10}" + RIGHT),
    VendorShape("supabase-token", "supabase", LEFT + r"sbp_[a-f0-9]{40}" + RIGHT),
    VendorShape("sourcegraph-token", "sourcegraph",
                LEFT + r"sgp_(?:[a-fA-F0-9]{16}_|local_)?[a-fA-F0-9]{40}" + RIGHT),
    VendorShape("notion-token", "notion", LEFT + r"ntn_[0-9]{11}[A-Za-z0-9]{35}" + RIGHT),
    VendorShape("prefect-key", "prefect", LEFT + r"pnu_[A-Za-z0-9]{36}" + RIGHT),
    VendorShape("readme-key", "readme", LEFT + r"rdme_[a-z0-9]{70}" + RIGHT),
    VendorShape("nuget-key", "nuget", LEFT + r"oy2[a-z0-9]{43}" + RIGHT),
    VendorShape("adobe-key", "adobe", LEFT + r"p8e-[A-Za-z0-9]{32}" + RIGHT),
    VendorShape("openshift-token", "openshift", LEFT + r"sha256~[A-Za-z0-9_-]{43}" + RIGHT),
    VendorShape("scalingo-token", "scalingo", LEFT + r"tk-us-[A-Za-z0-9_-]{48}" + RIGHT),
    VendorShape("defined-networking-key", "dnkey",
                LEFT + r"dnkey-[a-z0-9=_-]{26}-[a-z0-9=_-]{52}" + RIGHT),
    VendorShape("frameio-token", "frameio", LEFT + r"fio-u-[A-Za-z0-9_=-]{64}" + RIGHT),
    VendorShape("duffel-token", "duffel",
                LEFT + r"duffel_(?:test|live)_[A-Za-z0-9_=-]{43}" + RIGHT),
    VendorShape("clojars-token", "clojars", LEFT + r"CLOJARS_[a-z0-9]{60}" + RIGHT),
    VendorShape("infracost-key", "infracost", LEFT + r"ico-[A-Za-z0-9]{32}" + RIGHT),
    VendorShape("onepassword-token", "onepassword",
                LEFT + r"ops_eyJ[A-Za-z0-9+/]{250,}={0,3}(?![A-Za-z0-9+/=])"),
    VendorShape("facebook-token", "facebook", LEFT + r"EAA[MC][A-Za-z0-9]{100,}" + RIGHT),
    VendorShape("fly-token", "fly",
                LEFT + r"(?:fo1_[A-Za-z0-9_-]{43}|fm[12][ar]?_[A-Za-z0-9+/]{100,}={0,3})"
                r"(?![A-Za-z0-9+/=_-])"),
    VendorShape("harness-token", "harness",
                LEFT + r"pat\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{20}" + RIGHT),
    VendorShape("mapbox-token", "mapbox",
                LEFT + r"sk\.eyJ[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}" + RIGHT),
)  # fmt: skip
"""More vendor credentials, each told by its prefix."""

MIDDLE_SHAPES: tuple[VendorShape, ...] = (
    # shapes told by their middle, not a prefix: any token character may start them
    VendorShape("azure-ad-secret", "azuread",
                LEFT + r"[A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}(?![A-Za-z0-9_~.-])"),
    VendorShape("terraform-token", "atlasv1",
                LEFT + r"[a-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,70}" + RIGHT),
    VendorShape("mailchimp-key", "mailchimp", LEFT + r"[0-9a-f]{32}-us[0-9]{1,2}" + RIGHT),
    VendorShape("airtable-token", "airtable", LEFT + r"pat[A-Za-z0-9]{14}\.[a-f0-9]{64}" + RIGHT),
    # the Bot API's own URLs put the token right after `bot` (`/bot123456789:AA.../getMe`),
    # where the shape alone (`_values.py`'s `telegram`) finds no boundary: `bot` is matched
    # and kept, the token after it replaced
    VendorShape("telegram-bot-token", "tgbot",
                LEFT + r"bot(?P<tgbot_t>[0-9]{8,10}:AA[A-Za-z0-9_-]{33})(?![A-Za-z0-9_-])",
                group="tgbot_t"),
)  # fmt: skip
"""Vendor credentials whose telling part is inside: their own detector group, gated on
`Q~`, `.atlasv1.`, `-us`, `pat` or `:AA` (`MIDDLE_HINTS`, `_values.py`)."""

MIDDLE_HINTS: tuple[str, ...] = ("Q~", ".atlasv1.", "-us", "pat", ":AA")
"""Substrings one of which every shape of `MIDDLE_SHAPES` contains."""

VENDOR_HINTS: tuple[str, ...] = (
    "sk-", "npm_", "pypi-", "glpat-", "glrt-", "gldt-", "glft-", "glptt-", "glsoat-",
    "glcbt-", "glimt-", "gloas-", "glffct-", "glagent-", "GR1348941", "hf_", "api_org_",
    "_v1_", "shp", "key-", "ccountKey", "ccessKey", "SK", "EAAA", "sq0", "HRKU-",
)  # fmt: skip
"""Substrings one of which every vendor shape contains: the cheap gate before the regex."""

MORE_HINTS: tuple[str, ...] = (
    "xapp-", "GOCSPX-", "ya29.", "$production$", "$sandbox$", "lin_", "dp.", "PMAK-",
    "glc_", "glsa_", "eyJrIjoi", "hvs.", "hvb.", "ATATT3", "ATCTT3", "discord", "dapi",
    "NRAK-", "NRII-", "NRJS-", "sntry", "xkeysib-", "dt0c01.", "pul-", "rubygems_",
    "AGE-SECRET-KEY-", "pscale_", "tfp_", "FLW", "AKCp", "LTAI", "CFPAT-", "EZAK", "EZTK",
    "gsk_", "pplx-", "lsv2_", "sbp_", "sgp_", "ntn_", "pnu_", "rdme_", "oy2", "p8e-",
    "sha256~", "tk-us-", "dnkey-", "fio-u-", "duffel_", "pat.", "CLOJARS_", "ico-", "ops_eyJ",
    "EAAC", "EAAM", "fo1_", "fm1", "fm2", "sk.eyJ",
)  # fmt: skip
"""Substrings one of which every shape of `MORE_SHAPES` contains."""
