from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from amber._har import write_har
from amber._model import Exchange
from amber._model import Request
from amber._model import Response
from amber._pseudonym import Pseudonymizer
from amber._scan_artifacts import FOREIGN_MARKER
from amber._scan_artifacts import ArtifactScanner
from amber._scan_artifacts import looks_amber_pseudonym
from amber.sanitize import SanitizeConfig
from amber.sanitize import Sanitizer

TOKEN = "tk_" + "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
KEY = b"scan-test-key-0123456789abcdef"


def exchange(body: dict[str, object], headers: tuple[tuple[str, str], ...] = ()) -> Exchange:
    return Exchange(
        "ex1",
        Request("GET", "https", "api.corp.io", 443, "/me", query="page=2", headers=headers),
        Response(
            200, headers=(("content-type", "application/json"),), body=json.dumps(body).encode()
        ),
    )


@pytest.mark.parametrize(
    "kind",
    ["name", "first_name", "last_name", "username", "address", "text", "email", "phone", "ip"],
)
def test_amber_s_own_pseudonyms_look_like_amber_s(kind: str) -> None:
    p = Pseudonymizer(KEY)
    for value in ("Jane Q. Public", "x9@corp.io", "+44 20 7946 0991", "81.2.69.160", "a b c d"):
        assert looks_amber_pseudonym(kind, p.pseudonym(kind, value)), (kind, value)


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("name", "Zyxw Qwerty"),
        ("username", "jdoe!"),
        ("address", "12 High St, London"),
        ("email", "jane@corp.io"),
        ("phone", "+44 20 7946 0991"),
        ("ip", "81.2.69.160"),
        ("text", "quarterly numbers confidential"),
    ],
)
def test_real_values_do_not(kind: str, value: str) -> None:
    assert not looks_amber_pseudonym(kind, value)


@pytest.mark.parametrize(
    "text",
    [
        "[REDACTED]",
        "<redacted>",
        "***",
        "xxxx",
        "XXXXXXXX",
        "[FILTERED]",
        "********",
        "<hidden>",
        "REDACTED",
    ],
)
def test_other_tools_markers(text: str) -> None:
    assert FOREIGN_MARKER.fullmatch(text)


@pytest.mark.parametrize(
    "text", ["[REDACTED:sensitive-key]", "boxxxxes", "a*b", "tax", "REDACTEDNESS"]
)
def test_not_other_tools_markers(text: str) -> None:
    assert FOREIGN_MARKER.fullmatch(text) is None
    assert ArtifactScanner().neutral(text) == text


def test_an_exchange_sanitized_once_is_clean_and_its_raw_form_is_not() -> None:
    raw = exchange(
        {
            "user": {"name": "Jane Roe", "email": "jane@corp.io", "password": "hunter2hunter2"},
            "sku": "A-1",
        },
        headers=(("X-Api-Key", TOKEN), ("Accept", "*/*")),
    )
    clean = Sanitizer(SanitizeConfig(), Pseudonymizer(KEY)).sanitize(raw)
    scanner = ArtifactScanner()
    assert list(scanner.exchange(clean, "w")) == []
    hits = {(h.rule, h.location) for h in scanner.exchange(raw, "w")}
    assert hits == {
        ("sensitive-header", "request.headers.x-api-key"),
        ("name", "response.body$.user.name"),
        ("email", "response.body$.user.email"),
        ("sensitive-key", "response.body$.user.password"),
    }


def test_other_tools_markers_and_known_values_are_not_findings() -> None:
    ex = exchange(
        {
            "password": "***",
            "token": "[REDACTED]",
            "api_key": "<hidden>",
            "password_hash": "$2b$12$knownknownknown",
        },
        headers=(("Authorization", "Bearer [FILTERED]"), ("X-Api-Key", "xxxx")),
    )
    assert list(ArtifactScanner(known=["$2b$12$knownknownknown"]).exchange(ex, "w")) == []
    assert [h.location for h in ArtifactScanner().exchange(ex, "w")] == [
        "response.body$.password_hash"
    ]


def test_rules_filter_and_locations_never_carry_a_value() -> None:
    ex = exchange({"jane@corp.io": {"secret": TOKEN}})
    hits = list(ArtifactScanner().exchange(ex, "w"))
    assert hits and all("jane@corp.io" not in h.location and TOKEN not in h.location for h in hits)
    only = list(ArtifactScanner(rules=["email"]).exchange(ex, "w"))
    assert {h.rule for h in only} <= {"email"}


def test_text_positions_skip_other_tools_markers() -> None:
    data = f"a: 1\npassword: ***\nkey {'ghp_' + 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8'}\n".encode()
    hits = list(ArtifactScanner().text(data, "f"))
    assert [h.where for h in hits] == ["f:3:5"]


def test_an_exchange_the_sanitizer_cannot_handle_is_a_finding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from amber.errors import SanitizeError

    scanner = ArtifactScanner()

    def boom(ex: Exchange) -> Exchange:
        raise SanitizeError("exchange ex1 could not be sanitized (ValueError); it was dropped")

    monkeypatch.setattr(scanner.sanitizer, "sanitize", boom)
    hits = list(scanner.exchange(exchange({"a": 1}), "w"))
    assert [(h.rule, h.location) for h in hits] == [("unsanitizable", "exchange")]


def test_a_marker_beside_a_scheme_is_clean_beside_a_secret_prefix_is_not() -> None:
    scanner = ArtifactScanner()
    assert list(scanner.json_value({"authorization": "Bearer [REDACTED:x]"}, "w", "")) == []
    hits = list(scanner.json_value({"token": "a1b2c3d4e5 [REDACTED:x]"}, "w", ""))
    assert [h.location for h in hits] == [".token"]


