from __future__ import annotations

from amber._model import Redaction
from amber.sanitize import Sanitizer


def run(s: Sanitizer, body: bytes, ct: str | None) -> tuple[bytes, list[Redaction]]:
    out: list[Redaction] = []
    return s.bodies.sanitize(body, ct, "request.body", out), out


def test_ndjson(sanitizer: Sanitizer) -> None:
    body = b'{"password":"a1"}\n{"email":"x@corp.com"}\nnot json password=zz9\n'
    new, _ = run(sanitizer, body, "application/x-ndjson")
    assert b"a1" not in new and b"x@corp.com" not in new and b"zz9" not in new
    assert new.count(b"\n") == 3


def test_server_sent_events_data_lines_are_json(sanitizer: Sanitizer) -> None:
    body = (
        b'event: update\nid: 7\ndata: {"password": "hunter2", "n":  1}\n\n'
        b"data: plain text\ndata: {not json\n\n"
    )
    new, out = run(sanitizer, body, "text/event-stream")
    assert new == body.replace(b"hunter2", b"[REDACTED:sensitive-key]")
    assert [r.location for r in out] == ["request.body[2]$.password"]


def test_server_sent_event_split_over_data_lines(sanitizer: Sanitizer) -> None:
    body = (
        b'event: update\ndata: {\ndata:  "kind": "token",\r\ndata:  "api_key": "k3y-v4lue"\n'
        b"data: }\n\ndata: {\ndata: not json\n\n"
    )
    new, out = run(sanitizer, body, "text/event-stream")
    assert new == body.replace(b"k3y-v4lue", b"[REDACTED:sensitive-key]")
    assert [r.location for r in out] == ["request.body[1]$.api_key"]
    clean = b'data: {\ndata:  "kind": "ping"\ndata: }\n\n'
    assert run(sanitizer, clean, "text/event-stream") == (clean, [])
