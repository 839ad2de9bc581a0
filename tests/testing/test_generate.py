from __future__ import annotations

import ast
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from amber._model import Exchange
from amber._model import Request
from amber._model import Response
from amber._model import new_id
from amber.errors import UsageError
from amber.replay._noise import NoiseRules
from amber.testing._generate import MAX_EXPECT_DEPTH
from amber.testing._generate import MAX_JSON_DEPTH
from amber.testing._generate import GenSpec
from amber.testing._generate import command_line
from amber.testing._generate import json_depth
from amber.testing._generate import render_test
from amber.testing._generate import write_test

APP = Path(__file__).resolve().parent.parent / "replay" / "apps" / "tiny.py"


def exchange(path: str, status: int, body: bytes) -> Exchange:
    return Exchange(
        new_id(946681200.0),
        Request(
            "GET",
            "http",
            "api",
            80,
            path,
            headers=(
                ("Accept", "application/json"),
                ("Authorization", "Bearer [REDACTED:authorization]"),
                ("X-Request-ID", "req-42"),
            ),
            timestamp_start=946681200.0,
        ),
        Response(status, headers=(("Content-Type", "application/json"),), body=body),
        request_id="req-42",
        route="/users/{id}",
    )


def run_pytest(path: Path, *extra: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run generated tests as a user would: their own directory, the installed amber, and
    an amber.yaml declaring the bearer token the capture masked (unless there is one)."""
    shutil.copy(APP, path.parent / "tiny_app.py")
    config = path.parent / "amber.yaml"
    if not config.exists():
        config.write_text("testing:\n  identity:\n    bearer: test-token-1\n")
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(path),
            "--amber-app",
            "tiny_app:create_app",
            *extra,
        ],
        cwd=path.parent,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )


def test_generated_file_is_readable_python_with_a_docstring() -> None:
    ex = exchange("/users/2", 500, b"<h1>Internal Server Error</h1>")
    text = render_test(GenSpec(ex, "amber gen-test X --out t"), "test_get_users_id_x")
    tree = ast.parse(text)
    doc = ast.get_docstring(tree) or ""
    assert ex.id in doc and "req-42" in doc and "GET /users/{id}" in doc
    assert "amber gen-test X --out t" in doc and "1999-12-31T23:00:00+00:00" in doc
    assert "REDACTED" not in text  # masked credentials are not replayed
    assert "assert_fixed" in text and "assert_no_server_error" not in text
    assert "needs:        this test needs testing.identity.bearer in amber.yaml" in text


def test_captured_500_fails_until_fixed(tmp_path: Path) -> None:
    gen = write_test(GenSpec(exchange("/users/2", 500, b"oops"), "amber gen-test"), tmp_path)
    assert gen.snapshot is None
    broken = run_pytest(gen.path)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "should succeed (2xx or 3xx) once fixed: captured 500, now 500" in broken.stdout
    fixed = run_pytest(gen.path, TINY_FIXED="1")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr


def test_expected_status_and_body_are_asserted(tmp_path: Path) -> None:
    spec = GenSpec(
        exchange("/users/2", 500, b"oops"), "gen", expect_status=200, expect_json={"nope": True}
    )
    gen = write_test(spec, tmp_path)
    result = run_pytest(gen.path, TINY_FIXED="1")
    assert result.returncode == 1 and "nope" in result.stdout


def test_good_response_snapshot_with_noise_and_update(tmp_path: Path) -> None:
    ex = exchange("/users/1", 200, b'{"id": 1, "greeting": "Hello Ann", "served_at": 946681200.5}')
    noisy = NoiseRules.from_mapping({"ignore_paths": ["$.served_at"]})
    gen = write_test(GenSpec(ex, "gen", noise=noisy), tmp_path)
    assert gen.snapshot is not None and gen.snapshot.exists()
    ok = run_pytest(gen.path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    strict = write_test(GenSpec(ex, "gen"), tmp_path / "strict")
    diff = run_pytest(strict.path)
    assert diff.returncode == 1 and "$.served_at" in diff.stdout and "--amber-update" in diff.stdout
    update = run_pytest(strict.path, "--amber-update")
    assert update.returncode == 0
    assert strict.snapshot is not None and "946681200.5" not in strict.snapshot.read_text()


def test_missing_app_is_a_clear_failure(tmp_path: Path) -> None:
    gen = write_test(GenSpec(exchange("/users/2", 500, b"oops"), "gen"), tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(gen.path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1 and "--amber-app" in result.stdout


@pytest.mark.parametrize("status", [None])
def test_upstream_error_counts_as_failure(tmp_path: Path, status: None) -> None:
    ex = Exchange(
        new_id(),
        Request("GET", "http", "x", 80, "/users/2"),
        None,
        error="connection reset",
        route="/users/{id}",
    )
    text = render_test(GenSpec(ex, "gen"), "test_x")
    assert "connection reset" in " ".join(text.split()) and "assert_fixed(" in text


def test_the_command_line_in_the_docstring_hides_url_passwords() -> None:
    argv = ["amber", "gen-test", "01J", "--source-db", "postgresql://ro:p@ss@replica/app"]
    assert command_line(argv) == (
        "amber gen-test 01J --source-db 'postgresql://ro:***@replica/app'"
    )


def test_the_command_line_is_shell_quoted_and_relative(tmp_path: Path) -> None:
    """It pastes back into a shell: quoted words, absolute paths relative to the directory
    it ran in (which the docstring names from the test file), passwords hidden."""
    argv = [
        "amber",
        "gen-test",
        "01J",
        "--out",
        str(tmp_path / "tests dir"),
        f"--store=sqlite:///{tmp_path / 'a.db'}",
        "--expect-json",
        '{"name": "O\'Brien"}',
        "--source-db",
        "postgresql://ro:pw@replica/app",
    ]
    line = command_line(argv, cwd=str(tmp_path))
    assert str(tmp_path) not in line
    assert shlex.split(line) == [
        "amber",
        "gen-test",
        "01J",
        "--out",
        "tests dir",
        "--store=sqlite:///a.db",
        "--expect-json",
        '{"name": "O\'Brien"}',
        "--source-db",
        "postgresql://ro:***@replica/app",
    ]


NASTY = [
    "",
    "plain",
    "it's",
    'say "hi"',
    "both ' and \"",
    "back\\slash\\",
    "tab\tnew\nline\x00nul\u2028sep",
    "caf\u00e9 \u20ac",
    '"""triple"""',
    "x" * 300,
    " ".join(["word"] * 60),
]


def nasty_exchange(i: int, status: int) -> Exchange:
    text = NASTY[i % len(NASTY)]
    return Exchange(
        new_id(946681200.0 + i),
        Request(
            "POST",
            "http",
            "api",
            80,
            "/items/" + "very-long-segment/" * (i % 6) + str(i),
            query="q=" + text.replace("\x00", ""),
            headers=(("Accept", "application/json"), ("X-Note", text.replace("\n", " "))),
            body=text.encode("utf-8", "surrogatepass"),
            timestamp_start=946681200.0 + i,
        ),
        Response(status, headers=(("Content-Type", "application/json"),), body=b'{"a": 1}'),
        request_id=text[:40] or None,
        route="/items/" + "very-long-segment/" * (i % 6) + "{id}",
    )


def test_generated_files_are_ruff_clean_and_carry_no_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ruff format --check` and `ruff check` with ruff's defaults (the application's
    likely configuration), plus pycodestyle's E/W and isort at 88 columns, on tests of
    requests with quotes, escapes, long values and deep expectations."""
    monkeypatch.chdir(tmp_path)  # where `amber gen-test` runs
    out = tmp_path / "tests" / "regressions"
    command = command_line(
        ["amber", "gen-test", "X", "--out", str(out), "--store", str(tmp_path / "a.db")]
    )
    for i in range(2 * len(NASTY)):
        expect: object = None
        if i % 3 == 1:
            # (an object key is one string token: one longer than a line stays longer)
            key = NASTY[i % len(NASTY)][:60] or "k"
            expect = {key: [NASTY[(i + 1) % len(NASTY)], 1, 2.5, None]}
        elif i % 3 == 2:
            expect = [True, False, None, {"deep": [[["x" * 100]]]}]
        if i % 4 == 3:
            expect = True
        spec = GenSpec(
            nasty_exchange(i, 200 if i % 2 else 500),
            command,
            app="shop.app:create_app",
            base_url="http://user:secret@example.test:8000/" if i % 5 == 0 else None,
            fixture=f"fixtures/test_{i}.yaml" if i % 2 == 0 else None,
            db_env="SHOP_DATABASE_URL",
            expect_status=201 if i % 2 == 0 else None,
            expect_json=expect if i % 2 == 0 else None,
            noise=NoiseRules(ignore_paths={"$.updated_at"}),
        )
        write_test(spec, out)
    files = sorted(out.glob("*.py"))
    assert len(files) == 2 * len(NASTY)
    ruff = Path(sys.executable).parent / "ruff"
    for args in (
        ["format", "--isolated", "--check"],
        ["check", "--isolated"],
        ["check", "--isolated", "--select", "E,W,F,I", "--line-length", "88"],
    ):
        done = subprocess.run(
            [str(ruff), *args, str(out)], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, (args, done.stdout, done.stderr)
    for f in files:
        text = f.read_text()
        assert str(tmp_path) not in text
        assert "secret" not in text
        compile(text, str(f), "exec")
        doc = ast.get_docstring(ast.parse(text)) or ""
        assert "run it from:  ../.. (relative to this file)" in doc
        # the command pastes back: backslash-continued lines, words as given
        shown = doc.split("generated by: ", 1)[1].split("\nrun it from:")[0]
        assert shlex.split(shown.replace("\\\n", " ")) == shlex.split(command)


def nested(depth: int, leaf: bytes = b"1") -> bytes:
    return b"[" * depth + leaf + b"]" * depth


DEEP_APP = """
def app(environ, start_response):
    depth = int(environ["PATH_INFO"].rsplit("/", 1)[1])
    leaf = b"2" if environ["PATH_INFO"].startswith("/changed/") else b"1"
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b"[" * depth + leaf + b"]" * depth]
"""


def test_a_response_as_deep_as_the_limit_is_compared_faithfully(tmp_path: Path) -> None:
    """At `MAX_JSON_DEPTH` the generated snapshot test runs under pytest: it passes on the
    recorded body and fails, on an assertion naming the path, on a changed one (at 970
    levels it failed on `RecursionError` either way)."""
    (tmp_path / "deep_app.py").write_text(DEEP_APP)
    (tmp_path / "amber.yaml").write_text("testing:\n  identity:\n    bearer: test-token-1\n")
    for path in (f"/same/{MAX_JSON_DEPTH}", f"/changed/{MAX_JSON_DEPTH}"):
        gen = write_test(GenSpec(exchange(path, 200, nested(MAX_JSON_DEPTH)), "gen"), tmp_path)
        assert gen.snapshot is not None
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(tmp_path),
            "--amber-app",
            "deep_app:app",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "1 failed, 1 passed" in result.stdout, result.stdout
    assert "RecursionError" not in result.stdout and "body differs at 1 path" in result.stdout


def test_a_test_that_could_not_be_faithful_is_refused_before_writing(tmp_path: Path) -> None:
    too_deep = exchange("/deep", 200, nested(MAX_JSON_DEPTH + 1))
    with pytest.raises(
        UsageError, match=f"nests JSON {MAX_JSON_DEPTH + 1} levels deep.*--expect-status 200"
    ):
        GenSpec(too_deep, "gen")
    status_only = write_test(GenSpec(too_deep, "gen", expect_status=200), tmp_path)
    assert status_only.snapshot is None and "status=200," in status_only.path.read_text()
    server_error = exchange("/deep", 500, nested(5000))  # a bug test reads no body
    assert GenSpec(server_error, "gen").snapshot is False
    with pytest.raises(UsageError, match=f"nests {MAX_EXPECT_DEPTH + 1} levels deep"):
        GenSpec(server_error, "gen", expect_json=json.loads(nested(MAX_EXPECT_DEPTH + 1)))
    deepest = GenSpec(server_error, "gen", expect_json=json.loads(nested(MAX_EXPECT_DEPTH)))
    compile(render_test(deepest, "test_x"), "test_x.py", "exec")  # Python's parser takes it


@pytest.mark.parametrize(
    ("body", "depth"),
    [
        (b'{"a": [1, {"b": []}]}', 4),
        (b'  [[["]]]]]]", "\\"[[[["]]]', 3),  # brackets inside strings, escaped quotes
        (b"<html>[[[[</html>", 0),  # not JSON: nothing a JSON parser would descend into
        (b"[" * 5000, 5000),  # cut short: a parser recurses as deep before it fails
        (b"", 0),
    ],
)
def test_json_depth_counts_what_a_parser_descends_into(body: bytes, depth: int) -> None:
    assert json_depth(body) == depth


def test_a_wrong_path_prefix_fails_the_test_from_a_500(tmp_path: Path) -> None:
    """`assert_fixed`: the fixed build's 404 (the test's path misses the app's prefix) is
    no fix; under the old `< 500` it passed."""
    ex = exchange("/v1/users/2", 500, b"oops")
    gen = write_test(GenSpec(ex, "gen", expect={}), tmp_path)
    result = run_pytest(gen.path, TINY_FIXED="1")
    assert result.returncode == 1 and "captured 500, now 404" in result.stdout, result.stdout


def test_testing_expect_in_amber_yaml_is_what_the_test_asserts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "amber.yaml").write_text(
        "testing:\n"
        "  identity: {bearer: test-token-1}\n"
        "  expect:\n"
        "    - route: POST /users/{id}\n"
        "      status: 201\n"
        "    - route: GET /users/{id}\n"
        "      status: 200\n"
        "      json: {greeting: Hello there}\n"
        "      contains: greeting\n"
        "      not_contains: [None, Traceback]\n"
    )
    monkeypatch.chdir(tmp_path)
    gen = write_test(GenSpec(exchange("/users/2", 500, b"oops"), "gen"), tmp_path)
    text = gen.path.read_text()
    assert 'json={"greeting": "Hello there"}' in text and "status=200," in text
    assert run_pytest(gen.path, TINY_FIXED="1").returncode == 0
    (tmp_path / "amber.yaml").write_text(
        "testing:\n  identity: {bearer: t}\n  expect:\n"
        "    - {route: '/users/{id}', json: {greeting: Hello Ann}}\n"
    )
    wrong = write_test(GenSpec(exchange("/users/2", 500, b"oops"), "gen"), tmp_path / "w")
    result = run_pytest(wrong.path, TINY_FIXED="1")
    assert result.returncode == 1 and "JSON fields differ" in result.stdout, result.stdout
    # a captured good response with an expectation is a bug report, not a snapshot
    assert write_test(GenSpec(exchange("/users/2", 200, b"{}"), "gen"), tmp_path).snapshot is None
    (tmp_path / "amber.yaml").write_text("testing:\n  expect:\n    - {route: /x, rows: -1}\n")
    from amber.errors import ConfigError

    with pytest.raises(ConfigError, match=r"testing.expect\[0\].rows"):
        GenSpec(exchange("/users/2", 500, b"oops"), "gen")


def test_testgen_auth_still_works_with_a_deprecation_warning(tmp_path: Path) -> None:
    (tmp_path / "amber.yaml").write_text(
        "testgen:\n  auth:\n    headers: {Authorization: Bearer legacy}\n"
    )
    gen = write_test(GenSpec(exchange("/users/2", 500, b"oops"), "gen", expect={}), tmp_path)
    result = run_pytest(gen.path, TINY_FIXED="1")
    assert result.returncode == 0, result.stdout
    assert "testgen.auth is deprecated" in result.stdout


def test_config_defaults_read_a_given_config(tmp_path: Path) -> None:
    from amber._config import load_config
    from amber.testing import config_defaults

    path = tmp_path / "other.yaml"
    path.write_text(
        "testing:\n  identity: {fields: {pin: password}}\n"
        "  expect: [{route: 'GET /users/{id}', status: 204}]\n"
    )
    ex = exchange("/users/2", 500, b"oops")
    found = config_defaults(load_config(path), ex)
    assert found == {"expect": {"status": 204}, "identity_fields": {"pin": "password"}}
    text = render_test(GenSpec(ex, "gen", **found), "test_x")
    assert "status=204," in text
