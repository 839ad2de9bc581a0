"""Config text (YAML, INI, `.env`, shell exports): values by their keys, edited in place."""

from __future__ import annotations

import pytest
import yaml

from amber._model import Redaction
from amber.sanitize import Sanitizer
from amber.sanitize._text import config_like

M = "[REDACTED:sensitive-key]"
PEM = (
    "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n"
    "-----END PRIVATE KEY-----"
)


def run(s: Sanitizer, body: str, ct: str = "text/plain") -> tuple[str, list[Redaction]]:
    out: list[Redaction] = []
    return s.bodies.sanitize(body.encode(), ct, "response.body", out).decode(), out


def test_env_and_shell_exports(sanitizer: Sanitizer) -> None:
    body = (
        "# deploy settings\nAPP_ENV=production\nDB_PASS=hunter2zq\n"
        'export API_TOKEN="tok en"  # quoted, kept comment\n'
        "export X_AMZ_SIGNATURE='" + "ab12" * 16 + "'\nLOG_LEVEL=info\n"
    )
    new, out = run(sanitizer, body)
    assert new == (
        "# deploy settings\nAPP_ENV=production\nDB_PASS=" + M + "\n"
        'export API_TOKEN="' + M + '"  # quoted, kept comment\n'
        "export X_AMZ_SIGNATURE='[REDACTED:signed-url]'\nLOG_LEVEL=info\n"
    )
    assert [r.location for r in out] == [
        "response.body:text.DB_PASS",
        "response.body:text.API_TOKEN",
        "response.body:text.X_AMZ_SIGNATURE",
    ]


def test_ini_sections(sanitizer: Sanitizer) -> None:
    body = "[database]\nhost = db.internal\npassword = s3cr3t-Pa55\nport = 5432\n"
    new, _ = run(sanitizer, body, "text/x-ini")
    assert new == body.replace("s3cr3t-Pa55", M)


def test_yaml_scalars_and_block_scalar(sanitizer: Sanitizer) -> None:
    block = "\n".join("    " + line for line in PEM.split("\n"))
    body = (
        "service:\n  name: billing   # the service's name, not a person's\n  replicas: 3\n"
        '  db_password: "p@ss w0rd"\n  api_key: abc123def456 # rotated monthly\n'
        f"  private_key: |\n{block}\n  region: eu-west-1\n"
    )
    new, out = run(sanitizer, body, "application/yaml")
    assert new == (
        "service:\n  name: billing   # the service's name, not a person's\n  replicas: 3\n"
        f'  db_password: "{M}"\n  api_key: "{M}" # rotated monthly\n'
        f"  private_key: |\n    {M}\n  region: eu-west-1\n"
    )
    assert "MIIE" not in new
    assert yaml.safe_load(new)["service"]["api_key"] == M  # still valid YAML, a string
    assert len(out) == 3


def test_yaml_mapping_and_list_under_a_sensitive_key(sanitizer: Sanitizer) -> None:
    body = (
        "secrets:\n  stripe: sk_live_abc\n  github: ghx_123\n  list:\n  - one1\n"
        "recovery_codes:\n- aaaa-bbbb\n- cccc-dddd\nplan: pro\n"
    )
    new, _ = run(sanitizer, body, "text/yaml")
    for secret in ("sk_live_abc", "ghx_123", "one1", "aaaa-bbbb", "cccc-dddd"):
        assert secret not in new
    assert new.endswith("plan: pro\n") and new.startswith("secrets:\n  stripe: ")


def test_yaml_signed_url_cookie_and_code_keys(sanitizer: Sanitizer) -> None:
    body = (
        "download:\n  X-Amz-Signature: 'f00d'\n  code: Xk9fQ2mLp7RtYw3\n  __Host-sess: qwerty\n"
        "errors:\n  - code: INVALID_ARGUMENT\n"
    )
    new, _ = run(sanitizer, body, "application/x-yaml")
    assert new == (
        "download:\n  X-Amz-Signature: '[REDACTED:signed-url]'\n"
        '  code: "[REDACTED:signed-url]"\n  __Host-sess: "[REDACTED:cookie]"\n'
        "errors:\n  - code: INVALID_ARGUMENT\n"
    )


