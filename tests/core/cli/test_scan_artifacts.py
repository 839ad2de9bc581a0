"""`amber scan` over every artifact amber writes: clean ones scan clean; raw secrets planted
in each artifact type and each place are found at the right location, never printed."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from amber._har import write_har
from amber._ingest import Pipeline
from amber._model import Exchange
from amber._model import Request
from amber._model import Response
from amber._model import new_id
from amber._pseudonym import Pseudonymizer
from amber._pseudonym import load_key
from amber._routes import Router
from amber._runs import RunLog
from amber._runs import RunResult
from amber._store import Store
from amber.sanitize import SanitizeConfig
from amber.sanitize import Sanitizer
from tests.core.cli.conftest import Run
from tests.fixtures.conftest import build

GH = "ghp_" + "Q9w8E7r6T5y4U3i2O1p0A9s8D7f6G5h4J3k2"
TOKEN = "tk_" + "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
PW = "correct-horse-battery-staple-42"
HASH = "$2b$12$" + "KIXa4l3Pq2vQb6yW0r7sUOeZp3L8c1DqF5gH9jK2mN4oP6rS8tU0v"
BOUNDARY = "b0und4ry"


def raw_exchanges() -> list[Exchange]:
    """Secrets in every place capture sees them: headers, query, cookie, JSON keys,
    multipart fields, a base64-able binary body, a Set-Cookie, a redirect."""
    multipart = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="api_key"\r\n\r\n{TOKEN}\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="note"\r\n\r\nhello\r\n'
        f"--{BOUNDARY}--\r\n"
    ).encode()
    user = {"id": 7, "name": "Jane Roe", "email": "jane.roe@corp.io", "password": PW}
    return [
        Exchange(
            new_id(),
            Request(
                "GET",
                "https",
                "api.corp.io",
                443,
                "/v1/me",
                query=f"access_token={TOKEN}&page=2",
                headers=(
                    ("X-Api-Key", TOKEN),
                    ("X-Auth-Token", TOKEN),
                    ("Cookie", f"sessionid={TOKEN}; theme=dark"),
                ),
            ),
            Response(
                200,
                headers=(
                    ("content-type", "application/json"),
                    ("set-cookie", f"sid={TOKEN}; Path=/; HttpOnly"),
                ),
                body=json.dumps({"user": user, "note": f"deploy with {GH}"}).encode(),
            ),
        ),
        Exchange(
            new_id(),
            Request(
                "POST",
                "https",
                "api.corp.io",
                443,
                "/v1/upload",
                headers=(("content-type", f"multipart/form-data; boundary={BOUNDARY}"),),
                body=multipart,
            ),
            Response(
                302,
                headers=(("location", f"https://app.corp.io/cb?code=x&token={TOKEN}"),),
            ),
        ),
        Exchange(
            new_id(),
            Request("GET", "https", "api.corp.io", 443, "/v1/blob"),
            Response(
                200,
                headers=(("content-type", "application/octet-stream"),),
                body=b"\x00\x01\xff" + f"key={GH}".encode() + b"\xfe",
            ),
        ),
    ]


@pytest.fixture
def artifacts(env: Path, amber: Run, recorded: Path) -> Path:
    """Everything amber writes, from real traffic and from the raw exchanges above: the
    store (with a run), HAR and JSONL exports, a fixture (with a declared test hash), a
    generated test, the audit log."""
    (env / "amber.yaml").write_text(
        "fixtures:\n  known_values:\n    Customers.password_hash: '" + HASH + "'\n"
    )
    pipeline = Pipeline(Sanitizer(SanitizeConfig(), Pseudonymizer(load_key())), Router())
    clean = [pipeline.process(ex) for ex in raw_exchanges()]  # what capture stores
    with Store.open(f"sqlite:///{env / 'store.db'}") as s:
        s.add_many(clean)
        log = RunLog(s)
        run = log.start("replay", "http://127.0.0.1:1", {})
        log.add(
            run,
            [
                RunResult(
                    clean[0].id,
                    1.0,
                    200,
                    1.0,
                    False,
                    differences=[
                        {
                            "path": "body$.user.password",
                            "kind": "changed",
                            "expected": "[REDACTED:sensitive-key]",
                            "actual": "[REDACTED:sensitive-key]",
                        }
                    ],
                )
            ],
        )
    out = env / "out"
    out.mkdir()
    for fmt in ("har", "jsonl"):
        code, _, err = amber("export", "--format", fmt, "-o", str(out / f"all.{fmt}"))
        assert code == 0, err
    src = f"sqlite:///{env / 'src.db'}"
    build(src)
    orders = Exchange(new_id(), Request("GET", "http", "api", 80, "/orders/100"))
    with Store.open(f"sqlite:///{env / 'store.db'}") as s:
        s.add(orders)
    code, _, err = amber(
        "fixtures", orders.id, "--source-db", src, "-o", str(out / "fx.yaml"), "--reason", "b 1"
    )
    assert code == 0, err
    assert HASH in (out / "fx.yaml").read_text()  # the declared test value is in the rows
    code, _, err = amber("gen-test", clean[0].id, "--out", str(out / "tests"))
    assert code == 0, err
    assert list((out / "tests").rglob("*.py"))
    assert '"tables"' in (env / ".amber" / "audit.jsonl").read_text()
    return env


def test_everything_amber_writes_scans_clean(artifacts: Path, amber: Run) -> None:
    env = artifacts
    code, out, err = amber(
        "scan", str(env / "out"), str(env / "store.db"), str(env / ".amber" / "audit.jsonl")
    )
    assert out == "" and code == 0, out + err
    files = int(err.split("amber scan: ")[-1].split(" files")[0])
    assert files >= 5 and " 0 findings" in err


def test_a_declared_test_hash_is_amber_s_but_another_one_is_not(
    artifacts: Path, amber: Run
) -> None:
    fx = artifacts / "out" / "fx.yaml"
    text = fx.read_text()
    fx.write_text(text.replace(HASH, HASH[:-6] + "QQQQQQ"))
    code, out, _ = amber("scan", str(fx))
    assert code == 1 and "password_hash" in out and HASH[:-6] not in out


def test_the_same_exchanges_raw_are_found_everywhere(env: Path, amber: Run) -> None:
    raw = raw_exchanges()
    with (env / "raw.har").open("wb") as fp:
        write_har(raw, fp, creator_version="test")
    code, out, err = amber("scan", "--json", str(env / "raw.har"))
    assert code == 1, err
    hits = [json.loads(line) for line in out.splitlines()]
    found = {(h["where"].rpartition(" ")[2], h["location"]) for h in hits}
    for want in [
        ("0", "request.headers.x-api-key"),
        ("0", "request.headers.x-auth-token"),
        ("0", "request.headers.cookie.sessionid"),
        ("0", "request.query.access_token"),
        ("0", "response.headers.set-cookie.sid"),
        ("0", "response.body$.user.password"),
        ("0", "response.body$.user.email"),
        ("0", "response.body$.user.name"),
        ("0", "response.body$.note"),
        ("1", "request.body.multipart.api_key"),
        ("1", "response.headers.location.query.token"),
        ("2", "response.body:binary"),
    ]:
        assert want in found, (want, sorted(found))
    # the base64 body really is base64 in the HAR (the scan decoded it)
    assert base64.b64encode(raw[2].response.body).decode() in (env / "raw.har").read_text()
    for secret in (GH, TOKEN, PW, "jane.roe@corp.io", "Jane Roe"):
        assert secret not in out
    assert {h["rule"] for h in hits} >= {"sensitive-header", "cookie", "sensitive-key"}


def planted(env: Path) -> dict[str, Path]:
    """One file of each artifact type, each with raw secrets in its own places."""
    har = {
        "log": {
            "version": "1.2",
            "creator": {"name": "other-tool", "version": "1"},
            "entries": [
                {
                    "startedDateTime": "2024-01-01T00:00:00Z",
                    "time": 1,
                    "request": {
                        "method": "POST",
                        "url": "https://api.corp.io/login?sig=" + TOKEN,
                        "httpVersion": "HTTP/1.1",
                        "headers": [
                            {"name": "X-Api-Key", "value": TOKEN},
                            {"name": "Authorization", "value": "Bearer [REDACTED]"},
                            {"name": "X-Other", "value": "***"},
                        ],
                        "queryString": [{"name": "api_key", "value": TOKEN}],
                        "cookies": [{"name": "sessionid", "value": TOKEN}],
                        "postData": {
                            "mimeType": "multipart/form-data; boundary=zz",
                            "params": [
                                {"name": "api_key", "value": TOKEN},
                                {"name": "password", "value": "xxxx"},
                            ],
                        },
                        "headersSize": -1,
                        "bodySize": -1,
                    },
                    "response": {
                        "status": 200,
                        "statusText": "OK",
                        "httpVersion": "HTTP/1.1",
                        "headers": [{"name": "content-type", "value": "application/json"}],
                        "cookies": [],
                        "content": {
                            "size": 10,
                            "mimeType": "application/json",
                            "encoding": "base64",
                            "text": base64.b64encode(
                                json.dumps({"client_secret": PW, "masked": "<redacted>"}).encode()
                            ).decode(),
                        },
                        "redirectURL": "",
                        "headersSize": -1,
                        "bodySize": -1,
                    },
                    "timings": {"send": 0, "wait": 1, "receive": 0},
                },
                {
                    "startedDateTime": "2024-01-01T00:00:00Z",
                    "time": 1,
                    "request": {
                        "method": "POST",
                        "url": "https://api.corp.io/form",
                        "httpVersion": "HTTP/1.1",
                        "headers": [],
                        "queryString": [],
                        "cookies": [],
                        "postData": {
                            "mimeType": "application/x-www-form-urlencoded",
                            "text": "a=1",
                            "params": [{"name": "token", "value": TOKEN}],
                        },
                    },
                    "response": {
                        "status": 302,
                        "headers": [],
                        "content": {"size": 0, "text": ""},
                        "redirectURL": "https://app.corp.io/reset?token=" + TOKEN,
                    },
                    "comment": "deploy with " + GH,
                },
            ],
        }
    }
    files = {"har": env / "other.har"}
    files["har"].write_text(json.dumps(har, indent=1))
    ex = raw_exchanges()[0]
    files["jsonl"] = env / "raw.jsonl"
    files["jsonl"].write_bytes(
        b'{"not": "an exchange", "password": "'
        + PW.encode()
        + b'"}\n'
        + json.dumps(ex.to_dict()).encode()
        + b"\n"
    )
    files["fixture"] = env / "fx.yaml"
    files["fixture"].write_text(
        "version: 1\nmeta: {exchange: x}\nnotes: []\ntables:\n"
        "- name: users\n  columns:\n  - {name: id, type: integer, nullable: false}\n"
        "  - {name: api_token, type: text, nullable: true}\n"
        "  - {name: bio, type: text, nullable: true}\n  primary_key: [id]\n  rows:\n"
        '  - {"id":1,"api_token":"[REDACTED:sensitive-key]","bio":"*****"}\n'
        f'  - {{"id":2,"api_token":"{TOKEN}","bio":null}}\n'
        f"  - {{id: 3, api_token: null, bio: 'my key is {GH}'}}\n"
    )
    files["python"] = env / "test_gen.py"
    files["python"].write_text(
        "import httpx\n\n"
        f'HEADERS = {{"x-api-key": "{TOKEN}",\n'
        '           "authorization": "Bearer [REDACTED:authorization]"}\n'
        "\n\ndef test_it() -> None:\n"
        f'    httpx.post("/x", json={{"password": "{PW}"}}, data=b\'{{"note": "{GH}"}}\')\n'
    )
    with Store.open(f"sqlite:///{env / 'runs.db'}") as s:
        s.add(Exchange(new_id(), Request("GET", "http", "a", 80, "/")))
        log = RunLog(s)
        run = log.start("replay", "http://127.0.0.1:1", {})
        log.add(
            run,
            [
                RunResult(
                    "E1",
                    1.0,
                    200,
                    1.0,
                    False,
                    differences=[
                        {
                            "path": "body$.refresh_token",
                            "kind": "changed",
                            "expected": "[REDACTED:sensitive-key]",
                            "actual": TOKEN,
                        },
                        {
                            "path": "body$.note",
                            "kind": "changed",
                            "expected": "a",
                            "actual": "mail me at jane.roe@corp.io",
                        },
                    ],
                ),
                RunResult("E2", 1.0, None, None, False, error="connect failed: key " + GH),
            ],
        )
    files["store"] = env / "runs.db"
    return files


def test_planted_secrets_are_found_in_each_artifact_and_place(env: Path, amber: Run) -> None:
    files = planted(env)
    code, out, err = amber("scan", "--json", *(str(p) for p in files.values()))
    assert code == 1, err
    hits = [json.loads(line) for line in out.splitlines()]
    for secret in (GH, TOKEN, PW, "jane.roe@corp.io"):
        assert secret not in out
    got = {(h["where"], h["location"]) for h in hits}

    def has(where: str, location: str) -> bool:
        return any(w.endswith(where) and loc == location for w, loc in got)

    har, jsonl, fx, py, db = (str(files[k]) for k in ("har", "jsonl", "fixture", "python", "store"))
    want = [
        (f"{har} entry 0", "request.headers.x-api-key"),
        (f"{har} entry 0", "request.query.sig"),
        (f"{har} entry 0", "request.queryString.api_key"),
        (f"{har} entry 0", "request.cookies.sessionid"),
        (f"{har} entry 0", "request.body.multipart.api_key"),
        (f"{har} entry 0", "response.body$.client_secret"),
        (f"{har} entry 1", "request.postData.params.token"),
        (f"{har} entry 1", "response.redirectURL.query.token"),
        (f"{har} entry 1", "custom fields"),
        (f"{jsonl}:1", "$.password"),
        (f"{fx}:13", "table users column api_token"),
        (f"{fx}:14", "table users column bio"),
        (f"{py}:3", "key x-api-key"),
        (f"{py}:8", "key password"),
        (f"{py}:8", "literal$.note"),
        (" (exchange E1)", "differences[0].actual"),
        (" (exchange E1)", "differences[1].actual"),
        (" (exchange E2)", "error"),
    ]
    for where, location in want:
        assert has(where, location), (where, location, sorted(got))
    assert any(w.startswith(f"{jsonl}:2 exchange ") for w, _ in got)
    # other tools' markers are not findings: Bearer [REDACTED], ***, xxxx, <redacted>, *****
    locations = {loc for _, loc in got}
    for clean in (
        "request.headers.authorization",
        "request.headers.x-other",
        "request.body.multipart.password",
        "response.body$.masked",
    ):
        assert clean not in locations, clean
    assert not has(f"{fx}:12", "table users column api_token")
    assert not has(f"{fx}:12", "table users column bio")
    assert not has(f"{py}:4", "key authorization")


def test_mitmproxy_flow_files_are_read_as_exchanges(env: Path, amber: Run) -> None:
    from mitmproxy import http
    from mitmproxy.io import FlowWriter
    from mitmproxy.test import tflow
    from mitmproxy.test import tutils

    resp = tutils.tresp(
        headers=http.Headers(
            [(b"Content-Type", b"application/json"), (b"Content-Encoding", b"gzip")]
        )
    )
    resp.content = json.dumps({"client_secret": PW}).encode()  # gzip-encoded in the file
    req = tutils.treq(headers=http.Headers([(b"Host", b"a"), (b"X-Api-Key", TOKEN.encode())]))
    clean = tutils.treq(headers=http.Headers([(b"Host", b"a"), (b"X-Api-Key", b"[REDACTED]")]))
    path = env / "capture.mitm"
    with path.open("wb") as fp:
        w = FlowWriter(fp)  # type: ignore[no-untyped-call]
        w.add(tflow.tflow(req=req, resp=resp))
        w.add(tflow.tflow(req=clean))
    code, out, err = amber("scan", str(path))
    assert code == 1, err
    assert f"{path} flow 0: request.headers.x-api-key: sensitive-header" in out
    assert f"{path} flow 0: response.body$.client_secret: sensitive-key" in out
    assert "flow 1: request" not in out and TOKEN not in out and PW not in out


def test_json_lines_are_read_as_records_whatever_the_file_name(env: Path, amber: Run) -> None:
    log = env / "audit.log"
    log.write_text(
        json.dumps({"command": "fixtures", "tables": {"users": 3, "api_tokens": 1}})
        + "\n"
        + json.dumps({"command": "replay", "reason": "ticket 7", "token": TOKEN})
        + "\n"
    )
    code, out, _ = amber("scan", str(log))
    assert code == 1 and out == f"{log}:2: $.token: sensitive-key\n"


def test_header_dicts_in_python_are_checked_by_the_header_rules(env: Path, amber: Run) -> None:
    py = env / "test_h.py"
    py.write_text(
        "HEADERS = {\n"
        '    "cookie": "sid=[REDACTED:cookie]; theme=dark",\n'
        '    "authorization": "Basic [REDACTED:authorization]",\n'
        f'    "x-api-key": "{TOKEN}",\n'
        "}\n"
    )
    code, out, _ = amber("scan", str(py))
    assert code == 1 and out == f"{py}:4: key x-api-key: sensitive-header\n"


def test_a_generated_test_s_credential_placeholders_are_not_findings(env: Path, amber: Run) -> None:
    """`{{amber:password}}` is where the capture masked a credential and the test identity
    fills it at run time: nothing is kept there. A value beside it still is a finding."""
    py = env / "test_login.py"
    py.write_text(
        "REQUEST = {\n"
        '    "headers": [["Authorization", "Bearer {{amber:bearer}}"]],\n'
        '    "body": \'{"password": "{{amber:password}}", "user": "{{amber:username}}"}\',\n'
        "}\n"
        'OTHER = {"body": \'{"password": "{{amber:password}}hunter2"}\'}\n'
    )
    code, out, _ = amber("scan", str(py))
    assert code == 1, out
    assert {line.split(":")[1] for line in out.splitlines()} == {"5"}, out


def test_a_form_body_literal_in_python_is_read_as_a_form(env: Path, amber: Run) -> None:
    """In a form body `+` is a space: `phone=%2B1+415+867+5309` holds a phone number, as
    capture reads it; amber's own pseudonyms there are not findings."""
    py = env / "test_form.py"
    py.write_text(
        'RAW = b"city=SF&phone=%2B1+415+867+5309&remember=1"\n'
        'OWN = b"name=Omar+Ortega&email=harvey.alvarado50%40example.net&phone=%2B1+202+555+0147"\n'
        'PROSE = "a=1 & b=2 are two settings"\n'
    )
    code, out, _ = amber("scan", str(py))
    assert code == 1 and out == f"{py}:1: form.phone: phone\n", out
