"""Runtime helpers for the regression tests `amber gen-test` writes.

A generated test sends its recorded request through the `amber_client` fixture (see
`amber._pytest_plugin`) and checks the answer with one of:

- `assert_no_server_error(response, ...)`: for a captured 5xx, the bug the test guards;
- `assert_matches_recording(response, snapshot, noise=...)`: for a captured good response,
  status and body equal to the recording, minus noise; `pytest --amber-update` re-records.

Expected responses live next to the test in `__snapshots__/<name>.json`, as reviewable JSON.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

import orjson

if TYPE_CHECKING:
    import httpx

__all__ = [
    "UPDATE_ENV",
    "assert_matches_recording",
    "assert_no_server_error",
    "assert_status",
    "load_snapshot",
    "request_kwargs",
    "snapshot_body",
]

UPDATE_ENV = "AMBER_UPDATE_SNAPSHOTS"
"""Set (by `pytest --amber-update`) to re-record snapshots instead of comparing."""


def request_kwargs(request: Mapping[str, Any]) -> dict[str, Any]:
    """httpx `request()` arguments from a generated test's REQUEST literal."""
    body = request.get("body")
    if isinstance(body, dict) and "base64" in body:
        content: bytes | None = base64.b64decode(body["base64"])
    elif isinstance(body, str):
        content = body.encode("utf-8")
    else:
        content = None
    target = request["path"] + (f"?{request['query']}" if request.get("query") else "")
    return {
        "method": request["method"],
        "url": target,
        "headers": [(k, v) for k, v in request.get("headers", [])],
        "content": content,
    }


def _describe(response: httpx.Response, limit: int = 2000) -> str:
    text = response.text
    if len(text) > limit:
        text = text[:limit] + f"... ({len(text) - limit} more characters)"
    return f"{response.status_code} {response.reason_phrase}\n{text}"


def assert_no_server_error(response: httpx.Response, *, captured_status: int | None = None,
                           exchange_id: str = "") -> None:
    """Fail while the bug is present: the app answered with a server error again."""
    if response.status_code >= 500:
        where = f" (amber exchange {exchange_id})" if exchange_id else ""
        raise AssertionError(
            f"the request that failed in production{where} still fails: "
            f"captured {captured_status}, now {_describe(response)}"
        )


def assert_status(response: httpx.Response, expected: int) -> None:
    if response.status_code != expected:
        raise AssertionError(f"expected status {expected}, got {_describe(response)}")


def _dumps_sorted(value: Any) -> bytes:
    """Compact JSON with sorted keys: snapshots keep keys sorted, so both sides of a
    comparison are put in that order (key order carries no meaning in them)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # integers beyond 64 bits, nesting beyond 255
        return json.dumps(value, sort_keys=True).encode()


def load_snapshot(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise AssertionError(
            f"snapshot {path} is missing: record it with pytest --amber-update"
        ) from None
    return data


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


def _snapshot_of(response: httpx.Response) -> dict[str, Any]:
    return {
        "status": response.status_code,
        "headers": {"content-type": response.headers.get("content-type", "")},
        "body": snapshot_body(response.content),
    }


def _as_model(snapshot: Mapping[str, Any]) -> Any:
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


def assert_matches_recording(response: httpx.Response, snapshot: str | Path,
                             noise: Mapping[str, Any] | None = None) -> None:
    """Status and body equal to the snapshot, minus `noise` (amber noise rules).

    With `pytest --amber-update` the snapshot is rewritten from `response` instead.
    """
    from amber.replay import NoiseRules
    from amber.replay import compare_responses

    path = Path(snapshot)
    if os.environ.get(UPDATE_ENV):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(_snapshot_of(response), indent=2, sort_keys=True) + "\n",
                        encoding="utf-8")
        return
    expected = _as_model(load_snapshot(path))
    actual = _as_model(_snapshot_of(response))
    rules = NoiseRules.from_mapping(dict(noise or {}), key="noise")
    cmp = compare_responses(expected, actual, rules)
    if not cmp.ok:
        raise AssertionError(
            f"response differs from the recording ({path.name}):\n{cmp.explain()}\n"
            "If the change is intended, re-record with: pytest --amber-update"
        )
