"""Planted secrets and personal values, by class: realistic in shape, fake in content.

Every value here was made up for this corpus (shapes follow the public descriptions of each
vendor's token format and of each national scheme; checksums are computed, so a validating
detector sees a valid value). A fixed-seed generator makes the random parts, so the corpus is
the same on every run and the ratchet numbers in `test_corpus.py` are stable.
"""

from __future__ import annotations

import base64
import random
import string
from dataclasses import dataclass

__all__ = ["Planted", "planted"]

_ALNUM = string.ascii_letters + string.digits
_UPPER_DIGITS = string.ascii_uppercase + string.digits
_HEX = "0123456789abcdef"
_B64URL = _ALNUM + "-_"


@dataclass(frozen=True, slots=True)
class Planted:
    """One value that must never reach disk.

    `key` is the field name real traffic carries it under; `shaped` says whether the value
    can be recognized by its shape alone (so it is also planted under neutral keys and in
    free text); `needles` are the parts that count as a leak when found in stored data
    (the value itself unless a part of it is the secret, as for a PEM block).
    """

    cls: str
    value: str
    key: str
    shaped: bool
    needles: tuple[str, ...] = ()

    @property
    def parts(self) -> tuple[str, ...]:
        """What to search for: `needles`, or the whole value."""
        return self.needles or (self.value,)


