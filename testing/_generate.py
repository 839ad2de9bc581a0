"""`amber gen-test`: a captured exchange becomes a readable pytest regression test.

For each exchange, one file `test_<method>_<route>_<id>.py` with one test:

- a captured **server error** (the bug) asserts the response is not a server error, plus the
  status/body the user expects once fixed (`--expect-status`, `--expect-json`);
- a captured **good response** asserts status and body equal to the recording minus noise
  paths; the expected response is `__snapshots__/<stem>.json` next to the test, re-recorded
  with `pytest --amber-update`.

The request is embedded as a literal (already sanitized at capture: markers stay markers;
credentials come from the plugin's configured auth). Its database fixture, when extracted,
sits in `fixtures/<stem>.yaml` and is loaded by the `amber_client` fixture before the request.
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import os
import pprint
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amber._model import HOP_BY_HOP
from amber._model import Exchange
from amber._urls import hide_passwords
from amber.errors import UsageError
from amber.replay import NoiseRules
from amber.testing._snapshot import dumps_snapshot
from amber.testing._snapshot import make_snapshot

__all__ = [
    "MAX_EXPECT_DEPTH",
    "MAX_JSON_DEPTH",
    "GenSpec",
    "GeneratedTest",
    "command_line",
    "render_test",
    "snapshot_of",
    "stem_of",
    "write_test",
]

_DROP_HEADERS = HOP_BY_HOP | {"cookie", "authorization", "x-request-id"}

MAX_JSON_DEPTH = 500
"""The deepest JSON body a generated snapshot test compares. The test parses and compares
bodies recursively, within Python's recursion limit (1,000 frames unless raised) and under
pytest's own frames: measured, a 950-deep array passes and a 970-deep one fails with
`RecursionError`, so half the limit leaves room for deeper stacks (plugins, xdist)."""

MAX_EXPECT_DEPTH = 100
"""The deepest `--expect-json` value: it is written into the test as a Python literal, and
Python's parser refuses a line with more than 200 nested brackets."""

