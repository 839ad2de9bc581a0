"""Line-framed bodies: NDJSON, and server-sent events whose `data:` lines carry JSON.

Each line (or each document split over consecutive `data:` lines) is edited as a JSON body
by `BodySanitizer.json`, in place; every other line gets the text rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from amber._model import Redaction

if TYPE_CHECKING:
    from ._bodies import BodySanitizer

__all__ = ["events", "ndjson"]


def ndjson(bodies: BodySanitizer, body: bytes, location: str, out: list[Redaction]) -> bytes:
    """Each line of NDJSON edited as a JSON body; a line that is not JSON by the text rules."""
    lines = body.split(b"\n")
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        result = bodies.json(line, f"{location}[{i}]", out)
        lines[i] = result if result is not None else bodies.text(line, location, out)
    return b"\n".join(lines)


def events(bodies: BodySanitizer, body: bytes, location: str, out: list[Redaction]) -> bytes:
    """Server-sent events: a `data:` line holding JSON is edited like a JSON body, and
    so is a JSON document split over consecutive `data:` lines (the spec joins them
    with newlines); every other line gets the text rules."""
    lines = body.split(b"\n")
    skip = 0
    for i, line in enumerate(lines):
        if skip:
            skip -= 1
            continue
        if not line.strip():
            continue
        if line.startswith(b"data:") and i + 1 < len(lines):
            joined = _data_lines(bodies, lines, i, f"{location}[{i}]", out)
            if joined:
                skip = joined - 1
                continue
        result = None
        if line.startswith(b"data:"):
            payload = line[5:]
            lead = payload[: len(payload) - len(payload.lstrip())]
            if payload.lstrip()[:1] in (b"{", b"["):
                edited = bodies.json(payload.lstrip(), f"{location}[{i}]", out)
                result = None if edited is None else b"data:" + lead + edited
        lines[i] = result if result is not None else bodies.text(line, location, out)
    return b"\n".join(lines)


def _data_lines(
    bodies: BodySanitizer, lines: list[bytes], i: int, location: str, out: list[Redaction]
) -> int:
    """Edit the JSON document split over the `data:` lines from `i` in place; the number
    of lines it spans, or 0 when they are one line or do not hold one document."""
    j = i
    while j < len(lines) and lines[j].startswith(b"data:"):
        j += 1
    if j - i < 2:
        return 0
    joined = b"\n".join(ln[5:] for ln in lines[i:j])
    if joined.lstrip()[:1] not in (b"{", b"["):
        return 0
    edited = bodies.json(joined, location, out)
    if edited is None:
        return 0
    if edited is not joined:
        # replacements are inside strings, which hold no raw newline: same line count
        for k, payload in enumerate(edited.split(b"\n")):
            lines[i + k] = b"data:" + payload
    return j - i