def _r(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    body = prefix + _r(rng, string.digits, length - len(prefix) - 1)
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return body + str((10 - total % 10) % 10)


def _iban(country: str, bban: str) -> str:
    digits = "".join(str(int(c, 36)) for c in (bban + country + "00").upper())
    check = 98 - int(digits) % 97
    return f"{country}{check:02d}{bban}"


def _steuer_id(rng: random.Random) -> str:
    # 10 digits where one digit appears twice and one is missing, first digit not 0,
    # then the ISO 7064 MOD 11,10 check digit.
    while True:
        digits = rng.sample(string.digits, 9)
        digits.insert(rng.randrange(1, 10), rng.choice(digits))
        if digits[0] != "0":
            break
    product = 10
    for ch in digits:
        s = (int(ch) + product) % 10 or 10
        product = (s * 2) % 11
    check = (11 - product) % 10
    return "".join(digits) + str(check)


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _vendor(rng: random.Random) -> list[Planted]:
    shapes: list[tuple[str, str]] = [
        ("aws_access_key_id", "AKIA" + _r(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)),
        ("aws_access_key_id", "ASIA" + _r(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)),
        ("aws_secret_access_key", _r(rng, _ALNUM + "/+", 40)),
        ("github_token", "ghp_" + _r(rng, _ALNUM, 36)),
        ("github_token", "gho_" + _r(rng, _ALNUM, 36)),
        ("github_token", "ghs_" + _r(rng, _ALNUM, 36)),
        ("github_pat", "github_pat_" + _r(rng, _ALNUM, 22) + "_" + _r(rng, _ALNUM, 59)),
        ("gitlab_token", "glpat-" + _r(rng, _ALNUM + "-_", 20)),
        ("gitlab_runner", "glrt-" + _r(rng, _ALNUM + "-_", 20)),
        ("stripe_key", "sk_live_" + _r(rng, _ALNUM, 24)),
        ("stripe_key", "rk_live_" + _r(rng, _ALNUM, 24)),
        (
            "slack_token",
            f"xoxb-{_r(rng, string.digits, 11)}-{_r(rng, string.digits, 12)}-"
            + _r(rng, _ALNUM, 24),
        ),
        (
            "slack_webhook",
            "https://hooks.slack.com/services/T"
            + _r(rng, _UPPER_DIGITS, 8)
            + "/B"
            + _r(rng, _UPPER_DIGITS, 8)
            + "/"
            + _r(rng, _ALNUM, 24),
        ),
        ("google_api_key", "AIza" + _r(rng, _ALNUM + "-_", 35)),
        ("sendgrid_key", "SG." + _r(rng, _ALNUM + "-_", 22) + "." + _r(rng, _ALNUM + "-_", 43)),
        ("twilio_api_key", "SK" + _r(rng, _HEX, 32)),
        ("openai_key", "sk-proj-" + _r(rng, _ALNUM + "-_", 64) + "T3BlbkFJ" + _r(rng, _ALNUM, 20)),
        ("openai_key", "sk-" + _r(rng, _ALNUM, 20) + "T3BlbkFJ" + _r(rng, _ALNUM, 20)),
        ("anthropic_key", "sk-ant-api03-" + _r(rng, _ALNUM + "-_", 93) + "AA"),
        ("npm_token", "npm_" + _r(rng, _ALNUM, 36)),
        ("pypi_token", "pypi-AgEIcHlwaS5vcmc" + _r(rng, _ALNUM + "-_", 60)),
        ("hf_token", "hf_" + _r(rng, string.ascii_letters, 34)),
        ("digitalocean_token", "dop_v1_" + _r(rng, _HEX, 64)),
        ("shopify_token", "shpat_" + _r(rng, _HEX, 32)),
        ("shopify_token", "shpss_" + _r(rng, _HEX, 32)),
        ("mailgun_key", "key-" + _r(rng, _HEX, 32)),
        (
            "telegram_bot_token",
            f"{rng.randint(100000000, 999999999)}:AA" + _r(rng, _ALNUM + "-_", 33),
        ),
        (
            "azure_connection",
            "DefaultEndpointsProtocol=https;AccountName=stor"
            + _r(rng, string.ascii_lowercase, 6)
            + ";AccountKey="
            + _r(rng, _ALNUM + "+/", 86)
            + "==;EndpointSuffix=core.windows.net",
        ),
        (
            "azure_sas",
            "sv=2022-11-02&ss=b&srt=sco&sp=rl&se=2026-12-31T00:00:00Z&sig="
            + _r(rng, _ALNUM, 43)
            + "%3D",
        ),
        ("square_token", "EAAA" + _r(rng, _ALNUM + "-_", 60)),
        ("datadog_api_key", _r(rng, _HEX, 32)),
        ("heroku_api_key", "HRKU-" + _r(rng, _ALNUM + "-_", 60)),
    ]
    out: list[Planted] = []
    for key, value in shapes:
        needles: tuple[str, ...] = ()
        if key == "azure_connection":
            needles = (value.split("AccountKey=")[1].split("==")[0],)
        elif key == "azure_sas":
            needles = (value.split("sig=")[1].removesuffix("%3D"),)
        elif key == "slack_webhook":
            needles = (value.rsplit("/", 1)[1],)
        out.append(Planted("vendor-token", value, key, True, needles))
    return out


def _private_keys(rng: random.Random) -> list[Planted]:
    out: list[Planted] = []
    for kind in (
        "RSA PRIVATE KEY",
        "PRIVATE KEY",
        "EC PRIVATE KEY",
        "OPENSSH PRIVATE KEY",
        "ENCRYPTED PRIVATE KEY",
        "DSA PRIVATE KEY",
    ):
        lines = [base64.b64encode(rng.randbytes(48)).decode() for _ in range(6)]
        block = f"-----BEGIN {kind}-----\n" + "\n".join(lines) + f"\n-----END {kind}-----\n"
        out.append(Planted("private-key", block, "private_key", True, (lines[1], lines[4])))
    return out


def _jwts(rng: random.Random) -> list[Planted]:
    out: list[Planted] = []
    for i in range(10):
        header = _b64url(
            b'{"alg":"HS256","typ":"JWT"}'
            if i % 2
            else b'{"alg":"RS256","kid":"k' + str(i).encode() + b'"}'
        )
        sub = rng.randint(1000, 99999)
        claims = _b64url(f'{{"sub":"{sub}","iat":17000{i:05d},"scope":"read write"}}'.encode())
        sig = _b64url(rng.randbytes(32 if i % 2 else 64))
        key = ("id_token", "access_token", "jwt", "token", "assertion")[i % 5]
        out.append(Planted("jwt", f"{header}.{claims}.{sig}", key, True, (sig,)))
    return out


_PASSWORD_KEYS = (
    "password",
    "pw",
    "pwd",
    "passwd",
    "pass",
    "pin",
    "pin_code",
    "otp",
    "otp_code",
    "passcode",
    "oldPw",
    "newPw",
    "new password",
    "confirmPassword",
    "db_pass",
    "DB_PASSWORD",
    "recoveryCodes",
    "security_answer",
    "mfa_code",
    "totp",
    "smtp_pass",
    "login_pw",
    "userPass",
    "currentPassword",
    "master_key",
    "encryption_key",
    "signing_secret",
    "client_secret",
    "webhook_secret",
    "private_token",
    "api_key",
    "apiKey",
    "X-Api-Key2",
    "auth_key",
    "session_key",
    "access_key",
)


def _passwords(rng: random.Random) -> list[Planted]:
    out: list[Planted] = []
    words = ("Tulip", "Harbor", "Quartz", "Maple", "Falcon", "Cobalt", "Juniper", "Orbit")
    for i, key in enumerate(_PASSWORD_KEYS):
        low = key.lower()
        if "pin" in low or "otp" in low or "code" in low or "mfa" in low or "totp" in low:
            value = _r(rng, string.digits, 6 + i % 3)
            if "recovery" in low:
                value = f"{_r(rng, _HEX, 5)}-{_r(rng, _HEX, 5)}"
        elif i % 3 == 0:
            value = f"{rng.choice(words)}{rng.randint(10, 99)}!{rng.choice(words).lower()}"
        elif i % 3 == 1:
            value = _r(rng, _ALNUM + "!#%*", 14)
        else:
            value = rng.choice(words).lower() + rng.choice(words).lower() + "zq"
        out.append(Planted("password", value, key, False))
    return out


def _cookies(rng: random.Random) -> list[Planted]:
    shapes = [
        ("sessionid", _r(rng, string.ascii_lowercase, 32)),
        ("sid", _r(rng, string.ascii_letters, 10)),
        ("session", _r(rng, string.ascii_letters, 6)),
        ("JSESSIONID", _r(rng, "0123456789ABCDEF", 32)),
        ("PHPSESSID", _r(rng, string.ascii_lowercase + string.digits, 26)),
        ("connect.sid", "s%3A" + _r(rng, _ALNUM, 32) + "." + _r(rng, _ALNUM, 43)),
        (
            "remember_token",
            f"1042|{rng.randint(1700000000, 1800000000)}|{_r(rng, _ALNUM, 24)}|{_r(rng, _HEX, 40)}",
        ),
        ("auth", _r(rng, string.ascii_letters, 8)),
        ("_shop_session", _r(rng, _ALNUM + "%", 80)),
        ("laravel_session", "eyJpdiI6" + _r(rng, _ALNUM, 60)),
        ("csrftoken", _r(rng, _ALNUM, 32)),
        ("XSRF-TOKEN", _r(rng, _ALNUM, 40)),
        ("__Host-sess", _r(rng, _B64URL, 43)),
        ("__Secure-next-auth.session-token", _r(rng, _B64URL, 64)),
        ("rack.session", "BAh7" + _r(rng, _ALNUM, 50) + "--" + _r(rng, _HEX, 40)),
        ("user_token", _r(rng, string.ascii_lowercase, 12)),
        ("ak_bmsc", _r(rng, _ALNUM, 40)),
        ("TS01a2b3c4", "01" + _r(rng, _HEX, 60)),
        ("gw", _r(rng, string.ascii_letters, 5)),
        ("login", "u=alice&t=" + _r(rng, _ALNUM, 20)),
    ]
    out: list[Planted] = []
    for name, value in shapes:
        needles: tuple[str, ...] = ()
        if "|" in value:
            needles = tuple(value.split("|")[2:])
        elif name == "login":
            needles = (value.split("t=")[1],)
        out.append(Planted("cookie", value, name, False, needles))
    return out


def _signed_params(rng: random.Random) -> list[Planted]:
    shapes = [
        ("X-Amz-Signature", _r(rng, _HEX, 64)),
        ("X-Amz-Credential", "AKIA" + _r(rng, _UPPER_DIGITS, 16) + "/20261202/eu-west-1/s3"),
        ("X-Amz-Security-Token", "IQoJb3JpZ2luX2Vj" + _r(rng, _ALNUM, 80)),
        ("X-Goog-Signature", _r(rng, _HEX, 128)),
        ("X-Goog-Credential", "svc-uploader%40proj-2719.iam.gserviceaccount.com"),
        ("oauth_signature", _r(rng, _ALNUM, 27) + "%3D"),
        ("sig", _r(rng, _ALNUM, 43)),
        ("signature", _r(rng, _HEX, 40)),
        ("hash", _r(rng, _HEX, 32)),
        ("ticket", "ST-" + str(rng.randint(10000, 99999)) + "-" + _r(rng, _ALNUM, 20)),
        ("k", _r(rng, _ALNUM, 24)),
        ("code", _r(rng, _ALNUM, 30)),
        ("code", _r(rng, string.ascii_letters, 12)),
        ("token", _r(rng, string.ascii_letters, 10)),
        ("Signature", _r(rng, _ALNUM + "~", 120)),
        ("Key-Pair-Id", "APKA" + _r(rng, _UPPER_DIGITS, 16)),
        ("se_token", _r(rng, _ALNUM, 16)),
        ("auth", _r(rng, _HEX, 24)),
        ("access_token", _r(rng, _ALNUM, 36)),
        ("st", _r(rng, _HEX, 16)),
    ]
    out: list[Planted] = []
    for name, value in shapes:
        needles: tuple[str, ...] = ()
        if value.endswith("%3D"):
            needles = (value.removesuffix("%3D"),)
        elif "%40" in value:
            needles = ("svc-uploader",)
        out.append(Planted("signed-url", value, name, False, needles))
    return out


def _path_tokens(rng: random.Random) -> list[Planted]:
    shapes = [
        ("password-reset", _r(rng, _HEX, 40)),
        ("reset", _r(rng, _ALNUM, 32)),
        ("reset", _r(rng, string.ascii_letters, 12)),
        ("verify", _r(rng, _B64URL, 43)),
        ("verify-email", _r(rng, string.ascii_lowercase, 8)),
        ("invite", _r(rng, _ALNUM, 20)),
        ("invitations", _r(rng, string.ascii_letters, 9)),
        ("confirm", _r(rng, _HEX, 16)),
        ("magic-link", _r(rng, _ALNUM, 48)),
        ("unsubscribe", _r(rng, _B64URL, 22)),
        ("activate", _r(rng, string.ascii_uppercase, 10)),
        ("share", _r(rng, _ALNUM, 11)),
        ("download", _r(rng, _ALNUM, 26)),
        ("tokens", _r(rng, _ALNUM, 30)),
        ("login", _r(rng, _ALNUM, 40)),
    ]
    return [Planted("path-token", v, k, False) for k, v in shapes]


def _emails(rng: random.Random) -> list[Planted]:
    values = [
        "maria.kowalska@gmail.com",
        "j.okafor+billing@outlook.com",
        "tanaka.hiro@yahoo.co.jp",
        "lea.dubois@orange.fr",
        "sven_lindqvist@telia.se",
        "amir.haddad@protonmail.com",
        "priya.raman@infosys-mail.in",
        "o.brien@eircom.net",
        "c.rossi@libero.it",
        "zhang.wei@163.com",
        "nkosi.dlamini@webmail.co.za",
        "ana.souza@uol.com.br",
        "josé.garcía@correo.es",
        "jürgen.weiß@müller-gmbh.de",
        "用户@例子.中国",
        "ivan.petrov@почта.рф",
        "s.yilmaz@şirket.com.tr",
        "hans.meier@xn--mller-kva.de",
        "dev.ops@corp-internal.io",
        "billing@acme-widgets.co.uk",
        "f.nguyen@fpt.vn",
        "l.andersen@mail.dk",
        "k.nowak@wp.pl",
        "m.haddad@gmx.at",
        "ROBERT.SMITH@AOL.COM",
    ]
    return [Planted("email", v, "email", True) for v in values]


_IIN = [
    ("visa", "4", 16),
    ("visa", "4", 13),
    ("mastercard", "51", 16),
    ("mastercard", "55", 16),
    ("mastercard", "2221", 16),
    ("mastercard", "2720", 16),
    ("amex", "34", 15),
    ("amex", "37", 15),
    ("discover", "6011", 16),
    ("discover", "65", 16),
    ("jcb", "3528", 16),
    ("jcb", "3589", 16),
    ("diners", "36", 14),
    ("diners", "38", 14),
    ("maestro", "5018", 12),
    ("maestro", "6759", 19),
    ("mir", "2200", 16),
    ("mir", "2204", 16),
    ("rupay", "6080", 16),
    ("rupay", "6521", 16),
    ("rupay", "8172", 16),
    ("unionpay", "62", 16),
    ("unionpay", "62", 19),
    ("elo", "5067", 16),
    ("troy", "9792", 16),
    ("verve", "5061", 19),
    ("visa-electron", "4026", 16),
    ("uatp", "1", 15),
]


def _cards(rng: random.Random) -> list[Planted]:
    out: list[Planted] = []
    seps = ("", " ", "-", ".", " ", "-", "")
    for i, (_family, prefix, length) in enumerate(_IIN):
        digits = _luhn_complete(prefix, length, rng)
        sep = seps[i % len(seps)]
        groups = [digits[j : j + 4] for j in range(0, len(digits), 4)]
        if length == 15:
            groups = [digits[:4], digits[4:10], digits[10:]]
        value = sep.join(groups)
        key = ("card_number", "pan", "cc", "number", "cardNumber")[i % 5]
        out.append(Planted("card", value, key, True))
    return out


def _ibans(rng: random.Random) -> list[Planted]:
    d = string.digits
    a = string.ascii_uppercase
    shapes = [
        ("DE", _r(rng, d, 18)),
        ("GB", _r(rng, a, 4) + _r(rng, d, 14)),
        ("FR", _r(rng, d, 10) + _r(rng, _UPPER_DIGITS, 11) + _r(rng, d, 2)),
        ("ES", _r(rng, d, 20)),
        ("IT", _r(rng, a, 1) + _r(rng, d, 10) + _r(rng, d, 12)),
        ("NL", _r(rng, a, 4) + _r(rng, d, 10)),
        ("BE", _r(rng, d, 12)),
        ("CH", _r(rng, d, 5) + _r(rng, d, 12)),
        ("AT", _r(rng, d, 16)),
        ("PL", _r(rng, d, 24)),
        ("SE", _r(rng, d, 20)),
        ("NO", _r(rng, d, 11)),
        ("DK", _r(rng, d, 14)),
        ("FI", _r(rng, d, 14)),
        ("IE", _r(rng, a, 4) + _r(rng, d, 14)),
        ("PT", _r(rng, d, 21)),
        ("LU", _r(rng, d, 3) + _r(rng, d, 13)),
        ("SA", _r(rng, d, 2) + _r(rng, d, 18)),
        ("AE", _r(rng, d, 19)),
        ("BR", _r(rng, d, 23) + "C1"),
        ("TR", _r(rng, d, 22)),
        ("MT", _r(rng, a, 4) + _r(rng, d, 23)),
        ("UA", _r(rng, d, 25)),
        ("IL", _r(rng, d, 19)),
        ("GR", _r(rng, d, 23)),
    ]
    out: list[Planted] = []
    for i, (country, bban) in enumerate(shapes):
        iban = _iban(country, bban)
        if i % 4 == 1:
            iban = " ".join(iban[j : j + 4] for j in range(0, len(iban), 4))
        elif i % 4 == 3:
            iban = iban.lower()
        out.append(Planted("iban", iban, ("iban", "account", "bank_account", "IBAN")[i % 4], True))
    return out


def _national_ids(rng: random.Random) -> list[Planted]:
    out: list[Planted] = []
    for _ in range(5):
        ssn = f"{rng.randint(101, 665)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}"
        out.append(Planted("national-id", ssn, "ssn", True))
    prefixes = ("AB", "CE", "JG", "KM", "PR", "TW")
    for i in range(5):
        nino = f"{prefixes[i]}{rng.randint(100000, 999999)}{'ABCD'[i % 4]}"
        if i % 2:
            nino = f"{nino[:2]} {nino[2:4]} {nino[4:6]} {nino[6:8]} {nino[8]}"
        out.append(Planted("national-id", nino, "nino" if i % 2 else "ni_number", True))
    for i in range(5):
        out.append(
            Planted(
                "national-id",
                _steuer_id(rng),
                ("steuer_id", "tax_id", "steuerid", "tin", "taxId")[i],
                True,
            )
        )
    return out


def _phones(rng: random.Random) -> list[Planted]:
    values = [
        "+44 20 7946 0958",
        "+0044 20 7946 0321",
        "00 44 161 496 0742",
        "+44 7700 900461",
        "+49 30 90182734",
        "+49 (0)151 2345 6789",
        "+33 1 42 68 53 07",
        "+33 6 12 34 56 78",
        "+81 3-1234-5678",
        "+91 98765 43210",
        "+55 11 91234-5678",
        "+61 2 9374 4012",
        "+7 495 123-45-67",
        "+86 138 0013 8000",
        "+1 (415) 867-5309",
        "+1-646-382-9143",
        "+34 612 34 56 78",
        "+39 06 6982 4417",
        "+31 20 794 2263",
        "+27 21 480 7711",
        "0049 89 2180 4431",
        "+353 1 896 4127",
    ]
    return [
        Planted("phone", v, ("phone", "mobile", "tel", "phoneNumber")[i % 4], True)
        for i, v in enumerate(values)
    ]


def _dobs(rng: random.Random) -> list[Planted]:
    keys = (
        "dob",
        "date_of_birth",
        "birthDate",
        "birthdate",
        "DOB",
        "birth_date",
        "bday",
        "dateOfBirth",
        "geburtsdatum",
        "born_on",
    )
    out: list[Planted] = []
    for i, key in enumerate(keys):
        y, m, d = rng.randint(1940, 2005), rng.randint(1, 12), rng.randint(1, 28)
        value = (f"{y}-{m:02d}-{d:02d}", f"{d:02d}/{m:02d}/{y}", f"{d:02d}.{m:02d}.{y}")[i % 3]
        out.append(Planted("date-of-birth", value, key, False))
    return out


def _passports(rng: random.Random) -> list[Planted]:
    values = [
        "C01X00T47",
        "K" + _r(rng, string.digits, 8),
        _r(rng, string.digits, 9),
        "P" + _r(rng, _UPPER_DIGITS, 8),
        "XN" + _r(rng, string.digits, 7),
        "L" + _r(rng, _UPPER_DIGITS, 8),
        "AA" + _r(rng, string.digits, 7),
        "E" + _r(rng, string.digits, 8),
    ]
    keys = ("passport_number", "passportNo", "passport", "document_number")
    out = [Planted("passport", v, keys[i % 4], False) for i, v in enumerate(values)]
    # more spellings of the key (fixed values: the generator's sequence for the classes
    # after this one stays as it was)
    out += [
        Planted("passport", "N07291846", "passport_no", False),
        Planted("passport", "YB4417302", "passportNumber", False),
        Planted("passport", "ZR8810457", "documentNumber", False),
        Planted("passport", "530918274", "PASSPORT_ID", False),
    ]
    return out


def _auth_headers(rng: random.Random) -> list[Planted]:
    out: list[Planted] = []
    for i in range(6):
        token = _r(rng, _ALNUM + "-._~", 24 + 4 * i)
        out.append(Planted("auth-header", f"Bearer {token}", "Authorization", True, (token,)))
    for user in ("deploy", "svc-backup", "admin", "ci"):
        secret = base64.b64encode(f"{user}:{_r(rng, _ALNUM, 14)}".encode()).decode()
        out.append(Planted("auth-header", f"Basic {secret}", "Authorization", True, (secret,)))
    return out


def _connection_strings(rng: random.Random) -> list[Planted]:
    out: list[Planted] = []
    for scheme, host in (
        ("postgres", "db.internal:5432/app"),
        ("mysql", "10.0.3.7/shop"),
        ("mongodb+srv", "cluster0.mongo.net/prod"),
        ("redis", "cache:6379/0"),
        ("amqp", "mq.internal/vhost"),
        ("https", "git.internal/repo.git"),
    ):
        pw = _r(rng, _ALNUM, 16)
        out.append(
            Planted("url-userinfo", f"{scheme}://svc_user:{pw}@{host}", "database_url", True, (pw,))
        )
    return out


def _stop25(rng: random.Random) -> list[Planted]:
    """Classes a spot check found leaking (2026-12-03), after every earlier builder so
    that their random parts stay as they were: Canada's SIN under its names (a bare `sin`
    too), second-factor codes under the names headers give them, IBANs in lower case
    grouped by fours."""
    out: list[Planted] = []
    for i, key in enumerate(("sin", "social_insurance_number", "SIN", "sinNumber")):
        sin = _luhn_complete(str(rng.randint(1, 7)), 9, rng)
        if i % 2:
            sin = f"{sin[:3]} {sin[3:6]} {sin[6:]}"
        out.append(Planted("national-id", sin, key, False))
    for key in ("X-2FA-Code", "tfa_code", "totpCode", "mfa_token"):
        out.append(Planted("password", _r(rng, string.digits, 6), key, False))
    d = string.digits
    for i, (country, bban) in enumerate(
        (
            ("GB", _r(rng, string.ascii_uppercase, 4) + _r(rng, d, 14)),
            ("NL", _r(rng, string.ascii_uppercase, 4) + _r(rng, d, 10)),
            ("ES", _r(rng, d, 20)),
            ("PL", _r(rng, d, 24)),
        )
    ):
        iban = _iban(country, bban).lower()
        iban = " ".join(iban[j : j + 4] for j in range(0, len(iban), 4))
        out.append(Planted("iban", iban, ("iban", "account")[i % 2], True))
    # passwords under other languages' words and under a service's glued variable name
    for key in ("passwort", "senha", "wachtwoord", "mot_de_passe", "PGPASSWORD", "SAPASSWORD"):
        out.append(Planted("password", _r(rng, _ALNUM + "!#%*", 14), key, False))
    return out


def planted() -> list[Planted]:
    """Every planted value, in a fixed order (the same on every run)."""
    rng = random.Random(160016)
    out: list[Planted] = []
    # `_vendor` twice: every vendor shape with two sets of random parts
    for build in (
        _vendor,
        _vendor,
        _private_keys,
        _jwts,
        _passwords,
        _cookies,
        _signed_params,
        _path_tokens,
        _emails,
        _cards,
        _ibans,
        _national_ids,
        _phones,
        _dobs,
        _passports,
        _auth_headers,
        _connection_strings,
        _stop25,
    ):
        out.extend(build(rng))
    return out