_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def json_depth(data: bytes) -> int:
    """How deep the arrays and objects of the JSON text `data` nest, counted on the
    brackets outside strings without parsing (a parser recurses that deep before it
    finds out anything else): 0 for text that does not start as an array or an object."""
    if data.lstrip()[:1] not in (b"[", b"{"):
        return 0
    brackets = _JSON_STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    return max(itertools.accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _value_depth(value: Any) -> int:
    """How deep the lists and dicts of a JSON value nest (iteratively: it may be deep)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in item)
    return deepest


@dataclass(frozen=True)
class GenSpec:
    """What the user asked for one exchange.

    A spec whose test could not be valid Python or could not compare faithfully is refused
    when it is made, before anything is written: a snapshot test of a response whose JSON
    nests deeper than `MAX_JSON_DEPTH`, or an `expect_json` deeper than
    `MAX_EXPECT_DEPTH`. *Raises:* `UsageError` saying what to do instead.
    """

    exchange: Exchange
    command: str
    app: str | None = None
    base_url: str | None = None
    db_env: str | None = None
    fixture: str | None = None  # path relative to the test file
    expect_status: int | None = None
    expect_json: Any = None
    noise: NoiseRules | None = None

    def __post_init__(self) -> None:
        ex = self.exchange
        depth = _value_depth(self.expect_json)
        if depth > MAX_EXPECT_DEPTH:
            raise UsageError(
                f"--expect-json nests {depth} levels deep; a generated test holds at most "
                f"{MAX_EXPECT_DEPTH} (it is written as a Python literal): expect a part of "
                "the body by editing the generated test instead"
            )
        if self.snapshot and ex.response is not None:
            depth = json_depth(ex.response.body)
            if depth > MAX_JSON_DEPTH:
                raise UsageError(
                    f"exchange {ex.id}: its response body nests JSON {depth} levels deep, "
                    f"more than a generated snapshot test compares ({MAX_JSON_DEPTH}); pass "
                    f"--expect-status {ex.response.status} for a test of its status, or "
                    "write this test by hand"
                )

    @property
    def snapshot(self) -> bool:
        """Whether the test compares the response with a snapshot: a captured good
        response, when the user does not say what it should have been instead."""
        ex = self.exchange
        return (
            ex.response is not None
            and ex.response.status < 500
            and ex.error is None
            and self.expect_status is None
            and self.expect_json is None
        )


@dataclass(frozen=True)
class GeneratedTest:
    path: Path
    snapshot: Path | None


def _slug(text: str, limit: int = 40) -> str:
    s = re.sub(r"[^a-zA-Z0-9]+", "_", text).strip("_").lower()
    return (s or "root")[:limit].rstrip("_")


def stem_of(ex: Exchange) -> str:
    return (
        f"test_{_slug(ex.request.method)}_{_slug(ex.route or ex.request.path)}_{ex.id[-8:].lower()}"
    )


def _request_literal(ex: Exchange) -> dict[str, Any]:
    req = ex.request
    headers = [
        [k, v] for k, v in req.headers if k.lower() not in _DROP_HEADERS and "[REDACTED:" not in v
    ]
    body: Any = None
    if req.body:
        try:
            body = req.body.decode("utf-8")
        except UnicodeDecodeError:
            body = {"base64": base64.b64encode(req.body).decode("ascii")}
    return {
        "method": req.method,
        "path": req.path,
        "query": req.query,
        "headers": headers,
        "body": body,
    }


def snapshot_of(ex: Exchange) -> dict[str, Any]:
    """The recorded response as a reviewable JSON snapshot."""
    resp = ex.response
    assert resp is not None
    return make_snapshot(resp.status, resp.header("content-type") or "", resp.body)


def _noise_literal(rules: NoiseRules | None) -> dict[str, Any]:
    if rules is None:
        return {}
    out: dict[str, Any] = {}
    if rules.ignore_paths:
        out["ignore_paths"] = sorted(rules.ignore_paths)
    if rules.ignore_order:
        out["ignore_order"] = sorted(rules.ignore_order)
    patterns = [{"path": p, "regex": rx.pattern} for p, rx in rules.value_patterns]
    if patterns:
        out["value_patterns"] = patterns
    return out


def _lit(value: Any, indent: int = 0) -> str:
    text = pprint.pformat(value, width=92 - indent, sort_dicts=False)
    pad = " " * indent
    return text.replace("\n", "\n" + pad)


def render_test(spec: GenSpec, stem: str) -> str:
    ex = spec.exchange
    req = ex.request
    status = ex.status
    captured = dt.datetime.fromtimestamp(req.timestamp_start, tz=dt.UTC)
    captured_iso = captured.isoformat(timespec="seconds")
    failed = ex.error is not None or status is None or status >= 500
    # a captured 4xx or wrong 200 is a bug too when the user says what it should have been
    bug = not spec.snapshot
    marker_kw: dict[str, Any] = {"exchange": ex.id, "captured_at": captured_iso}
    if spec.fixture:
        marker_kw["fixture"] = spec.fixture
    for name in ("app", "base_url", "db_env"):
        value = getattr(spec, name)
        if value:
            marker_kw[name] = value
    marker_args = ", ".join(f"{k}={v!r}" for k, v in marker_kw.items())
    what = (
        (
            f"failed in production with {status or 'no response'}"
            + (f" ({ex.error})" if ex.error else "")
        )
        if failed
        else f"answered {status}"
    )
    lines = [
        f'"""Regression test: {req.method} {ex.route or req.path} {what}.',
        "",
        f"amber id:     {ex.id}",
        f"request id:   {ex.request_id or '-'}",
        f"captured at:  {captured_iso}",
        f"route:        {req.method} {ex.route or req.path}",
        f"generated by: {spec.command}",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "import pytest",
        "",
        "from amber.testing import "
        + ("assert_no_server_error" if bug else "assert_matches_recording")
        + (", assert_status" if bug and spec.expect_status else "")
        + ", request_kwargs",
        "",
        f"pytestmark = pytest.mark.amber({marker_args})",
        "",
        f"REQUEST = {_lit(_request_literal(ex))}",
        "",
    ]
    if bug:
        lines += [
            "",
            f"def {stem}(amber_client):",
            "    response = amber_client.request(**request_kwargs(REQUEST))",
            f"    assert_no_server_error(response, captured_status={status!r}, "
            f"exchange_id={ex.id!r})",
        ]
        if spec.expect_status is not None:
            lines.append(f"    assert_status(response, {spec.expect_status})")
        if spec.expect_json is not None:
            lines.append(f"    assert response.json() == {_lit(spec.expect_json, 4)}")
    else:
        lines += [
            f"NOISE = {_lit(_noise_literal(spec.noise))}",
            "",
            "",
            f"def {stem}(amber_client, request):",
            "    response = amber_client.request(**request_kwargs(REQUEST))",
            f'    snapshot = request.path.parent / "__snapshots__" / "{stem}.json"',
            "    assert_matches_recording(response, snapshot, noise=NOISE)",
        ]
    return "\n".join(lines) + "\n"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as fp:
        fp.write(text)


def write_test(spec: GenSpec, out_dir: Path) -> GeneratedTest:
    """Write the test file (and its snapshot for good responses) under `out_dir`."""
    stem = stem_of(spec.exchange)
    path = out_dir / f"{stem}.py"
    _write(path, render_test(spec, stem))
    snapshot = None
    if spec.snapshot:
        snapshot = out_dir / "__snapshots__" / f"{stem}.json"
        _write(snapshot, dumps_snapshot(snapshot_of(spec.exchange)))
    return GeneratedTest(path, snapshot)


def command_line(argv: Sequence[str]) -> str:
    """The generating command for the docstring, with passwords in URLs hidden."""
    return " ".join(hide_passwords(a) for a in argv)