def test_ordinary_config_is_byte_identical(sanitizer: Sanitizer) -> None:
    bodies = [
        (
            "version: 2.4.1.0\nname: amber-core\nreplicas: 3\ntimeout: PT30M\n"
            "requires: '>=1.2.3,<2'\ntoken_expires_at: 1710428966\nsession_count: 4\n",
            "application/yaml",
        ),
        ("APP_ENV=production\nMAX_TOKENS=4096\nREGION=eu-west-1\nBUILD=10.0.19.41\n", ""),
        ("[server]\nport = 8080\nhost = 0.0.0.0\n[cache]\nkey_prefix = amber\n", "text/plain"),
        ("name: mug\nprice: 19.99\nsku: SKU-4821-XL\n", "text/plain"),
    ]
    for body, ct in bodies:
        new, out = run(sanitizer, body, ct)
        assert (new, out) == (body, []), body


def test_code_is_not_config(sanitizer: Sanitizer) -> None:
    """JavaScript keeps its expressions: issue 16 item 3 (the value rules still run)."""
    body = (
        "const config = {\n  token: sessionStorage.getItem('auth'),\n"
        "  password: document.getElementById('pw').value,\n};\n"
    )
    for ct in ("application/javascript", "text/plain"):
        new, out = run(sanitizer, body, ct)
        assert (new, out) == (body, [])


@pytest.mark.parametrize(
    ("body", "ct", "expected"),
    [
        (b"A=1\nB=2\n", "text/plain", True),
        (b"a: 1\nb:\n  c: 2\n", "", True),
        (b"x", "application/yaml; charset=utf-8", True),
        (b"x", "text/x-sh", True),
        (b"A=1\nB=2\n", "text/html", False),
        (b"Imported record 118 from the legacy system:\n\tvalue\nchecked by ops\n", "", False),
        (b"trace: request ok\nref_abc end\n", "text/plain", False),
        (b"Hello,\nyour order: 42 shipped.\nThanks\nThe shop\n", "text/plain", False),
        (b"only: one\n", "text/plain", False),
    ],
)
def test_config_like(body: bytes, ct: str, expected: bool) -> None:
    assert config_like(body, ct) is expected


def test_prose_gets_only_the_value_rules(sanitizer: Sanitizer) -> None:
    body = "Dear customer,\nyour code: Xk9fQ2mLp7RtYw3 is below.\nRegards\n"
    new, _ = run(sanitizer, body)
    assert new == body  # not config-shaped: `code` means nothing here


def test_crlf_and_cut_documents(sanitizer: Sanitizer) -> None:
    body = 'DB_PASS=hunter2zq\r\nAPP_ENV=prod\r\nexport SECRET="unterminated'
    new, _ = run(sanitizer, body)
    assert new == f'DB_PASS={M}\r\nAPP_ENV=prod\r\nexport SECRET="{M}'


def test_settings_code_keeps_its_expressions(sanitizer: Sanitizer) -> None:
    body = (
        'DEBUG = False\nSECRET_KEY = os.environ["SECRET_KEY"]\nDB_PASSWORD = get_password()\n'
        'API_TOKEN = "f00dfeed1234abcd"\n'
    )
    new, out = run(sanitizer, body)
    assert new == body.replace("f00dfeed1234abcd", M)
    assert [r.location for r in out] == ["response.body:text.API_TOKEN"]


def test_anchors_comments_and_quoted_keys(sanitizer: Sanitizer) -> None:
    body = (
        "# password: not-a-value\n"
        '"client_secret": "abc"\n'
        "db:\n  password: &pw s3cr3t # shared\n  replica_password: *pw\n"
    )
    new, _ = run(sanitizer, body, "text/yaml")
    # a commented-out password is still one: the value rules mask it
    assert new.startswith("# password: [REDACTED:") and "not-a-value" not in new
    assert new.split("\n", 1)[1] == (
        f'"client_secret": "{M}"\ndb:\n  password: "{M}" # shared\n  replica_password: "{M}"\n'
    )


