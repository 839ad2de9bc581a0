"""A red-team corpus: secrets and personal data in places the main corpus does not put them,
and ordinary values that must survive byte for byte.

Every case is a whole HTTP exchange (request and response), so the same data runs in-process
(`test_redteam.py`) and end to end through `amber capture` (`tests/capture/redteam_e2e.py`).
Values are made up: token shapes follow gitleaks' public rules and the vendors' documentation,
checksums are computed, and a fixed-seed generator makes the random parts.
"""

# ruff: noqa: E501  (data: tokens and bodies are kept on one line each)
from __future__ import annotations

import base64
import json
import random
import string
import zlib
from dataclasses import dataclass
from dataclasses import field
from urllib.parse import quote

__all__ = ["RTCase", "lookalike_cases", "secret_cases"]

_ALNUM = string.ascii_letters + string.digits
_LOWER_ALNUM = string.ascii_lowercase + string.digits
_HEX = "0123456789abcdef"
_B64URL = _ALNUM + "-_"
_JSON = "application/json"

Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class RTCase:
    """One exchange. `kind` "secret": none of `values` may be stored in any form;
    "lookalike": each of `values` must be stored unchanged and the exchange byte for byte."""

    kind: str
    cls: str
    name: str
    values: tuple[str, ...]
    method: str = "GET"
    path: str = "/api/v1/items"
    query: str = ""
    req_headers: Headers = ()
    req_body: bytes = b""
    status: int = 200
    resp_headers: Headers = (("Content-Type", _JSON),)
    resp_body: bytes = b'{"ok": true}'
    tags: tuple[str, ...] = field(default=())


