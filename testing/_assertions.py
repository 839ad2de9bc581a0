"""The assertions the regression tests `amber gen-test` writes import.

A generated test sends its recorded request through the `amber_client` fixture (see
`amber.testing._plugin`) and checks the answer with one of:

- `assert_no_server_error(response, ...)`: for a captured 5xx, the bug the test guards;
- `assert_matches_recording(response, snapshot, noise=...)`: for a captured good response,
  status and body equal to the recording, minus noise; `pytest --amber-update` re-records.

Expected responses live next to the test in `__snapshots__/<name>.json`, as reviewable JSON.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

from amber.testing._snapshot import UPDATE_ENV
from amber.testing._snapshot import load_snapshot
from amber.testing._snapshot import snapshot_from_response
from amber.testing._snapshot import snapshot_model
from amber.testing._snapshot import write_snapshot

if TYPE_CHECKING:
    import httpx

__all__ = [
    "assert_matches_recording",
    "assert_no_server_error",
    "assert_status",
    "request_kwargs",
]


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


def assert_no_server_error(
    response: httpx.Response, *, captured_status: int | None = None, exchange_id: str = ""
) -> None:
    """Fail while the bug is present: the app answered with a server error again."""
    __tracebackhide__ = True  # a failure points at the test, not at amber
    if response.status_code >= 500:
        where = f" (amber exchange {exchange_id})" if exchange_id else ""
        raise AssertionError(
            f"the request that failed in production{where} still fails: "
            f"captured {captured_status}, now {_describe(response)}"
        )


def assert_status(response: httpx.Response, expected: int) -> None:
    __tracebackhide__ = True  # a failure points at the test, not at amber
    if response.status_code != expected:
        raise AssertionError(f"expected status {expected}, got {_describe(response)}")


def assert_matches_recording(
    response: httpx.Response, snapshot: str | Path, noise: Mapping[str, Any] | None = None
) -> None:
    """Status and body equal to the snapshot, minus `noise` (amber noise rules).

    With `pytest --amber-update` the snapshot is rewritten from `response` instead.
    """
    __tracebackhide__ = True  # a failure points at the test, not at amber
    from amber.replay import NoiseRules
    from amber.replay import compare_responses

    path = Path(snapshot)
    if os.environ.get(UPDATE_ENV):
        write_snapshot(path, snapshot_from_response(response))
        return
    expected = snapshot_model(load_snapshot(path))
    actual = snapshot_model(snapshot_from_response(response))
    rules = NoiseRules.from_mapping(dict(noise or {}), key="noise")
    cmp = compare_responses(expected, actual, rules)
    if not cmp.ok:
        raise AssertionError(
            f"response differs from the recording ({path.name}):\n{cmp.explain()}\n"
            "If the change is intended, re-record with: pytest --amber-update"
        )
