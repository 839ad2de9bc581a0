"""Masked credentials in a captured request become test identity placeholders, and the
generated test authenticates with `testing.identity` (Basic, Bearer, API key, form fields,
a session login), or fails with the sentence its docstring states when it is missing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from amber._model import Exchange
from amber._model import Request
from amber._model import Response
from amber._model import new_id
from amber.testing._credentials import Credentials
from amber.testing._generate import GenSpec
from amber.testing._generate import credentials_of
from amber.testing._generate import write_test

AUTH_APP = """
import base64, os
from flask import Flask, request, session, jsonify

def create_app():
    app = Flask(__name__)
    app.secret_key = "test"
    fixed = os.environ.get("AUTH_FIXED") == "1"

    def ok(body):
        return (jsonify(body), 200) if fixed else ("boom", 500)

    @app.put("/basic/<int:n>")
    def basic(n):
        want = "Basic " + base64.b64encode(b"alice:pw s3cret").decode()
        if request.headers.get("Authorization") != want:
            return "who?", 401
        return ok({"n": n})

    @app.get("/keyed")
    def keyed():
        if request.headers.get("X-Api-Key") != "k-123456":
            return "who?", 401
        if request.args.get("token") != "q-tok&1":
            return "bad query token", 401
        return ok({"k": 1})

    @app.post("/change-password")
    def change():
        if request.form.get("password") != "pw s3cret" or request.form.get("user") != "alice":
            return "bad form", 401
        return ok({"changed": True})

    @app.post("/json-login")
    def json_login():
        body = request.get_json()
        if body != {"user": "alice", "password": "pw s3cret", "remember": True}:
            return "bad json", 401
        return ok({"logged": True})

    @app.post("/login")
    def login():
        if request.form.get("username") != "alice" or request.form.get("password") != "pw s3cret":
            return "no", 401
        session["user"] = "alice"
        return "ok"

    @app.get("/me")
    def me():
        if session.get("user") != "alice":
            return "login first", 401
        return ok({"me": "alice"})

    return app
"""

IDENTITY = """testing:
  identity:
    user: alice
    password: ${TEST_PW}
    api_key: k-123456
    bearer: q-tok&1
    login:
      method: POST
      path: /login
      form: {username: "{user}", password: "{password}"}
"""


def masked(
    method: str, path: str, headers: list[tuple[str, str]], body: bytes = b"", query: str = ""
) -> Exchange:
    return Exchange(
        new_id(946681200.0),
        Request(
            method,
            "http",
            "api",
            80,
            path,
            query=query,
            headers=tuple(headers),
            body=body,
            timestamp_start=946681200.0,
        ),
        Response(500, headers=(("Content-Type", "text/plain"),), body=b"boom"),
        route=path,
    )


EXCHANGES = [
    masked("PUT", "/basic/3", [("Authorization", "Basic [REDACTED:authorization]")]),
    masked(
        "GET",
        "/keyed",
        [("X-Api-Key", "[REDACTED:api-key]")],
        query="token=[REDACTED:sensitive-key]",
    ),
    masked(
        "POST",
        "/change-password",
        [("Content-Type", "application/x-www-form-urlencoded")],
        b"user=[REDACTED:sensitive-key]&password=[REDACTED:sensitive-key]",
    ),
    masked(
        "POST",
        "/json-login",
        [("Content-Type", "application/json")],
        b'{"user": "[REDACTED:sensitive-key]", "password": "[REDACTED:sensitive-key]", '
        b'"remember": true}',
    ),
    masked("GET", "/me", [("Cookie", "session=[REDACTED:cookie]; theme=dark")]),
]


def test_masked_credentials_become_placeholders() -> None:
    creds = credentials_of(EXCHANGES[0])
    assert creds.kinds == ["basic"] and not creds.login
    c = Credentials({}, [])
    assert c.header("Authorization", "Bearer [REDACTED:authorization]") == "Bearer {{amber:bearer}}"
    assert c.header("X-Api-Key", "[REDACTED:api-key]") == "{{amber:api_key}}"
    assert c.header("X-Trace-Secret", "[REDACTED:x]") is None  # no credential amber knows
    assert c.header("Accept", "text/html") == "text/html"
    assert c.pairs("a=1&password=[REDACTED:sensitive-key]&b=%5B") == (
        "a=1&password={{amber:password}}&b=%5B"
    )
    text = '{"pin": "[REDACTED:x]",  "note": "[REDACTED:y]"}'
    assert Credentials({"pin": "password"}, []).json_text(text) == (
        '{"pin": "{{amber:password}}",  "note": "[REDACTED:y]"}'
    )
    assert credentials_of(EXCHANGES[4]).login


def _write_all(tmp_path: Path) -> list[Path]:
    (tmp_path / "auth_app.py").write_text(AUTH_APP)
    return [write_test(GenSpec(ex, "gen", expect={}), tmp_path).path for ex in EXCHANGES]


def _pytest(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rf"]
        + ["--amber-app", "auth_app:create_app", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )


def test_generated_tests_authenticate_with_the_identity(tmp_path: Path) -> None:
    paths = _write_all(tmp_path)
    texts = [p.read_text() for p in paths]
    assert "alice" not in "".join(texts) and "k-123456" not in "".join(texts)
    assert 'needs=["basic"]' in texts[0] and "login=True" in texts[4]
    (tmp_path / "amber.yaml").write_text(IDENTITY)
    buggy = _pytest(tmp_path, TEST_PW="pw s3cret")
    assert "5 failed" in buggy.stdout, buggy.stdout
    # they fail on the bug (the 500), not on authentication
    # (counted on the failures' own "E" lines: the -rf summary repeats the message only
    # when the terminal is wide enough to hold it)
    reasons = [line for line in buggy.stdout.splitlines() if line.startswith("E ")]
    assert sum("captured 500, now 500" in line for line in reasons) == 5, buggy.stdout
    fixed = _pytest(tmp_path, TEST_PW="pw s3cret", AUTH_FIXED="1")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    wrong = _pytest(tmp_path, TEST_PW="not it", AUTH_FIXED="1")
    assert "now 401" in wrong.stdout and "login (POST /login) answered 401" in wrong.stdout


def test_a_missing_identity_fails_with_the_sentence_the_test_states(tmp_path: Path) -> None:
    paths = _write_all(tmp_path)
    result = _pytest(tmp_path, AUTH_FIXED="1")
    assert result.returncode == 1 and "5 failed" in result.stdout
    for path in paths:
        doc = path.read_text()
        start = doc.index("needs:") + len("needs:")
        sentence = " ".join(doc[start : doc.index("generated by:")].split())
        assert sentence.startswith("this test needs testing.identity.")
        assert sentence in " ".join(result.stdout.split()), (sentence, result.stdout)
    assert "401" not in result.stdout


def test_an_unset_env_reference_names_the_variable(tmp_path: Path) -> None:
    _write_all(tmp_path)
    (tmp_path / "amber.yaml").write_text(IDENTITY)
    env = {k: v for k, v in os.environ.items() if k != "TEST_PW"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        + ["--amber-app", "auth_app:create_app", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**env, "AUTH_FIXED": "1"},
        timeout=120,
    )
    assert "environment variable TEST_PW is not set" in result.stdout, result.stdout
    assert json.dumps("2 passed") not in result.stdout  # the API key ones need no TEST_PW


HASH_APP = """
import base64, os, sqlite3
from flask import Flask, request, jsonify
from werkzeug.security import check_password_hash

