"""CSV and TSV bodies: the header row decides each column by the key rules."""

from __future__ import annotations

from amber._model import Redaction
from amber.sanitize import Sanitizer


def run(s: Sanitizer, body: str, ct: str = "text/csv") -> tuple[str, list[Redaction]]:
    out: list[Redaction] = []
    return s.bodies.sanitize(body.encode(), ct, "response.body", out).decode(), out


def test_a_sensitive_column_is_masked_in_every_row(sanitizer: Sanitizer) -> None:
    body = 'id,password,status\r\n1,hunter2,active\r\n2,"a,b""c",locked\r\n3,,active\r\n'
    new, out = run(sanitizer, body)
    assert new == (
        "id,password,status\r\n1,[REDACTED:sensitive-key],active\r\n"
        "2,[REDACTED:sensitive-key],locked\r\n3,,active\r\n"
    )
    assert [r.location for r in out] == ["response.body:text.password"] * 2


def test_a_quoted_cell_over_several_lines_is_one_cell(sanitizer: Sanitizer) -> None:
    body = 'id;api_key;note\n1;"line one\nline two";ok\n2;k2;"x\ny"\n'
    new, _ = run(sanitizer, body, "text/csv; charset=utf-8")
    assert new == (
        'id;api_key;note\n1;[REDACTED:sensitive-key];ok\n2;[REDACTED:sensitive-key];"x\ny"\n'
    )


def test_tsv_and_identity_columns(sanitizer: Sanitizer) -> None:
    new, out = run(sanitizer, "name\temail\nbob\tbob@corp.com\n", "text/tab-separated-values")
    assert "bob" not in new and new.startswith("name\temail\n")
    assert {r.rule for r in out} == {"name", "email"}


def test_ordinary_tables_are_byte_identical(sanitizer: Sanitizer) -> None:
    body = (
        "name,version,sha256,price\r\nmug,2.4.1.0," + "ab" * 32 + ',"1,299.00"\r\n'
        "Blue Widget,10.0.19045.3693," + "cd" * 32 + ",19.99\r\n"
    )
    assert run(sanitizer, body) == (body, [])
    assert run(sanitizer, "just one line, no header\n") == ("just one line, no header\n", [])


def test_a_one_column_table(sanitizer: Sanitizer) -> None:
    sig = "c94dd7a68bdcbb970ce25d08b0d75dc373d8c5bf44749ac38ad0be193fadd80f"
    new, out = run(sanitizer, f"X-Amz-Signature\n{sig}\n")
    assert new == "X-Amz-Signature\n[REDACTED:signed-url]\n" and len(out) == 1
    for body in ("code\nINVALID_ARGUMENT\nE1234\n", "this is a note, not a header row\nok\n"):
        assert run(sanitizer, body) == (body, [])