@pytest.mark.parametrize("key", ['"payload"', "payload", "PAYLOAD="])
def test_a_json_document_in_a_double_quoted_value_is_walked_inside_its_escapes(
    sanitizer: Sanitizer, key: str
) -> None:
    # found by the property test: escaped JSON under a neutral key kept a signed-URL value
    sig = "a5f1de30c96636c1b185b37fcb5fef1ba521656c808b2c34062d12152302049af5274ca2"
    sep = "" if key.endswith("=") else ": "
    line = f'{key}{sep}"{{\\"X-Goog-Signature\\": \\"{sig}\\", \\"note\\": \\"a \\\\\\\\ b\\"}}"\n'
    out = run(sanitizer, line, "application/yaml")[0]
    assert sig not in out
    # only the value changed, its other escapes byte for byte
    assert out == line.replace(sig, "[REDACTED:signed-url]")
    # an ordinary JSON value (nothing to redact) stays byte for byte
    plain = f'{key}{sep}"{{\\"sku\\": \\"MUG-1\\", \\"n\\": 2}}"\n'
    assert run(sanitizer, plain, "application/yaml")[0] == plain


@pytest.mark.parametrize(
    ("doc", "person"),
    [
        # a sibling key says the mapping is a person, in a list item or not
        ("users:\n  - name: Ingrid Halvorsen\n    email: ih@fjord.test\n", True),
        ("- id: 3\n  email: ih@fjord.test\n  name: Ingrid Halvorsen\n", True),
        ("name: Ingrid Halvorsen\nphone: +47 912 34 567\n", True),
        # the key it is under says so (indented list items, or not indented)
        ("users:\n- id: 3\n  name: Ingrid Halvorsen\n", True),
        ("customer:\n  tier: gold\n  name: Ingrid Halvorsen\n", True),
        ("product:\n  owner:\n    name: Ingrid Halvorsen\n  sku: M-1\n", True),
        # a service's, a workload's, an organization's: kept byte for byte
        ("services:\n  - name: Ingrid Halvorsen\n    image: api:1.2\n", False),
        ("metadata:\n  name: Ingrid Halvorsen\n  namespace: prod\n", False),
        ("author:\n  name: Rust Project\n", False),
        # a sibling item's email is not this item's
        ("- name: Ingrid Halvorsen\n- email: ih@fjord.test\n", False),
        # nor is a nested mapping's
        ("name: Ingrid Halvorsen\ncontact:\n  email: ih@fjord.test\n", False),
    ],
)
def test_yaml_name_is_a_person_by_its_mapping(sanitizer: Sanitizer, doc: str, person: bool) -> None:
    out, reds = run(sanitizer, doc, "application/yaml")
    name_lines = [n for n, ln in enumerate(doc.splitlines()) if ln.lstrip(" -").startswith("name:")]
    changed = [
        n for n, (a, b) in enumerate(zip(doc.splitlines(), out.splitlines(), strict=True)) if a != b
    ]
    if person:
        assert "Ingrid Halvorsen" not in out
        assert "name" in [r.rule for r in reds]
        assert set(name_lines) <= set(changed)
    else:
        assert not set(name_lines) & set(changed)
        assert "name" not in [r.rule for r in reds]
    assert type(yaml.safe_load(out)) is type(yaml.safe_load(doc))


def test_yaml_name_value_pairs_go_by_the_name(sanitizer: Sanitizer) -> None:
    """Kubernetes' `env:` list: each `value:` by the `name:` beside it, in either order."""
    doc = (
        "env:\n"
        "  - name: DB_PASSWORD\n"
        "    value: Zq81kLmQ0pRt7YvB\n"
        "  - value: 'Wx81kLmQ0pRt7YvC'\n"
        "    name: API_TOKEN\n"
        "  - name: LOG_LEVEL\n"
        "    value: debug\n"
    )
    out, reds = run(sanitizer, doc, "application/yaml")
    assert out == (
        doc.replace("Zq81kLmQ0pRt7YvB", '"[REDACTED:sensitive-key]"').replace(
            "Wx81kLmQ0pRt7YvC", "[REDACTED:sensitive-key]"
        )
    )
    assert [r.location for r in reds] == ["response.body:text.value"] * 2