def create_app():
    app = Flask(__name__)

    @app.get("/account")
    def account():
        db = sqlite3.connect(os.environ["HASH_DB"].removeprefix("sqlite:///"))
        user, _, password = base64.b64decode(
            request.headers.get("Authorization", "x ").split(" ", 1)[1]
        ).decode().partition(":")
        row = db.execute("SELECT password_hash FROM users WHERE login = ?", (user,)).fetchone()
        if row is None or not check_password_hash(row[0], password):
            return "who?", 401
        if os.environ.get("HASH_FIXED") != "1":
            return "boom", 500
        return jsonify({"login": user})

    return app
"""

USERS = """version: 1
tables:
- name: users
  columns: [{name: id, type: integer, nullable: false}, {name: login, type: text},
            {name: password_hash, type: text}]
  primary_key: [id]
  rows:
  - {id: 1, login: alice, password_hash: "pbkdf2:sha256:600000$realsalt$deadbeef"}
"""


def test_the_fixtures_password_hash_lets_the_test_log_in(tmp_path: Path) -> None:
    """The anonymizer writes the test password's werkzeug hash, the app checks it with
    werkzeug, the generated test sends Basic credentials from the identity."""
    from amber._identity import TestIdentity
    from amber._pseudonym import Pseudonymizer
    from amber.fixtures import Anonymizer
    from amber.fixtures import AnonymizeRules
    from amber.fixtures import Fixture

    identity = TestIdentity.from_mapping({"user": "alice", "password": "${TEST_PW}"})
    fx = Fixture.loads(USERS)
    os.environ["TEST_PW"] = "pw s3cret"
    try:
        rules = AnonymizeRules(keep=frozenset({"users.login"}))
        Anonymizer(Pseudonymizer(b"k" * 32), rules, identity=identity).apply(fx)
    finally:
        del os.environ["TEST_PW"]
    assert fx.rows["users"][0]["password_hash"].startswith("pbkdf2:sha256:1000$")
    fx.write(tmp_path / "fixtures" / "account.yaml")
    (tmp_path / "hash_app.py").write_text(HASH_APP)
    (tmp_path / "amber.yaml").write_text(
        "testing:\n  identity:\n    user: alice\n    password: ${TEST_PW}\n"
    )
    ex = masked("GET", "/account", [("Authorization", "Basic [REDACTED:authorization]")])
    spec = GenSpec(ex, "gen", expect={}, fixture="fixtures/account.yaml", db_env="HASH_DB")
    write_test(spec, tmp_path)

    def run(**env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
            + ["--amber-app", "hash_app:create_app", str(tmp_path)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env={**os.environ, **env},
            timeout=120,
        )

    buggy = run(TEST_PW="pw s3cret")
    assert "captured 500, now 500" in buggy.stdout, buggy.stdout
    fixed = run(TEST_PW="pw s3cret", HASH_FIXED="1")
    assert fixed.returncode == 0, fixed.stdout
    wrong = run(TEST_PW="another", HASH_FIXED="1")
    assert "now 401" in wrong.stdout, wrong.stdout