def _r(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _luhn(prefix: str, length: int, rng: random.Random) -> str:
    body = prefix + _r(rng, string.digits, length - len(prefix) - 1)
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return body + str((10 - total % 10) % 10)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _iban(country: str, bban: str) -> str:
    digits = "".join(str(int(c, 36)) for c in (bban + country + "00").upper())
    return f"{country}{98 - int(digits) % 97:02d}{bban}"


def _b64(s: str | bytes) -> str:
    raw = s.encode() if isinstance(s, str) else s
    return base64.b64encode(raw).decode()


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _jwt(rng: random.Random, claims: str) -> str:
    head = _b64url(b'{"alg":"RS256","typ":"JWT","kid":"' + _r(rng, _ALNUM, 8).encode() + b'"}')
    return f"{head}.{_b64url(claims.encode())}.{_b64url(rng.randbytes(64))}"


# -- vendor tokens from gitleaks' current rules ---------------------------------------------


def _vendor_tokens(rng: random.Random) -> list[tuple[str, str]]:
    """(vendor, token): shapes with a telling prefix, none in the team's corpus."""
    return [
        ("slack-app", f"xapp-1-A{_r(rng, string.digits + 'ABCDEFGHJKLMNPQRSTUVWXYZ', 10)}-"
         f"{_r(rng, string.digits, 13)}-{_r(rng, _HEX, 64)}"),
        ("slack-user", f"xoxp-{_r(rng, string.digits, 12)}-{_r(rng, string.digits, 12)}-"
         f"{_r(rng, string.digits, 12)}-{_r(rng, _HEX, 32)}"),
        ("slack-config", f"xoxe.xoxp-1-{_r(rng, _ALNUM, 163)}"),
        ("slack-refresh", f"xoxe-1-{_r(rng, _ALNUM, 146)}"),
        ("stripe-restricted", "rk_live_" + _r(rng, _ALNUM, 99)),
        ("stripe-test", "sk_test_" + _r(rng, _ALNUM, 24)),
        ("sendgrid", "SG." + _r(rng, _B64URL, 22) + "." + _r(rng, _B64URL, 43)),
        ("github-fine-grained", "github_pat_11" + _r(rng, _ALNUM, 20) + "_" + _r(rng, _ALNUM, 59)),
        ("github-refresh", "ghr_" + _r(rng, _ALNUM, 76)),
        ("google-api", "AIza" + _r(rng, _B64URL, 35)),
        ("google-oauth-secret", "GOCSPX-" + _r(rng, _B64URL, 28)),
        ("google-oauth-access", "ya29.a0" + _r(rng, _B64URL, 150)),
        ("square-access", "sq0atp-" + _r(rng, _B64URL, 22)),
        ("square-secret", "sq0csp-" + _r(rng, _B64URL, 43)),
        ("braintree", f"access_token$production${_r(rng, _LOWER_ALNUM, 16)}${_r(rng, _HEX, 32)}"),
        ("linear", "lin_api_" + _r(rng, _LOWER_ALNUM, 40)),
        ("doppler", "dp.pt." + _r(rng, _LOWER_ALNUM, 43)),
        ("postman", f"PMAK-{_r(rng, _HEX, 24)}-{_r(rng, _HEX, 34)}"),
        ("grafana-cloud", "glc_" + _r(rng, _ALNUM, 32)),
        ("grafana-sa", f"glsa_{_r(rng, _ALNUM, 32)}_{_r(rng, _HEX, 8)}"),
        ("grafana-api", "eyJrIjoi" + _r(rng, _ALNUM, 72)),
        ("vault-service", "hvs." + _r(rng, _B64URL, 94)),
        ("vault-batch", "hvb." + _r(rng, _B64URL, 140)),
        ("atlassian", "ATATT3xFfGF0" + _r(rng, _B64URL, 171) + "=" + _r(rng, _HEX.upper(), 8)),
        ("discord-webhook", f"https://discord.com/api/webhooks/{_r(rng, string.digits, 19)}/"
         f"{_r(rng, _B64URL, 68)}"),
        ("databricks", "dapi" + _r(rng, _HEX, 32)),
        ("new-relic", "NRAK-" + _r(rng, string.ascii_uppercase + string.digits, 27)),
        ("sentry-user", "sntryu_" + _r(rng, _HEX, 64)),
        ("sendinblue", f"xkeysib-{_r(rng, _HEX, 64)}-{_r(rng, _ALNUM, 16)}"),
        ("dynatrace", f"dt0c01.{_r(rng, string.ascii_uppercase + string.digits, 24)}."
         f"{_r(rng, string.ascii_uppercase + string.digits, 64)}"),
        ("pulumi", "pul-" + _r(rng, _HEX, 40)),
        ("rubygems", "rubygems_" + _r(rng, _HEX, 48)),
        ("age", "AGE-SECRET-KEY-1" + _r(rng, "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58)),
        ("planetscale", "pscale_tkn_" + _r(rng, _B64URL, 43)),
        ("typeform", "tfp_" + _r(rng, _ALNUM, 44) + "_" + _r(rng, _ALNUM, 14)),
        ("flutterwave", f"FLWSECK_TEST-{_r(rng, _HEX, 32)}-X"),
        ("artifactory", "AKCp" + _r(rng, _ALNUM, 69)),
        ("azure-ad-secret", _r(rng, _ALNUM, 3) + "8Q~" + _r(rng, _ALNUM + "_-.", 34)),
        ("alibaba", "LTAI" + _r(rng, _LOWER_ALNUM, 20)),
        ("contentful", "CFPAT-" + _r(rng, _B64URL, 43)),
        ("easypost", "EZAK" + _r(rng, _LOWER_ALNUM, 54)),
        ("groq", "gsk_" + _r(rng, _ALNUM, 52)),
        ("perplexity", "pplx-" + _r(rng, _ALNUM, 48)),
        ("langsmith", f"lsv2_pt_{_r(rng, _HEX, 32)}_{_r(rng, _HEX, 10)}"),
        ("supabase", "sbp_" + _r(rng, _HEX, 40)),
        ("sourcegraph", f"sgp_{_r(rng, _HEX, 16)}_{_r(rng, _HEX, 40)}"),
        ("notion", "ntn_" + _r(rng, string.digits, 11) + _r(rng, _ALNUM, 35)),
        ("prefect", "pnu_" + _r(rng, _ALNUM, 36)),
        ("readme", "rdme_" + _r(rng, _LOWER_ALNUM, 70)),
        ("nuget", "oy2" + _r(rng, string.ascii_lowercase + "234567", 43)),
        ("shopify-custom", "shpca_" + _r(rng, _HEX, 32)),
        ("adobe", "p8e-" + _r(rng, _ALNUM, 32)),
        ("openshift", "sha256~" + _r(rng, _B64URL, 43)),
        ("scalingo", "tk-us-" + _r(rng, _B64URL, 48)),
        ("defined-networking", "dnkey-" + _r(rng, _LOWER_ALNUM, 26) + "-" + _r(rng, _LOWER_ALNUM, 52)),
        ("frameio", "fio-u-" + _r(rng, _B64URL, 64)),
        ("duffel", "duffel_live_" + _r(rng, _B64URL, 43)),
        ("airtable", "pat" + _r(rng, _ALNUM, 14) + "." + _r(rng, _HEX, 64)),
        ("mailchimp", _r(rng, _HEX, 32) + "-us14"),
        ("clojars", "CLOJARS_" + _r(rng, _LOWER_ALNUM, 60)),
        ("infracost", "ico-" + _r(rng, _ALNUM, 32)),
        ("1password", "ops_eyJ" + _r(rng, _ALNUM, 250)),
        ("facebook-page", "EAAC" + _r(rng, _ALNUM, 160)),
        ("fly", "fo1_" + _r(rng, _B64URL, 43)),
        ("hashicorp-tf", _r(rng, _LOWER_ALNUM, 14) + ".atlasv1." + _r(rng, _B64URL, 67)),
        ("sentry-org", "sntrys_eyJpYXQiOjE3MTA0Mjg5NjYuMCwidXJsIjoiaHR0cHM6Ly9zZW50cnkuaW8i"
         "LCJyZWdpb25fdXJsIjoiaHR0cHM6Ly91cy5zZW50cnkuaW8iLCJvcmciOiJhY21lIn0_"
         + _r(rng, _ALNUM, 43)),
        ("harness", f"pat.{_r(rng, _B64URL, 22)}.{_r(rng, _ALNUM, 24)}.{_r(rng, _ALNUM, 20)}"),
        ("mapbox-secret", "sk.eyJ1IjoiYWNtZSIsImEiOiJjbHg" + _r(rng, _ALNUM, 20) + "."
         + _r(rng, _B64URL, 22)),
    ]  # fmt: skip


def _vendor_cases(rng: random.Random) -> list[RTCase]:
    """Each vendor token where only its shape can give it away: a JSON-RPC positional
    parameter, a GraphQL query's string literal, a log line in an error body."""
    out: list[RTCase] = []
    # a token of its own for each carrier: a leak is then attributed to the carrier
    for i, ((vendor, token), (_, token2), (_, token3)) in enumerate(
        zip(_vendor_tokens(rng), _vendor_tokens(rng), _vendor_tokens(rng), strict=True)
    ):
        needle = (token.rsplit("/", 1)[1],) if vendor == "discord-webhook" else (token,)
        rpc = {"jsonrpc": "2.0", "id": i, "method": "integrations.connect",
               "params": ["workspace-7", token, {"dry_run": False}]}  # fmt: skip
        out.append(
            RTCase(
                "secret", "vendor-token", f"{vendor}/jsonrpc-param", needle, method="POST",
                path="/rpc", req_headers=(("Content-Type", _JSON),),
                req_body=json.dumps(rpc).encode(),
            )
        )  # fmt: skip
        gql = {
            "query": f'mutation {{ connectIntegration(provider: "{vendor}", '
            f'credential: "{token2}") {{ id }} }}'
        }
        needle2 = (token2.rsplit("/", 1)[1],) if vendor == "discord-webhook" else (token2,)
        out.append(
            RTCase(
                "secret", "vendor-token", f"{vendor}/graphql-literal", needle2, method="POST",
                path="/graphql", req_headers=(("Content-Type", _JSON),),
                req_body=json.dumps(gql).encode(),
            )
        )  # fmt: skip
        trace = (
            "Traceback (most recent call last):\n"
            '  File "/srv/app/sync.py", line 88, in push\n'
            f"    client = Client({token3!r})\n"
            "PermissionError: upstream refused the credential\n"
        )
        out.append(
            RTCase(
                "secret", "vendor-token", f"{vendor}/stack-trace",
                (token3.rsplit("/", 1)[1],) if vendor == "discord-webhook" else (token3,), status=500,
                resp_headers=(("Content-Type", "text/plain; charset=utf-8"),),
                resp_body=trace.encode(),
            )
        )  # fmt: skip
    return out


# -- secrets in unusual places ---------------------------------------------------------------


def _places(rng: random.Random) -> list[RTCase]:
    out: list[RTCase] = []

    def add(name: str, values: tuple[str, ...], **kw: object) -> None:
        out.append(RTCase("secret", "place", name, values, **kw))  # type: ignore[arg-type]

    jwt = _jwt(rng, '{"sub":"u_81723","email_verified":true,"scope":"openid"}')
    add(
        "jwt-in-location-fragment",
        (jwt.rsplit(".", 1)[1],),
        status=302,
        resp_headers=(("Location", f"https://app.acme.io/cb#id_token={jwt}&state=xyz"),),
        resp_body=b"",
    )
    opaque = _r(rng, _ALNUM, 32)
    add(
        "opaque-token-in-fragment",
        (opaque,),
        status=302,
        resp_headers=(
            ("Location", f"https://app.acme.io/cb#access_token={opaque}&token_type=bearer"),
        ),
        resp_body=b"",
    )
    add(
        "custom-scheme-redirect",
        (opaque[::-1],),
        status=302,
        resp_headers=(
            ("Location", f"com.acme.app://oauth/cb?code={opaque[::-1]}&state=af0ifjsldkj"),
        ),
        resp_body=b"",
    )
    resp_hash = _r(rng, _HEX, 32)
    cnonce = _r(rng, _HEX, 16)
    add(
        "digest-authorization",
        (resp_hash,),
        req_headers=(
            (
                "Authorization",
                f'Digest username="svc", realm="api@acme", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", '
                f'uri="/api/v1/items", qop=auth, nc=00000001, cnonce="{cnonce}", response="{resp_hash}"',
            ),
        ),
    )
    pw = "Pr0xy!" + _r(rng, _ALNUM, 10)
    add(
        "proxy-authorization-basic",
        (pw,),
        req_headers=(("Proxy-Authorization", "Basic " + _b64("corp\\jdoe:" + pw)),),
    )
    pw2 = _r(rng, _ALNUM, 14)
    add(
        "x-forwarded-host-userinfo",
        (pw2,),
        req_headers=(("X-Forwarded-Host", f"admin:{pw2}@internal.acme.io"),),
    )
    code = _r(rng, _B64URL, 40)
    add(
        "x-forwarded-uri-oauth-code",
        (code,),
        req_headers=(("X-Forwarded-Uri", f"/oauth2/callback?code={code}&state=12345"),),
    )
    pw3 = _r(rng, _ALNUM, 12)
    add(
        "x-original-url-relative-pw",
        (pw3,),
        req_headers=(("X-Original-Url", f"/legacy/login.aspx?user=ops&password={pw3}"),),
    )
    wst = _r(rng, _ALNUM, 40)
    add(
        "websocket-query-token",
        (wst,),
        path="/socket.io/",
        query=f"EIO=4&transport=websocket&auth_token={wst}",
        req_headers=(("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13")),
    )
    k8s = _jwt(rng, '{"iss":"kubernetes/serviceaccount","sub":"system:serviceaccount:ci:deployer"}')
    add(
        "websocket-protocol-k8s-bearer",
        (k8s.rsplit(".", 1)[1], _b64url(k8s.encode())),
        path="/api/v1/namespaces/ci/pods/web-0/exec",
        req_headers=(
            (
                "Sec-WebSocket-Protocol",
                "base64url.bearer.authorization.k8s.io."
                + _b64url(k8s.encode())
                + ", v4.channel.k8s.io",
            ),
        ),
    )
    hasura = _jwt(rng, '{"sub":"u_19","https://hasura.io/jwt/claims":{"x-hasura-role":"user"}}')
    add(
        "websocket-protocol-bearer-jwt",
        (hasura.rsplit(".", 1)[1],),
        path="/v1/graphql",
        req_headers=(("Sec-WebSocket-Protocol", f"graphql-ws, {hasura}"),),
    )
    add(
        "multipart-filename-email",
        ("jane.roe@corp-mail.io",),
        method="POST",
        path="/upload",
        req_headers=(("Content-Type", "multipart/form-data; boundary=XyZ"),),
        req_body=(
            b'--XyZ\r\nContent-Disposition: form-data; name="file"; '
            b'filename="jane.roe@corp-mail.io_resume.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
            b"%PDF-1.4 ...\r\n--XyZ--\r\n"
        ),
    )
    add(
        "content-disposition-encoded-email",
        ("m.garcia@corp-mail.io",),
        resp_headers=(
            ("Content-Type", "application/pdf"),
            (
                "Content-Disposition",
                "attachment; filename=\"statement.pdf\"; filename*=UTF-8''m.garcia%40corp-mail.io-statement.pdf",
            ),
        ),
        resp_body=b"%PDF-1.4 ...",
    )
    for scheme, fmt in (
        ("postgres", "psycopg2.OperationalError: connection to server failed: postgres://app_rw:{pw}@db-primary.internal:5432/orders"),
        ("mongodb+srv", "MongoServerSelectionError: mongodb+srv://reporting:{pw}@cluster0.a1b2c.mongodb.net/?retryWrites=true"),
        ("redis-empty-user", "redis.exceptions.ConnectionError: Error connecting to redis://:{pw}@cache.internal:6379/0"),
        ("rediss-default", "ConnectionError: rediss://default:{pw}@cache.internal:6380"),
        ("jdbc-query", "java.sql.SQLException: jdbc:postgresql://db:5432/app?user=svc&password={pw}&ssl=true"),
        ("jdbc-sqlserver", "com.microsoft.sqlserver.jdbc.SQLServerException: jdbc:sqlserver://db:1433;databaseName=app;user=sa;password={pw};"),
        ("jdbc-oracle-thin", "java.sql.SQLRecoverableException: jdbc:oracle:thin:scott/{pw}@//ora.internal:1521/ORCLPDB1"),
        ("smtp-url", "SMTPAuthenticationError for smtp://mailer%40acme.io:{pw}@smtp.gmail.com:587"),
        ("ado-net", "SqlException: Server=tcp:acme.database.windows.net,1433;Initial Catalog=app;User ID=admin;Password={pw};Encrypt=True"),
        ("amqps", "AMQPConnectionError: amqps://svc-billing:{pw}@b-1.mq.eu-west-1.amazonaws.com:5671"),
        ("kafka-jaas", 'org.apache.kafka.common.security.plain.PlainLoginModule required username="svc" password="{pw}";'),
        ("mysql-cli", "subprocess failed: mysql -h db.internal -u root -p{pw} orders"),
        ("curl-user", "command failed: curl -sS -u deploy:{pw} https://artifacts.acme.io/upload"),
        ("netrc", "machine api.acme.io login deploy password {pw}"),
    ):  # fmt: skip
        secret = _r(rng, _ALNUM, 8) + "9a!" + _r(rng, _ALNUM, 5)
        if scheme == "netrc":
            secret = _r(rng, _ALNUM, 18)
        msg = fmt.format(pw=secret)
        add(
            f"conn-string/{scheme}",
            (secret,),
            status=500,
            resp_body=json.dumps({"error": {"type": "InternalError", "detail": msg}}).encode(),
        )
    plain = _b64(b"\x00mailer@acme.io\x00" + _r(rng, _ALNUM, 16).encode())
    add(
        "smtp-auth-plain",
        (plain,),
        status=502,
        resp_headers=(("Content-Type", "text/plain"),),
        resp_body=f"SMTP transcript:\nEHLO app\n250-AUTH PLAIN LOGIN\nAUTH PLAIN {plain}\n535 5.7.8 Authentication failed\n".encode(),
    )
    # a SAML response posted back by the browser (the whole assertion is a bearer credential)
    saml = ('<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_8e8dc5f69a98cc4c1ff3427e5ce34606fd672f91e6">'
            '<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"><saml:Subject>'
            '<saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">_ce3d2948b4cf20146dee0a0b3dd6f69b6cf86f62d7</saml:NameID>'
            '</saml:Subject><saml:AttributeStatement><saml:Attribute Name="displayName">'
            '<saml:AttributeValue>Ingrid Halvorsen</saml:AttributeValue></saml:Attribute>'
            '</saml:AttributeStatement></saml:Assertion></samlp:Response>')  # fmt: skip
    saml_b64 = _b64(saml)
    add(
        "saml-response-form",
        (saml_b64[:60], "Ingrid Halvorsen"),
        method="POST",
        path="/saml/acs",
        req_headers=(("Content-Type", "application/x-www-form-urlencoded"),),
        req_body=f"SAMLResponse={quote(saml_b64, safe='')}&RelayState=%2Fdashboard".encode(),
    )
    add(
        "saml-attribute-xml",
        ("Ingrid Halvorsen",),
        method="POST",
        path="/saml/acs",
        req_headers=(("Content-Type", "application/xml"),),
        req_body=saml.encode(),
    )
    # JSON-RPC / XML-RPC with a password as a positional parameter
    unlock = "Wallet" + _r(rng, _ALNUM, 12)
    add("jsonrpc-positional-password", (unlock,), method="POST", path="/",
        req_headers=(("Content-Type", _JSON),),
        req_body=json.dumps({"jsonrpc": "2.0", "method": "personal_unlockAccount",
                             "params": ["0x7e5f4552091a69125d5dfcb7b8c2659029395bdf", unlock, 300],
                             "id": 1}).encode())  # fmt: skip
    wp = "Wp" + _r(rng, _ALNUM, 12)
    add("xmlrpc-positional-password", (wp,), method="POST", path="/xmlrpc.php",
        req_headers=(("Content-Type", "text/xml"),),
        req_body=("<?xml version=\"1.0\"?><methodCall><methodName>wp.getUsersBlogs</methodName><params>"
                  f"<param><value><string>admin</string></value></param><param><value><string>{wp}</string></value></param>"
                  "</params></methodCall>").encode())  # fmt: skip
    # protobuf over gRPC-web: a token in a string field (length byte 0x28 '(' before it)
    gh = "ghp_" + _r(rng, _ALNUM, 36)
    frame = b"\x0a\x28" + gh.encode() + b"\x12\x05eu-w1"
    add(
        "grpc-web-binary",
        (gh,),
        method="POST",
        path="/acme.v1.Repo/Connect",
        req_headers=(("Content-Type", "application/grpc-web+proto"),),
        req_body=b"\x00" + len(frame).to_bytes(4, "big") + frame,
    )
    gh2 = "ghp_" + _r(rng, _ALNUM, 36)
    frame2 = b"\x0a\x28" + gh2.encode()
    add(
        "grpc-web-text",
        (gh2,),
        method="POST",
        path="/acme.v1.Repo/Connect",
        req_headers=(("Content-Type", "application/grpc-web-text"),),
        req_body=base64.b64encode(b"\x00" + len(frame2).to_bytes(4, "big") + frame2),
    )
    pt = _r(rng, _ALNUM, 32)
    add(
        "protobuf-text-format",
        (pt,),
        method="POST",
        path="/config",
        req_headers=(("Content-Type", "text/plain"),),
        req_body=f'upstream {{\n  host: "api.acme.io"\n  api_key: "{pt}"\n}}\n'.encode(),
    )
    # HTTP header lists echoed by debug endpoints: [name, value] arrays
    hk = _r(rng, _HEX, 40)
    add("echoed-header-pairs", (hk,),
        resp_body=json.dumps({"headers": [["host", "api.acme.io"], ["x-api-key", hk],
                                          ["accept", "*/*"]]}).encode())  # fmt: skip
    nk = _r(rng, _ALNUM, 32)
    add("node-raw-headers", (nk,),
        resp_body=json.dumps({"rawHeaders": ["Host", "api.acme.io", "X-Auth-Token", nk,
                                             "Accept", "*/*"]}).encode())  # fmt: skip
    # env-var listings with more than four members per variable (Vercel, GitLab CI)
    ev = "cor" + _r(rng, _ALNUM, 16)
    add("vercel-env-list", (ev,),
        resp_body=json.dumps({"envs": [{"id": "env_" + _r(rng, _ALNUM, 16), "key": "SESSION_SECRET",
                                        "value": ev, "type": "plain", "target": ["production"],
                                        "createdAt": 1710428966535}]}).encode())  # fmt: skip
    gv = "glv" + _r(rng, _ALNUM, 16)
    add("gitlab-ci-variable", (gv,),
        resp_body=json.dumps({"variable_type": "env_var", "key": "DB_PASSWORD", "value": gv,
                              "protected": True, "masked": False, "raw": False,
                              "environment_scope": "*", "description": None}).encode())  # fmt: skip
    # a private JWK: `d`, `p`, `q`... are the private key
    d = _b64url(rng.randbytes(256))
    kk = _b64url(rng.randbytes(32))
    add("private-jwk", (d, kk),
        resp_body=json.dumps({"keys": [
            {"kty": "RSA", "kid": "sig-2024", "use": "sig", "n": _b64url(rng.randbytes(256)),
             "e": "AQAB", "d": d, "p": _b64url(rng.randbytes(128)), "q": _b64url(rng.randbytes(128))},
            {"kty": "oct", "kid": "hmac-1", "k": kk, "alg": "HS256"}]}).encode())  # fmt: skip
    # keys that carry one-time codes, card security codes and bank data
    for key, val in (
        ("verification_code", "483920"), ("confirmation_code", "771204"), ("sms_code", "302918"),
        ("twoFactorCode", "550913"), ("one_time_code", "118204"), ("cardCode", "8841"),
        ("security_code", "613"), ("sort_code", "40-47-84"), ("mnemonic",
         "legal winner thank year wave sausage worth useful legal winner thank yellow"),
        ("seed_phrase", "letter advice cage absurd amount doctor acoustic avoid letter advice cage above"),
        ("_auth", _b64("deploy:" + _r(rng, _ALNUM, 12))), ("passkey", _r(rng, _HEX, 32)),
        ("license_key", f"{_r(rng, 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789', 5)}-{_r(rng, 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789', 5)}-{_r(rng, 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789', 5)}"),
        ("SAMLResponse", _b64("<samlp:Response>" + _r(rng, _ALNUM, 40) + "</samlp:Response>")),
        ("password_digest", "$2a$12$" + _r(rng, _ALNUM + "./", 53)),
        ("drivers_license_number", "D" + _r(rng, string.digits, 7)),
        ("cpf", "529.982.247-25"), ("aadhaar", "2341 2341 2346"),
    ):  # fmt: skip
        add(
            f"key/{key}",
            (val,),
            method="POST",
            path="/api/v1/verify",
            req_headers=(("Content-Type", _JSON),),
            req_body=json.dumps({"user_id": 8812, key: val}).encode(),
        )
    cvc = "737"
    add(
        "form-bracket-cvc",
        (cvc + "&",),
        method="POST",
        path="/v1/payment_methods",
        req_headers=(("Content-Type", "application/x-www-form-urlencoded"),),
        req_body=f"type=card&card[number]=4242424242424242&card[cvc]={cvc}&card[exp_month]=12".encode(),
    )
    # headers whose names do not say "key" or "token"
    hc = _r(rng, _ALNUM, 22)
    add(
        "header/x-honeycomb-team",
        (hc,),
        method="POST",
        path="/1/events/prod",
        req_headers=(("X-Honeycomb-Team", hc),),
    )
    add(
        "header/x-ms-client-principal",
        ("zoe.whitfield@corp-mail.io",),
        req_headers=(
            (
                "X-Ms-Client-Principal",
                _b64(
                    '{"auth_typ":"aad","claims":[{"typ":"preferred_username","val":"zoe.whitfield@corp-mail.io"}]}'
                ),
            ),
        ),
    )
    add(
        "header/x-forwarded-user",
        ("zoe.whitfield",),
        req_headers=(
            ("X-Forwarded-User", "zoe.whitfield"),
            ("X-Forwarded-Preferred-Username", "zoe.whitfield"),
        ),
    )
    add(
        "header/ssl-client-dn",
        ("Thandiwe Mokoena",),
        req_headers=(("X-SSL-Client-S-DN", "CN=Thandiwe Mokoena,OU=Finance,O=Acme,C=ZA"),),
    )
    # HTML / JSON-in-HTML escapes
    add(
        "json-in-html-attr-in-json",
        (opaque[:20] + "Qz9",),
        resp_body=json.dumps(
            {
                "html": '<div data-props="{&quot;api_token&quot;:&quot;'
                + opaque[:20]
                + 'Qz9&quot;}"></div>'
            }
        ).encode(),
    )
    add(
        "html-entity-email",
        ("priya.natarajan",),
        resp_headers=(("Content-Type", "text/html"),),
        resp_body=b"<p>Contact: priya.natarajan&#64;corp-mail.io</p>",
    )
    add(
        "html-hex-entity-email",
        ("olu.adeyemi",),
        resp_headers=(("Content-Type", "text/html"),),
        resp_body=b"<p>Owner: olu.adeyemi&#x40;corp-mail.io</p>",
    )
    add(
        "base64-json-password",
        ("Tr0ub4dor&3x",),
        path="/cb",
        query="state=" + quote(_b64('{"return":"/home","password":"Tr0ub4dor&3x"}'), safe=""),
    )
    add(
        "double-url-encoded-email",
        ("kwame.mensah",),
        path="/r",
        query="next="
        + quote(
            quote("https://app.acme.io/invite?email=kwame.mensah@corp-mail.io", safe=""), safe=""
        ),
    )
    add(
        "unicode-escaped-json-text",
        ("h4ck3r-n0t-" + "Qz",),
        resp_headers=(("Content-Type", "text/html"),),
        resp_body=b'<script>window.__STATE__ = JSON.parse("{\\u0022session_token\\u0022:\\u0022h4ck3r-n0t-Qz\\u0022}");</script>',
    )
    qp = _r(rng, _HEX, 48)
    add(
        "quoted-printable-reset-link",
        (qp,),
        method="POST",
        path="/webhooks/inbound",
        req_headers=(("Content-Type", "text/plain"),),
        req_body=(
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
            f"Reset: https://app.acme.io/account/reset?token=3D{qp}&lang=3Den\r\n"
        ).encode(),
    )
    qp2 = _r(rng, _HEX, 48)
    add(
        "quoted-printable-soft-break",
        (qp2[20:],),
        method="POST",
        path="/webhooks/inbound",
        req_headers=(("Content-Type", "text/plain"),),
        req_body=(
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
            f"Reset: https://app.acme.io/account/reset?token=3D{qp2[:20]}=\r\n{qp2[20:]}\r\n"
        ).encode(),
    )
    # baggage and pagination-free session ids in tracing headers
    sess = _r(rng, _ALNUM, 24)
    add("baggage-session", (sess,), req_headers=(("Baggage", f"tenant=acme,sessionId={sess}"),))
    # curl line in a JSON log
    ck = _r(rng, _ALNUM, 30)
    add(
        "curl-header-in-log",
        (ck,),
        resp_body=json.dumps(
            {"log": f"retry: curl -H 'X-Api-Key: {ck}' https://api.acme.io/v1"}
        ).encode(),
    )
    # deflate+base64 (SAML redirect binding) of a request with a name in it: not a secret,
    # but the subject's email
    red = _b64(
        zlib.compress(
            b"<samlp:AuthnRequest><saml:Subject><saml:NameID>li.wei@corp-mail.io</saml:NameID></saml:Subject></samlp:AuthnRequest>"
        )[2:-4]
    )
    add("saml-redirect-deflated", (red,), path="/sso", query="SAMLRequest=" + quote(red, safe=""))
    # variants of the above, each with a generator of its own
    more = random.Random(61103)
    pw = "Pw" + _r(more, _ALNUM, 14)
    add("jsonrpc-login-password", (pw,), method="POST", path="/rpc",
        req_headers=(("Content-Type", _JSON),),
        req_body=json.dumps({"jsonrpc": "2.0", "method": "auth.login", "params": ["bob", pw], "id": 3}).encode())  # fmt: skip
    pw2 = "Mw" + _r(more, _ALNUM, 14)
    add("xmlrpc-metaweblog-password", (pw2,), method="POST", path="/xmlrpc.php",
        req_headers=(("Content-Type", "text/xml"),),
        req_body=("<?xml version=\"1.0\"?><methodCall><methodName>metaWeblog.getPost</methodName><params>"
                  "<param><value><i4>42</i4></value></param><param><value>admin</value></param>"
                  f"<param><value>{pw2}</value></param></params></methodCall>").encode())  # fmt: skip
    add(
        "header/ssl-client-dn-oneline",
        ("Kwabena Asante",),
        req_headers=(("X-SSL-Client-DN", "/C=GH/O=Acme/OU=Ops/CN=Kwabena Asante"),),
    )
    gz = _b64(zlib.compress(json.dumps({"user": "li.wei@corp-mail.io", "next": "/home"}).encode()))
    add("zlib-base64-state", (gz,), path="/cb", query="state=" + quote(gz, safe=""))
    qp3 = _r(more, _HEX, 40)
    add("quoted-printable-soft-break-text", (qp3[16:],), method="POST", path="/webhooks/inbound",
        req_headers=(("Content-Type", "text/plain"),),
        req_body=("Content-Transfer-Encoding: quoted-printable\r\n\r\nYour api_key=3D"
                  f"{qp3[:16]}=\r\n{qp3[16:]} expires soon.=20Thanks\r\n").encode())  # fmt: skip
    return out


# -- personal data in new forms --------------------------------------------------------------


def _personal(rng: random.Random) -> list[RTCase]:
    out: list[RTCase] = []

    def add(name: str, values: tuple[str, ...], body: object, **kw: object) -> None:
        out.append(
            RTCase("secret", "personal", name, values, resp_body=json.dumps(body).encode(), **kw)
        )  # type: ignore[arg-type]

    for email in ("bjorn+invoices@corp-mail.io", '"sam.o\'neil"@corp-mail.io', "ANNA.KARLSSON@CORP-MAIL.IO",
                  "first.last+tag+more@sub.corp-mail.co.uk", "x_y-z@corp-mail.io"):  # fmt: skip
        add(f"email/{email}", (email.split("@")[0].strip('"'),), {"recipient_list": f"To: {email}"})
    add(
        "email-display-name",
        ("Rafaela Oliveira",),
        {"from": "Rafaela Oliveira <rafaela.o@corp-mail.io>"},
    )
    add(
        "email-quoted-display-name",
        ("Oliveira, Rafaela",),
        {"reply_to": '"Oliveira, Rafaela" <r.oliveira@corp-mail.io>'},
    )
    for phone in (
        "+447700900461",
        "+4915123456789",
        "+33612345678",
        "+5511912345678",
        "+919876543210",
    ):
        add(f"e164/{phone}", (phone, phone[1:]), {"msg": f"Your code was sent to {phone}"})
    add("e164-tel-uri", ("+14155552671"[1:],), {"link": "tel:+14155552671"})
    add(
        "twilio-whatsapp-form",
        ("4915123456780",),
        {},
        method="POST",
        path="/twilio/inbound",
        req_headers=(("Content-Type", "application/x-www-form-urlencoded"),),
        req_body=b"From=whatsapp%3A%2B4915123456780&To=whatsapp%3A%2B14155238886&Body=hi",
    )
    for iban in (
        _iban("DE", "370400440532013000"),
        _iban("FR", "20041010050500013M02606"),
        _iban("NL", "ABNA0417164300"),
    ):
        spaced = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
        add(
            f"iban-spaced-in-text/{iban[:2]}",
            (iban, spaced),
            {"note": f"Please wire to IBAN {spaced} by Friday."},
        )
        add(
            f"iban-lower-grouped/{iban[:2]}", (spaced.lower(),), {"memo": f"iban: {spaced.lower()}"}
        )
    for prefix, length in (("4", 16), ("5", 16), ("37", 15), ("6011", 16)):
        card = _luhn(prefix if prefix != "5" else "54", length, rng)
        out.append(
            RTCase(
                "secret",
                "personal",
                f"card-json-number/{prefix}",
                (card,),
                resp_body=('{"payment": {"pan": ' + card + ', "exp": "12/27"}}').encode(),
            )
        )
        out.append(
            RTCase(
                "secret",
                "personal",
                f"card-json-number-neutral/{prefix}",
                (card,),
                resp_body=('{"rows": [[1, ' + card + ', "ok"]]}').encode(),
            )
        )
    add("stripe-shipping-name", ("Jenny Rosen", "510 Townsend St"),
        {"shipping": {"name": "Jenny Rosen", "address": {"line1": "510 Townsend St", "city": "San Francisco",
                                                         "postal_code": "94103", "state": "CA"}}})  # fmt: skip
    add(
        "billing-address-object",
        ("742 Evergreen Terrace",),
        {
            "billing": {
                "address": {"line1": "742 Evergreen Terrace", "city": "Springfield", "zip": "49007"}
            }
        },
    )
    add(
        "shipping-address-string",
        ("Flat 4, 17 Quarry Road",),
        {"order": 42, "shipping_address": "Flat 4, 17 Quarry Road, Leeds LS6 2AB"},
    )
    for key, val in (("holder", "KAROLINA NOWAK"), ("cardholder_name", "Karolina Nowak"),
                     ("account_holder_name", "Tomas Lindgren"), ("recipient", "Aiyana Redcloud"),
                     ("assignee", "Dmitri Volkov"), ("name_on_card", "MEI LING TAN"),
                     ("beneficiary_name", "Oluwaseun Bello"), ("payee", "Farida Haddad"),
                     ("nickname", "dvolkov"), ("preferred_username", "aredcloud"),
                     ("middle_name", "Josefine"), ("maiden_name", "Kowalczyk")):  # fmt: skip
        add(f"name-key/{key}", (val,), {"id": 77, key: val})
    add(
        "name-key/recipients-list",
        ("Ingrid Halvorsen",),
        {"recipients": ["Ingrid Halvorsen", "ops@corp-mail.io"]},
    )
    add("email/quoted-space", ("john doe",), {"recipient_list": 'To: "john doe"@corp-mail.io'})
    add("ip-small-quad-under-peer", ("1.2.3.4",), {"peer": "1.2.3.4", "event": "connect"})
    add(
        "holder-object",
        ("Siddharth Rao",),
        {"card": {"brand": "visa", "holder": {"name": "Siddharth Rao"}}},
    )
    add(
        "jira-assignee",
        ("Emeka Okonkwo",),
        {"fields": {"assignee": {"displayName": "Emeka Okonkwo", "active": True}}},
    )
    add("oidc-userinfo", ("Léa", "Marchand"), {"sub": "248289761001", "given_name": "Léa", "family_name": "Marchand",
                                              "picture": "https://cdn.acme.io/a.png"})  # fmt: skip
    add("phone-dotted", ("42.68.53.07",), {"contact": "Standard: +33.1.42.68.53.07"})
    add("ip-in-rest-path", ("10.1.2.3",), {"self": "https://cmdb.acme.io/hosts/10.1.2.3"})
    add("cli-password-flag", ("Hx7!kQ2mZp",), {"cmd": "pg_dump --password=Hx7!kQ2mZp --host=db"})
    add(
        "advertising-id",
        ("6D92078A-8246-4BA4-AE5B-76104861E7DC",),
        {"idfa": "6D92078A-8246-4BA4-AE5B-76104861E7DC", "event": "open"},
    )
    return out


# -- ordinary look-alikes ----------------------------------------------------------------------


def _lookalikes(rng: random.Random) -> list[RTCase]:
    out: list[RTCase] = []

    def body(name: str, doc: object, values: tuple[str, ...], *, raw: bytes | None = None,
             ctype: str = _JSON) -> None:  # fmt: skip
        data = raw if raw is not None else json.dumps(doc, indent=2).encode()
        out.append(RTCase("lookalike", name.split("/")[0], name, values,
                          resp_headers=(("Content-Type", ctype),), resp_body=data))  # fmt: skip

    def header(name: str, hname: str, value: str, *, resp: bool = False) -> None:
        if resp:
            out.append(RTCase("lookalike", "header", name, (value,),
                              resp_headers=(("Content-Type", _JSON), (hname, value))))  # fmt: skip
        else:
            out.append(RTCase("lookalike", "header", name, (value,), req_headers=((hname, value),)))

    for i in range(4):
        sha = rng.randbytes(20).hex()
        body(
            f"git/sha-{i}",
            {"commit": {"sha": sha, "short": sha[:7], "tree": rng.randbytes(20).hex()}},
            (sha,),
        )
    for v in ("2.4.1.0", "10.0.19045.3693", "1.0.0.1", "3.2.1.4"):
        body(f"version/{v}", {"app": "acme-cli", "min_supported": v, "channel": "stable"}, (v,))
    ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
    body("version/user-agent-json", {"event": "page_view", "userAgent": ua}, (ua,))
    header("user-agent-reduced", "User-Agent", ua)
    header(
        "sec-ch-ua-full-version-list",
        "Sec-CH-UA-Full-Version-List",
        '"Not_A Brand";v="8.0.0.0", "Chromium";v="120.0.6099.129"',
    )
    body(
        "version/oid",
        {"extensions": [{"oid": "2.5.29.17", "critical": False}, {"oid": "2.5.4.3"}]},
        ("2.5.29.17", "2.5.4.3"),
    )
    body("version/section", {"requirement": "see section 4.2.1.3 of the spec"}, ("4.2.1.3",))
    for i in range(4):
        u = f"{rng.getrandbits(128):032x}"
        body(
            f"uuid/v4-{i}", {"id": f"{u[:8]}-{u[8:12]}-4{u[13:16]}-a{u[17:20]}-{u[20:]}"}, (u[20:],)
        )
    body(
        "uuid/braced",
        {"clsid": "{21EC2020-3AEA-4069-A2DD-08002B30309D}"},
        ("21EC2020-3AEA-4069-A2DD-08002B30309D",),
    )
    body(
        "build/ids",
        {"build_id": "20240314.3", "run_id": 8123456789, "pipeline": "build-2024.03.14-1523"},
        ("20240314.3", "8123456789", "build-2024.03.14-1523"),
    )
    etag = rng.randbytes(16).hex() + "-12"
    body(
        "s3/etag",
        {
            "ETag": f'"{etag}"',
            "VersionId": "3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo",
        },
        (etag,),
    )
    body(
        "s3/list-v2",
        {
            "IsTruncated": True,
            "NextContinuationToken": "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=",
            "KeyCount": 2,
        },
        ("1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=",),
    )
    body(
        "pagination/google",
        {"items": [], "nextPageToken": "CiAKGjBpNTd2bnBkN2pxOWFiNW9tbDBxMW8xMDAQ5BJ4ARABGAE"},
        ("CiAKGjBpNTd2bnBkN2pxOWFiNW9tbDBxMW8xMDAQ5BJ4ARABGAE",),
    )
    body(
        "pagination/aws",
        {
            "Functions": [],
            "NextToken": "eyJNYXJrZXIiOiBudWxsLCAiYm90b190cnVuY2F0ZV9hbW91bnQiOiAxfQ==",
        },
        ("eyJNYXJrZXIiOiBudWxsLCAiYm90b190cnVuY2F0ZV9hbW91bnQiOiAxfQ==",),
    )
    body(
        "pagination/sync",
        {"events": [], "syncToken": "CPDAlvWDx70CEPDAlvWDx70CGAU="},
        ("CPDAlvWDx70CEPDAlvWDx70CGAU=",),
    )
    for i in range(3):
        h = rng.randbytes(64).hex()
        body(f"hash/sha512-{i}", {"sha512": h}, (h,))
    body(
        "hash/sri",
        {"integrity": "sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC"},
        ("sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC",),
    )
    for p in ("€1.234,56", "$12,345.67", "1 234,56 zł", "¥128,000", "CHF 4'250.00"):
        body(f"price/{p}", {"display_price": p}, (p,))
    body(
        "coordinates/pair",
        {"lat": 48.85837, "lng": 2.294481, "label": "48.8584, 2.2945"},
        ("48.8584, 2.2945", "48.85837"),
    )
    body("coordinates/iso6709", {"location": "+40.7128-074.0060/"}, ("+40.7128-074.0060/",))
    body(
        "number/plus-change",
        {"change_24h": "+1234.5678", "tz_offset": "+0530", "delta": "+12.5%"},
        ("+1234.5678", "+0530"),
    )
    body(
        "isbn/isbn10",
        {"isbn10": "0-306-40615-2", "isbn13": "978-3-16-148410-0"},
        ("0-306-40615-2", "978-3-16-148410-0"),
    )
    # EAN-13s that start with 4 and also pass Luhn (a 13-digit Visa shape)
    n = 0
    while n < 3:
        e = "40" + _r(rng, string.digits, 10)
        e += str((10 - sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(e)) % 10) % 10)
        if _luhn_ok(e):
            body(f"ean/luhn-{n}", {"gtin": e, "title": "Desk lamp"}, (e,))
            n += 1
    # 19-digit Datadog trace ids that pass Luhn with a card family's prefix
    n = 0
    while n < 3:
        t = "4" + _r(rng, string.digits, 18)
        if _luhn_ok(t):
            body(
                f"trace/datadog-{n}",
                {"dd": {"trace_id": t, "span_id": str(rng.getrandbits(63))}},
                (t,),
            )
            n += 1
    tp = f"00-{rng.getrandbits(128):032x}-{rng.getrandbits(64):016x}-01"
    header("traceparent", "traceparent", tp)
    header("b3-trace", "X-B3-TraceId", f"{rng.getrandbits(128):032x}")
    header("cloud-trace", "X-Cloud-Trace-Context", f"{rng.getrandbits(128):032x}/1;o=1")
    header(
        "github-request-id", "X-GitHub-Request-Id", "CB8C:3F1B:1A2B3C:2D3E4F:65F31A2E", resp=True
    )
    header("sec-websocket-key", "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
    header(
        "digest-header", "Digest", "sha-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=", resp=True
    )
    header(
        "amz-cf-id",
        "X-Amz-Cf-Id",
        "Q9GM7KTzLxQ-sBqvfYaoLGQl5qBD7uPYTv8M2iHHj_UtORDcNX5nlQ==",
        resp=True,
    )
    header("cf-ray", "CF-Ray", "8412a3c5ee4d9b3e-FRA", resp=True)
    header("server-timing", "Server-Timing", "db;dur=53, app;dur=47.2", resp=True)
    header(
        "csp-nonce",
        "Content-Security-Policy",
        "script-src 'nonce-r4nd0mN0nc3' 'strict-dynamic'",
        resp=True,
    )
    for nm in ("projects/acme-prod/locations/us-central1/functions/resize", "payments-api-7d4b9c8f6d-x2x9k",
               "kube-system", "Frankfurt (eu-central-1)", "Q3 revenue.xlsx", "Standard Ground"):  # fmt: skip
        body(f"name/{nm}", {"metadata": {"name": nm, "namespace": "default"}}, (nm,))
    body("k8s/secret-refs", {"env": [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db-creds", "key": "password"}}}],
                             "envFrom": [{"secretRef": {"name": "app-env"}}],
                             "imagePullSecrets": [{"name": "regcred"}]},
         ("db-creds", "app-env", "regcred"))  # fmt: skip
    body(
        "k8s/automount",
        {"spec": {"automountServiceAccountToken": False, "serviceAccountName": "default"}},
        ('"automountServiceAccountToken": false',),
    )
    oidc = {
        "issuer": "https://id.acme.io", "authorization_endpoint": "https://id.acme.io/authorize",
        "token_endpoint": "https://id.acme.io/oauth/token",
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "response_types_supported": ["code", "id_token", "code id_token"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }  # fmt: skip
    body("oidc/discovery", oidc, ("https://id.acme.io/oauth/token", "client_secret_basic", "RS256"))
    body("oidc/auth-time", {"auth_time": 1710428966, "amr": ["pwd", "mfa"]}, ("1710428966",))
    body("flags/password-meta", {"password_changed_at": "2024-03-14T15:09:26Z", "password_reset_required": False,
                                 "otp_enabled": True, "mfa_enabled": True}, ('"password_reset_required": false', '"otp_enabled": true'))  # fmt: skip
    body(
        "llm/logprobs",
        {
            "logprobs": {
                "content": [{"token": " The", "logprob": -0.0123, "bytes": [32, 84, 104, 101]}]
            }
        },
        ('"token": " The"',),
    )
    body(
        "llm/tgi-stream",
        None,
        ('"text":" The"',),
        ctype="text/event-stream",
        raw=b'data: {"index":1,"token":{"id":578,"text":" The","logprob":-0.5,"special":false},"generated_text":null}\n\n',
    )
    for code in ("PGRST116", "SUMMER2024", "INC0012345", "KeyA", "ERR_BAD_REQUEST", "E11000"):
        body(f"code/{code}", {"code": code, "message": "see docs"}, (code,))
    body(
        "code/ticket",
        {"ticket": "SUP-48213", "hash": "#/settings/billing"},
        ("SUP-48213", "#/settings/billing"),
    )
    for err in (
        "ERROR 1045 (28000): Access denied for user 'app'@'localhost' (using password: YES)",
        'ERROR: column "token" is of type uuid but expression is of type text',
        "sqlite3.OperationalError: no such column: api_key",
        'duplicate key value violates unique constraint "sessions_token_key"',
        "TypeError: Cannot read properties of undefined (reading 'password')",
    ):  # fmt: skip
        body(f"sql-error/{err[:20]}", {"error": err}, (err,))
    js = 'function l(e){var t=e.password,n=e.token||"";return fetch(u,{headers:{Authorization:"Bearer "+n}})}'
    body("js/minified", None, (js,), raw=js.encode(), ctype="application/javascript")
    body("js/sourcemap", {"version": 3, "sources": ["src/auth.ts"], "sourcesContent": [
        "export function login(password: string, token: string) {\n  return api.post('/login', { password, token });\n}\n"]},
         ("{ password, token }",))  # fmt: skip
    for c in ("#1e90ff80", "hsl(210 40% 96.1%)", "rgba(15, 23, 42, 0.8)", "oklch(0.7 0.15 250)"):
        body(f"css/{c}", {"theme": {"primary": c}}, (c,))
    css = b".btn-primary{color:#fff;background-color:#0d6efd}.token{font-family:monospace}.secret{display:none}"
    body("css/file", None, (css.decode(),), raw=css, ctype="text/css")
    gif = "R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"
    body("image/gif", {"pixel": "data:image/gif;base64," + gif}, (gif,))
    jpg = _b64(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + rng.randbytes(90))
    body("image/jpeg", {"thumb": jpg}, (jpg,))
    body("timestamps/mixed", {"ts": "2024-03-14T15:09:26.535123456Z", "epoch_ms": 1710428966535, "rfc": "Thu, 14 Mar 2024 15:09:26 +0000",
                              "date": "14/03/2024", "window": "2024-2025"}, ("2024-03-14T15:09:26.535123456Z", "1710428966535"))  # fmt: skip
    body(
        "stripe/publishable",
        {"publishableKey": "pk_live_" + _r(rng, _ALNUM, 24)[:0] + "51HqLyjWDarjtT1zdp7dc"},
        ("pk_live_51HqLyjWDarjtT1zdp7dc",),
    )
    body(
        "ids/stripe",
        {"id": "pi_3MtwBwLkdIwHu7ix28a3tqPa", "charge": "ch_3MtwBwLkdIwHu7ix2"},
        ("pi_3MtwBwLkdIwHu7ix28a3tqPa",),
    )
    body(
        "ids/snowflake",
        {"id": 1204567890123456789, "channel_id": "1098765432109876543"},
        ("1204567890123456789", "1098765432109876543"),
    )
    body("ids/ulid", {"event_id": "01HRZ3V8Z6K7WJ4YB5N2XG9TCM"}, ("01HRZ3V8Z6K7WJ4YB5N2XG9TCM",))
    body("ids/mongo", {"_id": {"$oid": "65f31a2e6c1b5e0a9d3f7c2b"}}, ("65f31a2e6c1b5e0a9d3f7c2b",))
    body(
        "keyboard/event",
        {"type": "keydown", "key": "ArrowUp", "code": "ArrowUp", "keyCode": 38},
        ("ArrowUp",),
    )
    body("cache/key", {"cache_key": "user:1042:profile:v3", "hit": True}, ("user:1042:profile:v3",))
    body(
        "tokens/counts",
        {"usage": {"prompt_tokens": 12, "completion_tokens": 40}, "tokenizer": "cl100k_base"},
        ("cl100k_base",),
    )
    body(
        "public-key/ssh",
        {
            "public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ci@acme"
        },
        ("AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",),
    )
    body(
        "jwks/public",
        {
            "keys": [
                {
                    "kty": "RSA",
                    "kid": "sig-2024",
                    "use": "sig",
                    "e": "AQAB",
                    "n": _b64url(bytes(range(200, 256)) * 4),
                }
            ]
        },
        ("sig-2024", "AQAB"),
    )
    body(
        "phone-like/part-numbers",
        {"part": "P/N 1204-5567-01", "isbn": "ISBN 978-0-596-52068-7"},
        ("1204-5567-01",),
    )
    body(
        "geo/ipv6-like-times",
        {"duration": "12:34:56", "window": "08:00-17:30"},
        ("12:34:56", "08:00-17:30"),
    )
    # what the detectors added with this corpus must leave alone
    for cmd in (
        "curl -u admin https://artifacts.acme.io/health",
        "docker run -u 1000:1000 --rm acme/app:2.4.1",
        "mysql -h db.internal -P 3306 -u root -p",
        "kubectl create secret docker-registry regcred --docker-password-stdin --token-file=/var/run/token",
        "git push --force-with-lease origin main",
    ):  # fmt: skip
        body(f"cli/{cmd[:24]}", {"step": cmd, "exit": 0}, (cmd,))
    body("headers/pairs", {"headers": [["content-type", "application/json"], ["x-request-id", "req_8f2a61c04d7b"]],
                           "tags": ["secret", "draft"]}, ("req_8f2a61c04d7b", "draft"))  # fmt: skip
    body("headers/raw", {"rawHeaders": ["Host", "api.acme.io", "Accept", "*/*", "X-Request-Id", "req_8f2a61c04d7c"]},
         ("req_8f2a61c04d7c",))  # fmt: skip
    body("saml/role", None, ("admin",), ctype="application/xml",
         raw=b'<saml:Attribute Name="Role"><saml:AttributeValue>admin</saml:AttributeValue></saml:Attribute>')  # fmt: skip
    body("jwks/ec-public", {"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1",
                                      "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                                      "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]},
         ("f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",))  # fmt: skip
    body(
        "css/icon-class",
        {"icon": "ico-arrow-left-circle-outline-small-dark"},
        ("ico-arrow-left-circle-outline-small-dark",),
    )
    body(
        "text/prose",
        {"description": "Set the token bucket size and the password policy in the admin panel."},
        ("Set the token bucket size and the password policy in the admin panel.",),
    )
    # beside the fixes for positional passwords, DN common names, party keys, compressed
    # base64, quoted-printable soft breaks, quoted local parts and version quads
    body("rpc/json-ordinary-method", {"jsonrpc": "2.0", "id": 7, "method": "eth_getBalance",
                                      "params": ["0x7e5f4552091a69125d5dfcb7b8c2659029395bdf", "latest"]},
         ("0x7e5f4552091a69125d5dfcb7b8c2659029395bdf", "latest"))  # fmt: skip
    body("rpc/json-about-login", {"jsonrpc": "2.0", "id": 8, "method": "auth.getLoginUrl",
                                  "params": ["acme-web", "dashboard"]}, ("dashboard",))  # fmt: skip
    body("rpc/xml-ordinary-method", None, ("beta-release",), ctype="text/xml",
         raw=b"<?xml version=\"1.0\"?><methodCall><methodName>demo.addTwoStrings</methodName><params>"
             b"<param><value><string>alpha</string></value></param><param><value><string>beta-release</string></value></param>"
             b"</params></methodCall>")  # fmt: skip
    header("dn/server-cn", "X-SSL-Client-S-DN", "CN=api.acme.io,OU=Platform,O=Acme,C=ZA")
    header("dn/issuer-cn", "X-SSL-Client-I-DN", "CN=Acme Issuing CA 01,O=Acme Corp,C=ZA")
    header("dn/root-cn", "X-SSL-Client-I-DN", "/C=US/O=Acme Trust/CN=Acme Root Authority")
    body("party/not-a-name", {"recipient": "finance-team", "assignee": "Finance Team",
                              "payee": "ACME-UTILITIES-04", "sender": "noreply"},
         ("finance-team", "Finance Team", "ACME-UTILITIES-04"))  # fmt: skip
    plain_state = _b64(zlib.compress(b'{"page":2,"sort":"name","filter":"open","view":"board"}'))
    body("encoded/zlib-base64-json", {"state": plain_state}, (plain_state,))
    plain_saml = _b64(zlib.compress(b'<samlp:AuthnRequest ID="_8f2a61c04d7b" Version="2.0" '
                                    b'AssertionConsumerServiceURL="https://app.acme.io/saml/acs"/>')[2:-4])  # fmt: skip
    out.append(RTCase("lookalike", "encoded", "encoded/deflated-authn-request", (plain_saml,),
                      path="/sso", query="SAMLRequest=" + quote(plain_saml, safe="")))  # fmt: skip
    qp_plain = ("Content-Transfer-Encoding: quoted-printable\r\n\r\nHello,=20the review moved to Thursday:=\r\n"
                " https://app.acme.io/calendar/week/42?view=3Dagenda&tz=3DEurope%2FOslo\r\n")  # fmt: skip
    body("text/quoted-printable", None, ("Thursday",), ctype="text/plain", raw=qp_plain.encode())
    body("email/quoted-words", {"note": 'he said "ship it" @standup', "handle": "@acme"},
         ('he said "ship it" @standup',))  # fmt: skip
    body("version/min-max", {"min_supported": "4.0.0.0", "max_tested": "9.9.9.9", "schema": "1.0.0.2"},
         ("4.0.0.0", "9.9.9.9"))  # fmt: skip
    return out


def secret_cases() -> list[RTCase]:
    rng = random.Random(52605)
    return [*_vendor_cases(rng), *_places(rng), *_personal(rng)]


def lookalike_cases() -> list[RTCase]:
    return _lookalikes(random.Random(80805))