def test_amber_s_har_is_streamed_an_entry_at_a_time(tmp_path: Path) -> None:
    raw = exchange({"password": "hunter2hunter2"}, headers=(("X-Api-Key", TOKEN),))
    clean = Sanitizer(SanitizeConfig(), Pseudonymizer(KEY)).sanitize(raw)
    buf = io.BytesIO()
    write_har([clean, raw, clean], buf, creator_version="t")
    lines = buf.getvalue().splitlines(keepends=True)
    # the file is cut inside its last entry: not JSON as a whole, yet each line before is
    damaged = b"".join(lines[:-2]) + lines[-2][:40] + b"\n"
    path = tmp_path / "cut.har"
    path.write_bytes(damaged)
    hits = [(h.where.rpartition(" ")[2], h.rule, h.location) for h in ArtifactScanner().har(path)]
    assert ("1", "sensitive-header", "request.headers.x-api-key") in hits
    assert ("1", "sensitive-key", "response.body$.password") in hits
    assert ("2", "unreadable-entry", "entry") in hits
    assert not [h for h in hits if h[0] == "0"]


def test_an_entry_that_is_not_an_object_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "odd.har"
    path.write_text(json.dumps({"log": {"version": "1.2", "entries": ["oops"]}}))
    assert [(h.rule, h.location) for h in ArtifactScanner().har(path)] == [
        ("unreadable-entry", "entry")
    ]


def test_the_test_identity_and_its_password_hash_are_not_findings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from amber._config import load_config
    from amber._identity import HashScheme
    from amber._scan_artifacts import declared_known

    cfg = tmp_path / "amber.yaml"
    cfg.write_text(
        "testing:\n  identity:\n    password: ${PW}\n    api_key: sk_live_9f8e7d6c5b4a3928\n"
        "    hash: django\n"
    )
    monkeypatch.setenv("PW", "pw-test-1")
    hashed = HashScheme("django").hash("pw-test-1")
    ex = exchange({"password_hash": hashed}, headers=(("X-Api-Key", "sk_live_9f8e7d6c5b4a3928"),))
    assert [h.location for h in ArtifactScanner().exchange(ex, "w")] == [
        "request.headers.x-api-key",
        "response.body$.password_hash",
    ]
    known = declared_known(load_config(cfg))
    assert hashed in known and "pw-test-1" in known
    assert list(ArtifactScanner(known=known).exchange(ex, "w")) == []
    # another hash in the same column is still a finding
    other = exchange({"password_hash": HashScheme("django").hash("someone-else")})
    assert list(ArtifactScanner(known=known).exchange(other, "w"))


def test_a_fixture_table_named_like_a_secret_does_not_make_its_cells_findings(
    tmp_path: Path,
) -> None:
    """Django's `auth_user` holds the marker `auth`: its rows are still checked cell by
    cell (an unmasked e-mail is a finding, an id, a boolean or a date is not)."""
    for table in ("auth_user", "users"):
        path = tmp_path / f"{table}.yaml"
        path.write_text(
            f"""version: 1
meta: {{source: 'postgresql://db/app', route: GET /admin/auth/user/}}
notes: []
tables:
- name: {table}
  columns:
  - {{name: id, type: integer, nullable: false}}
  - {{name: is_staff, type: boolean, nullable: false}}
  - {{name: date_joined, type: datetime_tz, nullable: false}}
  - {{name: email, type: text, nullable: false}}
  primary_key: [id]
  foreign_keys: []
  rows:
  - {{"id":1,"is_staff":true,"date_joined":"2021-03-05T03:00:00+00:00","email":"x"}}
  - {{"id":2,"is_staff":false,"date_joined":"2021-03-05T03:00:00+00:00","email":"jane.doe@corp.io"}}
"""
        )
        hits = list(ArtifactScanner().fixture(path))
        # the e-mail column only (both rows: neither value is amber's pseudonym)
        assert {(h.rule, h.location) for h in hits} == {("email", f"table {table} column email")}
        assert len(hits) == 2, table


def test_columns_declared_kept_are_not_findings_in_fixtures(tmp_path: Path) -> None:
    """`fixtures.keep` (and an `anonymize` entry of kind `keep`): the user declared the
    column holds nothing to hide (the login name a test identity needs); its cells are
    kept raw by amber fixtures, so scanning them again is no finding. Other columns of the
    table, and the same column of another table, still are."""
    from amber._config import load_config
    from amber._scan_artifacts import declared_kept

    cfg = tmp_path / "amber.yaml"
    cfg.write_text(
        "version: 1\nfixtures:\n  keep: [auth_user.username]\n"
        "  anonymize: {auth_user.notes: keep}\n"
    )
    kept = declared_kept(load_config(cfg))
    assert sorted(kept) == ["auth_user.notes", "auth_user.username"]
    path = tmp_path / "f.yaml"
    path.write_text(
        """version: 1
meta: {source: 'postgresql://db/app', route: GET /admin/auth/user/}
notes: []
tables:
- name: auth_user
  columns:
  - {name: id, type: integer, nullable: false}
  - {name: username, type: text, nullable: false}
  - {name: notes, type: json, nullable: true}
  - {name: email, type: text, nullable: false}
  primary_key: [id]
  foreign_keys: []
  rows:
  - {"id":1,"username":"kim.lee","notes":{"mail":"kim@corp.io"},"email":"jane.doe@corp.io"}
"""
    )
    everything = {h.location for h in ArtifactScanner().fixture(path)}
    assert "table auth_user column username" in everything
    assert any(loc.startswith("table auth_user column notes") for loc in everything)
    hits = {h.location for h in ArtifactScanner(kept=kept).fixture(path)}
    assert hits == {"table auth_user column email"}
