"""Render a list of (field, value) pairs as a body of each format the sanitizer reads.

The property test in `test_corpus.py` draws random pairs (ordinary fields with planted values
among them) and renders them here, so every format gets random bodies, not only the fixed
templates of `carriers`.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections.abc import Callable
from urllib.parse import urlencode

__all__ = ["FORMATS", "render"]

Pairs = list[tuple[str, str]]


def _tag(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "", key) or "field"


def _json(pairs: Pairs) -> bytes:
    return json.dumps({"items": [{k: v} for k, v in pairs], "count": len(pairs)}).encode()


def _ndjson(pairs: Pairs) -> bytes:
    return "".join(json.dumps({k: v, "seq": i}) + "\n" for i, (k, v) in enumerate(pairs)).encode()


def _sse(pairs: Pairs) -> bytes:
    return "".join(
        f"id: {i}\ndata: {json.dumps({k: v})}\n\n" for i, (k, v) in enumerate(pairs)
    ).encode()


def _multipart(pairs: Pairs) -> bytes:
    parts = [f'--b\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in pairs]
    return ("".join(parts) + "--b--\r\n").encode()


def _xml(pairs: Pairs) -> bytes:
    inner = "".join(f"<{_tag(k)}>{html.escape(v)}</{_tag(k)}>" for k, v in pairs)
    return f'<?xml version="1.0"?><root>{inner}</root>'.encode()


def _html(pairs: Pairs) -> bytes:
    inputs = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in pairs
    )
    return f"<html><body><form>{inputs}</form></body></html>".encode()


def _csv(pairs: Pairs) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([k for k, _ in pairs])
    w.writerow([v for _, v in pairs])
    return buf.getvalue().encode()


def _yaml(pairs: Pairs) -> bytes:
    return "".join(f"{json.dumps(k)}: {json.dumps(v)}\n" for k, v in pairs).encode()


def _env(pairs: Pairs) -> bytes:
    return "".join(f'{_tag(k).upper()}="{json.dumps(v)[1:-1]}"\n' for k, v in pairs).encode()


def _text(pairs: Pairs) -> bytes:
    return "".join(f"{v}\n" for _, v in pairs).encode()


FORMATS: dict[str, tuple[str, Callable[[Pairs], bytes]]] = {
    "json": ("application/json", _json),
    "ndjson": ("application/x-ndjson", _ndjson),
    "sse": ("text/event-stream", _sse),
    "form": ("application/x-www-form-urlencoded", lambda pairs: urlencode(pairs).encode()),
    "multipart": ("multipart/form-data; boundary=b", _multipart),
    "xml": ("text/xml", _xml),
    "html": ("text/html", _html),
    "csv": ("text/csv", _csv),
    "yaml": ("application/yaml", _yaml),
    "env": ("text/plain", _env),
    "text": ("text/plain", _text),
}
"""Format name -> (its Content-Type, its renderer)."""


def render(fmt: str, pairs: Pairs) -> tuple[bytes, str]:
    """The body of `pairs` in format `fmt`, and its Content-Type."""
    ctype, renderer = FORMATS[fmt]
    return renderer(pairs), ctype
