"""The snapshot format: a recorded response as reviewable JSON next to its test.

```json
{
  "body": {"json": {"id": 7, "name": "Ada"}},
  "headers": {"content-type": "application/json"},
  "status": 200,
  "version": 1
}
```

`body` holds exactly one of `json` (parsed), `text` (UTF-8) or `base64` (anything else).
Files written before the format carried a `version` are version 1. A file of a newer
version than this amber knows is refused with a message to upgrade, never misread.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

import orjson

if TYPE_CHECKING:
    import httpx

    from amber._model import Response

__all__ = [
    "SNAPSHOT_VERSION",
    "UPDATE_ENV",
    "dumps_snapshot",
    "make_snapshot",
    "load_snapshot",
    "snapshot_body",
    "snapshot_from_response",
    "snapshot_model",
    "write_snapshot",
]

SNAPSHOT_VERSION = 1
"""The version `amber` writes, and the newest it reads."""

UPDATE_ENV = "AMBER_UPDATE_SNAPSHOTS"
"""Set (by `pytest --amber-update`) to re-record snapshots instead of comparing."""


def snapshot_body(content: bytes) -> dict[str, Any]:
    """A body as snapshots keep it: `{"json": ...}`, else `{"text": ...}`, else base64."""
    if content:
        try:
            return {"json": json.loads(content)}
        except (ValueError, UnicodeDecodeError):
            pass
    try:
        return {"text": content.decode("utf-8")}
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(content).decode("ascii")}


def make_snapshot(status: int, content_type: str, body: bytes) -> dict[str, Any]:
    """A snapshot document (the current version) of one response."""
    return {
        "version": SNAPSHOT_VERSION,
        "status": status,
        "headers": {"content-type": content_type},
        "body": snapshot_body(body),
    }


def snapshot_from_response(response: httpx.Response) -> dict[str, Any]:
    """The snapshot document of a live response."""
    return make_snapshot(
        response.status_code, response.headers.get("content-type", ""), response.content
    )


def dumps_snapshot(snapshot: Mapping[str, Any]) -> str:
    """The file text: indented, keys sorted, one trailing newline (stable diffs)."""
    return json.dumps(snapshot, indent=2, sort_keys=True) + "\n"


def write_snapshot(path: Path, snapshot: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps_snapshot(snapshot), encoding="utf-8")


def load_snapshot(path: Path) -> dict[str, Any]:
    """Read and check a snapshot file; a missing or unreadable one fails the test with what
    to do."""
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise AssertionError(
            f"snapshot {path} is missing: record it with pytest --amber-update"
        ) from None
    except ValueError as e:
        raise AssertionError(
            f"snapshot {path} is not valid JSON ({e}): re-record it with pytest --amber-update"
        ) from None
    if not isinstance(data, dict) or "status" not in data:
        raise AssertionError(
            f"snapshot {path} is not an amber snapshot (no status): re-record it with "
            "pytest --amber-update"
        )
    version = data.get("version", 1)
    if not isinstance(version, int) or version > SNAPSHOT_VERSION:
        raise AssertionError(
            f"snapshot {path} has format version {version!r}, newer than this amber reads "
            f"({SNAPSHOT_VERSION}): upgrade amber in this environment"
        )
    return data


def _dumps_sorted(value: Any) -> bytes:
    """Compact JSON with sorted keys: snapshots keep keys sorted, so both sides of a
    comparison are put in that order (key order carries no meaning in them)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # integers beyond 64 bits, nesting beyond 255
        return json.dumps(value, sort_keys=True).encode()


def snapshot_model(snapshot: Mapping[str, Any]) -> Response:
    """A snapshot as amber's `Response`, ready for `compare_responses`."""
    from amber._model import Response

    body = snapshot.get("body") or {}
    if "json" in body:
        raw = _dumps_sorted(body["json"])
    elif "text" in body:
        raw = str(body["text"]).encode()
    elif "base64" in body:
        raw = base64.b64decode(body["base64"])
    else:
        raw = b""
    headers = tuple((k, v) for k, v in (snapshot.get("headers") or {}).items())
    return Response(status=int(snapshot["status"]), headers=headers, body=raw)
