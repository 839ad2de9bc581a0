"""The capture issue's "done when": a real client through `amber capture` to a real app.

One proxy run (module scope) carries traffic with more than 40 planted secrets in every place
a request or response carries them; the tests then check that none survives anywhere amber
writes (the raw SQLite files, the decoded exchanges, every export format), that the proxy was
transparent in both directions, that pseudonyms are stable per key, and that a missing
AMBER_KEY stops `amber capture` before it listens.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import os
import re
import signal
import socket
import subprocess
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

import httpx
import orjson
import pytest

from amber._model import Exchange
from amber._store import Store
from tests.capture.conftest import AMBER
from tests.capture.conftest import APP_SECRETS
from tests.capture.conftest import KEY_A
from tests.capture.conftest import KEY_B
from tests.capture.conftest import READY_DEADLINE
from tests.capture.conftest import READY_LINE
from tests.capture.conftest import CaptureProcess
from tests.capture.conftest import CaptureRunner
from tests.capture.conftest import EchoApp
from tests.capture.conftest import capture_env
from tests.capture.conftest import check_clean
from tests.capture.conftest import compressed_body
from tests.capture.conftest import deterministic_bytes
from tests.capture.conftest import free_port
from tests.capture.conftest import html_body
from tests.capture.conftest import port_open
from tests.capture.conftest import secrets_json
from tests.capture.conftest import stream_event
from tests.capture.conftest import wait_for


def luhn_ok(number: str) -> bool:
    digits = [int(c) for c in number if c.isdigit()]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_ok(iban: str) -> bool:
    s = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in s)) % 97 == 1


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyLTQ4MTUxNjIzNDIiLCJuYW1lIjoiSmFuZSJ9."
    "Qm9ndXNTaWduYXR1cmVGb3JBbWJlclRlc3RzMTIz"
)
BASIC_PW = "Pa55word-Basic-Secret"
PROXY_PW = "Pr0xyPassw0rd-Secret"
PEM_LINE = "MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM2v7tN3kq9XqLwPz8hY2"

# name -> secret value; every value is planted once (or more) in the traffic below.
SECRETS: dict[str, str] = {
    "jwt": JWT,
    "basic_token": b64(f"alice:{BASIC_PW}"),
    "basic_password": BASIC_PW,
    "proxy_basic_token": b64(f"proxyuser:{PROXY_PW}"),
    "cookie_session": "sessReqCookie5f4e3d2c1b0a99887766",
    "cookie_auth_token": "authTokCookie_0a1b2c3d4e5f6a7b8c9d",
    "cookie_csrftoken": "csrfCookieTok_77aa88bb99cc00dd11ee",
    "x_api_key": "xak_live_4f9d2c7a1e8b3f6d0a5c9e2b7d4f1a8c",
    "x_auth_token": "xat_9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e",
    "x_csrf_token": "csrfHdrTok_3e4f5a6b7c8d9e0f1a2b3c4d",
    "x_amz_security_token": "FwoGZXIvYXdzEAsaDAmberSessionTok9876543210",
    "x_goog_api_key": "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q",
    "stripe_signature": "t=1700000000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff5"
    "36d0ce8e108d8bd",
    "hub_signature": "sha256=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "slack_signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    "xff_ip": "81.2.69.160",
    "real_ip": "81.2.69.192",
    "custom_github": "ghp_CustomHdrGithubTok0123456789abcdefAB",
    "query_token": "qtok_8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e",
    "query_api_key": "qak_1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f",
    "query_email": "query.person@corp-mail.io",
    "path_email": "path.person@corp-mail.io",
    "json_password": "JsonPassw0rd!Secret-42",
    "json_card": "4111111111111111",
    "json_card_spaced": "5555 5555 5555 4444",
    "json_iban": "GB82WEST12345698765432",
    "json_ssn": "536-22-8741",
    "json_aws_key_id": "AKIAZ7QW4ERT2YUI3OPL",
    "json_aws_secret": "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",
    "json_stripe": "sk_live_51JsonStripeKeyAbCdEfGh123456",
    "json_pem": PEM_LINE,
    "json_dsn_password": "Conn5tr1ngPassw0rd",
    "array_email_1": "member.one@corp-mail.io",
    "array_email_2": "member.two@corp-mail.io",
    "array_token_1": "arrTok_one_0f1e2d3c4b5a69788796a5b4",
    "array_token_2": "arrTok_two_a5b4c3d2e1f00f1e2d3c4b5a",
    "form_password": "FormPassw0rd-Secret-77",
    "form_card": "378282246310005",
    "multipart_secret": "MultipartApiSecret-8c7b6a5d4e3f",
    "multipart_github": "ghp_MultipartGithubTok9876543210abcdefXY",
    "gzip_req_password": "GzipReqPassw0rd-Secret",
    "gzip_req_stripe": "sk_live_51GzipReqStripeKeyLkJh7654",
    "truncated_email": "trunc.person@corp-mail.io",
    "truncated_stripe": "sk_live_51TruncStripeKeyMnBv3456",
    **{f"app_{k}": v for k, v in APP_SECRETS.items()},
}


@dataclass
class Sent:
    """One request as the client sent it, and the response as the client got it."""

    test_id: str
    request: httpx.Request
    body: bytes
    status: int = 0
    raw_body: bytes = b""
    set_cookies: list[str] = field(default_factory=list)


def build_traffic(client: httpx.Client) -> list[tuple[httpx.Request, bytes | None]]:
    """(request, expected raw response body or None for the sink's hash answer)."""
    s = SECRETS
    reqs: list[tuple[httpx.Request, bytes | None]] = []

    def add(method: str, url: str, expect: bytes | None = None, **kw: object) -> None:
        reqs.append((client.build_request(method, url, **kw), expect))  # type: ignore[arg-type]

    add(
        "GET",
        "/api/me",
        headers={
            "Authorization": f"Bearer {s['jwt']}",
            "Cookie": f"theme=dark; session={s['cookie_session']}; lang=en; "
            f"auth_token={s['cookie_auth_token']}; csrftoken={s['cookie_csrftoken']}",
            "X-Forwarded-For": f"{s['xff_ip']}, 10.1.2.3",
            "X-Real-IP": s["real_ip"],
        },
    )
    add(
        "GET",
        "/api/basic",
        headers={
            "Authorization": f"Basic {s['basic_token']}",
            "Proxy-Authorization": f"Basic {s['proxy_basic_token']}",
        },
    )
    add(
        "GET",
        "/api/keys",
        headers={
            "X-Api-Key": s["x_api_key"],
            "X-Auth-Token": s["x_auth_token"],
            "X-CSRF-Token": s["x_csrf_token"],
            "X-Amz-Security-Token": s["x_amz_security_token"],
            "X-Goog-Api-Key": s["x_goog_api_key"],
            "X-Custom-Debug": s["custom_github"],
        },
    )
    add(
        "POST",
        "/webhooks/stripe",
        content=b'{"type": "charge.succeeded"}',
        headers={
            "Content-Type": "application/json",
            "Stripe-Signature": s["stripe_signature"],
            "X-Hub-Signature-256": s["hub_signature"],
            "X-Slack-Signature": s["slack_signature"],
        },
    )
    add(
        "GET",
        "/api/search",
        params={
            "token": s["query_token"],
            "api_key": s["query_api_key"],
            "email": s["query_email"],
            "page": "2",
        },
    )
    add("GET", f"/users/{s['path_email']}/profile")
    nested = {
        "user": {
            "name": "Jane",
            "password": s["json_password"],
            "payment": {
                "card_number": s["json_card"],
                "backup": f"card {s['json_card_spaced']}",
                "iban": s["json_iban"],
            },
            "ssn": s["json_ssn"],
        },
        "cloud": {
            "aws_access_key_id": s["json_aws_key_id"],
            "aws_secret_access_key": s["json_aws_secret"],
            "notes": f"stripe {s['json_stripe']}",
        },
        "deploy": {
            "private_key": f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_LINE}\n"
            "-----END RSA PRIVATE KEY-----\n",
            "dsn": f"postgresql://app_admin:{s['json_dsn_password']}@db.internal/orders",
        },
        "members": [
            {"email": s["array_email_1"], "api_token": s["array_token_1"]},
            {"email": s["array_email_2"], "api_token": s["array_token_2"]},
        ],
    }
    add(
        "POST",
        "/api/users",
        content=orjson.dumps(nested),
        headers={"Content-Type": "application/json"},
    )
    add(
        "POST",
        "/login",
        data={
            "username": "bob",
            "password": s["form_password"],
            "card_number": s["form_card"],
            "remember": "1",
        },
    )
    blob = bytes(range(256)) * 8
    add(
        "POST",
        "/upload",
        data={"api_secret": s["multipart_secret"], "notes": f"my token is {s['multipart_github']}"},
        files={"file": ("blob.bin", blob, "application/octet-stream")},
    )
    gz = gzip.compress(
        orjson.dumps({"password": s["gzip_req_password"], "note": f"key {s['gzip_req_stripe']}"}),
        mtime=0,
    )
    add(
        "POST",
        "/api/gzip",
        content=gz,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    full = orjson.dumps(
        {
            "user": {
                "email": s["truncated_email"],
                "note": f"key {s['truncated_stripe']} end",
                "x": "y" * 50,
            }
        }
    )
    add(
        "POST",
        "/api/truncated",
        content=full[: full.index(b" end") + 4],
        headers={"Content-Type": "application/json"},
    )
    add("GET", "/_secrets", expect=secrets_json())
    add("GET", "/_html", expect=html_body())
    for enc in ("gzip", "br", "zstd"):
        add("GET", f"/_compressed/{enc}", expect=compressed_body(enc))
    add("GET", "/_status/500", expect=b'{"error": "boom"}')
    return reqs


@dataclass
class Run:
    proxy: CaptureProcess
    sent: list[Sent]
    expected: list[bytes | None]
    app: EchoApp
    exports: dict[str, bytes]


@pytest.fixture(scope="module")
def secrets_run(echo_app: EchoApp, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    runner = CaptureRunner(echo_app, tmp_path_factory)
    # asking mitmproxy to print whole flows must not put them in the log either
    proxy = runner.start("--verbose-proxy", "--set", "flow_detail=4")
    sent: list[Sent] = []
    expected: list[bytes | None] = []
    try:
        with httpx.Client(base_url=proxy.url, timeout=30) as client:
            for i, (req, expect) in enumerate(build_traffic(client)):
                tid = f"e2e-{i}-{os.getpid()}"
                req.headers["X-Test-Id"] = tid
                body = req.read()
                resp = client.send(req, stream=True)
                try:
                    raw = b"".join(resp.iter_raw())
                finally:
                    resp.close()
                sent.append(
                    Sent(tid, req, body, resp.status_code, raw, resp.headers.get_list("set-cookie"))
                )
                expected.append(expect)
        code = proxy.stop(signal.SIGINT)
        assert check_clean(proxy, code) == []
        exports = {}
        for fmt in ("har", "jsonl", "curl"):
            out = subprocess.run(
                [AMBER, "export", "--format", fmt, "--store", proxy.store_url],
                capture_output=True,
                env=capture_env(None),
                timeout=60,
                check=True,
            )
            exports[fmt] = out.stdout
        yield Run(proxy, sent, expected, echo_app, exports)
    finally:
        runner.close_all()


def test_planted_secrets_are_real() -> None:
    assert len(SECRETS) >= 40
    for name in ("json_card", "json_card_spaced", "form_card", "app_resp_card"):
        assert luhn_ok(SECRETS[name]), name
    assert iban_ok(SECRETS["json_iban"])


def forms(secret: str) -> dict[str, bytes]:
    return {
        "raw": secret.encode(),
        "base64": base64.b64encode(secret.encode()),
        "urlsafe-base64": base64.urlsafe_b64encode(secret.encode()).rstrip(b"="),
        "url-encoded": urllib.parse.quote(secret, safe="").encode(),
        "form-encoded": urllib.parse.quote_plus(secret).encode(),
    }


def survivors(blob: bytes) -> list[str]:
    found = []
    for name, secret in SECRETS.items():
        for how, needle in forms(secret).items():
            if needle in blob:
                found.append(f"{name} ({how})")
    return found


def test_every_exchange_was_stored(secrets_run: Run) -> None:
    exchanges = secrets_run.proxy.exchanges()
    assert len(exchanges) == len(secrets_run.sent)
    s = secrets_run.proxy.summary()
    assert (s.seen, s.stored) == (len(secrets_run.sent), len(secrets_run.sent))


def test_no_secret_in_store_files(secrets_run: Run) -> None:
    blob = secrets_run.proxy.store_bytes()
    assert len(blob) > 0
    assert survivors(blob) == []


def test_no_secret_in_decoded_exchanges(secrets_run: Run) -> None:
    exchanges = secrets_run.proxy.exchanges()
    blob = b"\n".join(orjson.dumps(ex.to_dict()) for ex in exchanges)
    # the bodies are really there (decoded), so the check is not vacuous
    assert b"charge.succeeded" in blob and b"db.internal/orders" in blob
    assert b"[REDACTED:" in blob
    assert survivors(blob) == []


@pytest.mark.parametrize("fmt", ["har", "jsonl", "curl"])
def test_no_secret_in_exports(secrets_run: Run, fmt: str) -> None:
    out = secrets_run.exports[fmt]
    assert b"/api/users" in out
    assert survivors(out) == []


def test_no_secret_in_the_proxy_log(secrets_run: Run) -> None:
    assert survivors(secrets_run.proxy.output.encode()) == []


def test_app_saw_exactly_what_the_client_sent(secrets_run: Run) -> None:
    for sent in secrets_run.sent:
        seen = secrets_run.app.one(sent.test_id)
        assert seen.method == sent.request.method
        assert seen.target == sent.request.url.raw_path
        client_headers = [(k.lower(), v) for k, v in sent.request.headers.raw]
        assert seen.headers == client_headers, sent.request.url
        assert seen.body == sent.body, sent.request.url


def test_client_got_the_apps_responses_unmodified(secrets_run: Run) -> None:
    for sent, expect in zip(secrets_run.sent, secrets_run.expected, strict=True):
        if expect is None:
            assert sent.status == 200
            assert orjson.loads(sent.raw_body) == {
                "sha256": hashlib.sha256(sent.body).hexdigest(),
                "length": len(sent.body),
            }
        else:
            assert hashlib.sha256(sent.raw_body).hexdigest() == hashlib.sha256(expect).hexdigest()
    by_path = {s.request.url.path: s for s in secrets_run.sent}
    assert by_path["/_status/500"].status == 500
    a = APP_SECRETS
    assert by_path["/_secrets"].set_cookies == [
        f"session={a['cookie_session']}; Path=/; HttpOnly",
        f"refresh_token={a['cookie_refresh']}; Path=/; Secure",
    ]


# -- pseudonyms -------------------------------------------------------------------------------

EMAIL = "stable.person@corp-mail.io"


def pseudonym_of_email(proxy: CaptureProcess) -> tuple[str, str]:
    """(pseudonym in the path, pseudonym in the JSON body) of EMAIL after one capture run."""
    proxy.wait_listening()
    r = httpx.post(f"{proxy.url}/users/{EMAIL}/orders", json={"email": EMAIL}, timeout=30)
    assert r.status_code == 200
    assert proxy.stop() == 0
    [ex] = proxy.exchanges()
    m = re.fullmatch(r"/users/([^/]+)/orders", ex.request.path)
    assert m, ex.request.path
    body = orjson.loads(ex.request.body)
    return m.group(1), body["email"]


@pytest.mark.slow
def test_pseudonyms_stable_per_key_across_runs(capture_proxy: CaptureRunner) -> None:
    # three separate runs and stores; started together only to save time
    runs = [capture_proxy.start(key=k, wait=False) for k in (KEY_A, KEY_A, KEY_B)]
    first, second, other = (pseudonym_of_email(p) for p in runs)
    assert EMAIL not in first and EMAIL not in other
    assert first == second
    assert first[0] == first[1]  # same value, same pseudonym wherever it appears
    assert first[0].endswith(("@example.com", "@example.org", "@example.net"))
    assert other[0] != first[0] and other[1] != first[1]


# -- the key ----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [None, "", "too-short"])
def test_missing_key_stops_capture_before_listening(
    echo_app: EchoApp, tmp_path: Path, key: str | None
) -> None:
    port = free_port()
    proc = subprocess.run(
        [
            AMBER,
            "capture",
            "--upstream",
            echo_app.url,
            "--listen",
            f"127.0.0.1:{port}",
            "--store",
            f"sqlite:///{tmp_path / 'store.db'}",
        ],
        capture_output=True,
        text=True,
        env=capture_env(key),
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "AMBER_KEY" in proc.stderr
    assert "export AMBER_KEY=" in proc.stderr and "secrets.token_hex" in proc.stderr
    assert "listening on" not in proc.stderr + proc.stdout
    assert not port_open(port)
    assert not (tmp_path / "store.db").exists()
    with pytest.raises(Exception):  # noqa: B017 - nothing was created to open
        Store.open(f"sqlite:///{tmp_path / 'store.db'}", create=False)


def test_capture_records_with_the_store_from_the_environment_and_no_options(
    echo_app: EchoApp, tmp_path: Path
) -> None:
    """No --store and no amber_* option on the command line: the addon, which lives in the
    master, still configures itself from $AMBER_STORE and records."""
    port = free_port()
    env = capture_env()
    env["AMBER_STORE"] = f"sqlite:///{tmp_path / 'env-store.db'}"
    log = tmp_path / "capture.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [AMBER, "capture", "--upstream", echo_app.url, "--listen", f"127.0.0.1:{port}"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=tmp_path,
        )
    cp = CaptureProcess(proc, port, tmp_path / "env-store.db", log)
    try:
        cp.wait_listening()
        assert httpx.get(f"http://127.0.0.1:{port}/env-check", timeout=30).status_code == 200
    finally:
        cp.stop()
    assert cp.returncode == 0, cp.output
    with Store.open(env["AMBER_STORE"], create=False) as s:
        assert [ex.request.path for ex in s.iter_exchanges()] == ["/env-check"]


def test_capture_stops_with_an_error_when_the_store_cannot_be_opened(
    echo_app: EchoApp, tmp_path: Path
) -> None:
    (tmp_path / "bad.db").write_bytes(b"not a database" * 100)
    env = capture_env()
    env["AMBER_STORE"] = f"sqlite:///{tmp_path / 'bad.db'}"
    proc = subprocess.run(
        [AMBER, "capture", "--upstream", echo_app.url, "--listen", f"127.0.0.1:{free_port()}"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "not a readable amber store" in proc.stdout + proc.stderr


# -- options from every entry ------------------------------------------------------------------


@pytest.mark.parametrize("entry", ["flag", "--set", "amber.yaml"])
def test_the_sample_rate_works_from_every_entry(
    capture_proxy: CaptureRunner,
    tmp_path: Path,
    entry: str,
) -> None:
    """`--sample-rate` and `--set amber_sample_rate=` crashed at start-up (mitmproxy cannot
    parse a float option) and amber.yaml's capture.sample_rate was ignored. At rate 0 every
    ordinary exchange is sampled out and a 5xx still kept: the rate took effect."""
    config = tmp_path / "amber.yaml"
    config.write_text("capture:\n  sample_rate: 0.0\n" if entry == "amber.yaml" else "{}\n")
    extra = {
        "flag": ["--sample-rate", "0.0"],
        "--set": ["--set", "amber_sample_rate=0.0"],
        "amber.yaml": [],
    }[entry]
    p = capture_proxy.start("--config", str(config), *extra)
    with httpx.Client(base_url=p.url, timeout=30) as c:
        assert c.get("/ordinary").status_code == 200
        assert c.get("/_status/503").status_code == 503
    assert p.stop() == 0
    assert [ex.request.path for ex in p.exchanges()] == ["/_status/503"]


def test_a_flag_beats_amber_yaml(capture_proxy: CaptureRunner, tmp_path: Path) -> None:
    config = tmp_path / "amber.yaml"
    config.write_text("capture:\n  sample_rate: 0\n  exclude_paths: [/skipped]\n")
    p = capture_proxy.start("--config", str(config), "--sample-rate", "1")
    with httpx.Client(base_url=p.url, timeout=30) as c:
        for path in ("/kept", "/skipped"):
            assert c.get(path).status_code == 200
    assert p.stop() == 0
    assert [ex.request.path for ex in p.exchanges()] == ["/kept"]  # amber.yaml's exclude holds


# -- honest start-up ---------------------------------------------------------------------------


def start_failure(
    echo_app: EchoApp,
    cwd: Path,
    *extra: str,
    port: int | None = None,
) -> tuple[int, list[str]]:
    """Run `amber capture` that should fail to start: its exit code and its output lines."""
    proc = subprocess.run(
        [
            AMBER,
            "capture",
            "--upstream",
            echo_app.url,
            "--listen",
            f"127.0.0.1:{port or free_port()}",
            *extra,
        ],
        capture_output=True,
        text=True,
        env=capture_env(),
        cwd=cwd,
        timeout=600,
    )
    return proc.returncode, (proc.stdout + proc.stderr).strip().splitlines()


def test_listening_is_said_only_once_the_port_accepts_connections(
    capture_proxy: CaptureRunner,
) -> None:
    p = capture_proxy.start(wait=False)
    end = time.monotonic() + READY_DEADLINE
    while READY_LINE not in p.output:
        assert p.proc.poll() is None and time.monotonic() < end, p.output
        time.sleep(0.01)
    with socket.create_connection(("127.0.0.1", p.port), timeout=5):
        pass  # accepted at once: the port was bound before the line was printed
    assert f"{READY_LINE} 127.0.0.1:{p.port};" in p.output


def test_a_taken_port_exits_with_one_line_and_writes_nothing(
    echo_app: EchoApp,
    tmp_path: Path,
) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        code, lines = start_failure(
            echo_app, tmp_path, "--store", f"sqlite:///{tmp_path / 'store.db'}", port=port
        )
    assert code == 1
    [line] = lines
    assert line.startswith("amber capture: error: ") and "address already in use" in line
    assert "--listen HOST:PORT" in line
    assert list(tmp_path.iterdir()) == []  # the store was never opened


def test_an_unreachable_store_exits_with_one_line_and_opens_no_other(
    echo_app: EchoApp,
    tmp_path: Path,
) -> None:
    """mitmproxy rolls a rejected option back to the defaults; amber used to start a writer on
    the default store then, creating .amber/store.db in the current directory."""
    port = free_port()
    url = f"postgresql://amber:Pw-Not-Shown@127.0.0.1:{free_port()}/amber"
    code, lines = start_failure(echo_app, tmp_path, "--store", url, port=port)
    assert code == 1
    [line] = lines
    assert line.startswith("amber capture: error: cannot record: cannot open store ")
    assert "Pw-Not-Shown" not in line
    assert list(tmp_path.iterdir()) == []  # no .amber/ in the current directory
    assert not port_open(port)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--sample-rate", "half"], "amber_sample_rate: expected a number between 0 and 1"),
        (["--set", "amber_queue_size=lots"], "amber_queue_size: expected a whole number"),
    ],
)
def test_a_bad_option_exits_with_one_line_naming_it(
    echo_app: EchoApp,
    tmp_path: Path,
    extra: list[str],
    message: str,
) -> None:
    code, lines = start_failure(echo_app, tmp_path, *extra)
    assert code == 1
    assert lines == [f"amber capture: error: {message}" + lines[0].split(message, 1)[1]]
    assert list(tmp_path.iterdir()) == []


# -- streams pass through live -----------------------------------------------------------------

STREAM_CAP = 4096


@pytest.fixture(scope="module")
def stream_proxy(
    echo_app: EchoApp,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[CaptureProcess]:
    runner = CaptureRunner(echo_app, tmp_path_factory)
    yield runner.start("--max-body-size", str(STREAM_CAP))
    runner.close_all()


def stored_one(proxy: CaptureProcess, tid: str) -> Exchange:
    """The exchange carrying X-Test-Id `tid`, once the running proxy has stored it."""
    found: list[Exchange] = []

    def ready() -> bool:
        with Store.open(proxy.store_url, create=False) as store:
            found[:] = [
                ex for ex in store.iter_exchanges() if ("X-Test-Id", tid) in ex.request.headers
            ]
        return bool(found)

    wait_for(ready, READY_DEADLINE, f"exchange {tid} in the store")
    [ex] = found
    return ex


def read_events(resp: httpx.Response, sep: bytes) -> tuple[list[bytes], list[float]]:
    """The events of a streamed response and when each one was complete at the client."""
    events: list[bytes] = []
    arrived: list[float] = []
    buf = b""
    for chunk in resp.iter_raw():
        buf += chunk
        while sep in buf:
            event, buf = buf.split(sep, 1)
            events.append(event + sep)
            arrived.append(time.monotonic())
    assert buf == b""
    return events, arrived


def test_server_sent_events_reach_the_client_as_the_app_sends_them(
    stream_proxy: CaptureProcess,
    echo_app: EchoApp,
) -> None:
    tid = uuid.uuid4().hex
    with (
        httpx.Client(timeout=60) as c,
        c.stream(
            "GET",
            f"{stream_proxy.url}/_stream/sse?n=3&gap=1",
            headers={"X-Test-Id": tid},
        ) as r,
    ):
        assert r.headers["content-type"].startswith("text/event-stream")
        events, arrived = read_events(r, b"\n\n")
    sent = echo_app.stream_sent[tid]
    assert events == [stream_event("sse", i) for i in range(3)]
    lags_ms = [round((a - s) * 1000, 1) for a, s in zip(arrived, sent, strict=True)]
    print(
        f"SSE through amber capture: each event reached the client {lags_ms} ms after "
        "the app sent it (events 1 s apart)"
    )
    # buffered, the first event would arrive with the last, 2 s late: each one must arrive
    # before the app sends the next
    assert arrived[0] < sent[1] and arrived[1] < sent[2]
    ex = stored_one(stream_proxy, tid)
    assert ex.response is not None and ex.response.body == b"".join(events)
    assert not ex.response.body_truncated


def test_an_ndjson_stream_over_the_cap_passes_whole_and_is_recorded_cut(
    stream_proxy: CaptureProcess,
    echo_app: EchoApp,
) -> None:
    tid = uuid.uuid4().hex
    with (
        httpx.Client(timeout=60) as c,
        c.stream(
            "GET",
            f"{stream_proxy.url}/_stream/ndjson?n=3&gap=0.1&size=3000",
            headers={"X-Test-Id": tid},
        ) as r,
    ):
        events, _ = read_events(r, b"\n")
    whole = b"".join(stream_event("ndjson", i, 3000) for i in range(3))
    assert b"".join(events) == whole  # the client got every byte
    ex = stored_one(stream_proxy, tid)
    assert ex.response is not None and ex.response.body_truncated
    assert ex.response.body == whole[:STREAM_CAP]


def test_a_body_announced_over_the_cap_passes_whole_and_is_recorded_cut(
    stream_proxy: CaptureProcess,
) -> None:
    tid = uuid.uuid4().hex
    size = 50 * STREAM_CAP
    r = httpx.get(f"{stream_proxy.url}/_huge/{size}", headers={"X-Test-Id": tid}, timeout=60)
    assert r.content == b"".join(deterministic_bytes(size))
    ex = stored_one(stream_proxy, tid)
    assert ex.response is not None and ex.response.body_truncated
    # cut at the cap, less the word the cut fell inside (no secret's prefix is kept: at most
    # 512 bytes back to a delimiter, amber/_ingest.py)
    kept = ex.response.body
    assert r.content[:STREAM_CAP].startswith(kept) and len(kept) >= STREAM_CAP - 512


def test_a_stream_the_app_breaks_off_is_recorded_with_the_events_seen(
    stream_proxy: CaptureProcess,
) -> None:
    tid = uuid.uuid4().hex
    got = b""
    with (
        pytest.raises(httpx.RemoteProtocolError),
        httpx.Client(timeout=60) as c,
        c.stream(
            "GET",
            f"{stream_proxy.url}/_stream/sse?n=2&gap=0.2&abort=1",
            headers={"X-Test-Id": tid},
        ) as r,
    ):
        for chunk in r.iter_raw():
            got += chunk
    assert got == stream_event("sse", 0)
    ex = stored_one(stream_proxy, tid)
    assert ex.error and ex.response is not None and ex.response.body_truncated
    assert ex.response.body == got
