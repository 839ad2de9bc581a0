"""The assertions the regression tests `amber gen-test` writes import.

A generated test sends its recorded request through the `amber_client` fixture (see
`amber.testing._plugin`) and checks the answer with one of:

- `assert_fixed(response, ...)`: for a captured 5xx (or a wrong answer), the response a
  working build gives: 2xx/3xx by default, or the route's `testing.expect` (status, JSON
  fields, texts, line and row counts, a predicate);
- `assert_no_server_error(response, ...)`: only "not a 5xx" (tests written before
  `assert_fixed`; a wrong path's 404 passes it, so new tests do not use it);
- `assert_matches_recording(response, snapshot, noise=...)`: for a captured good response,
  status and body equal to the recording, minus noise; `pytest --amber-update` re-records.

Expected responses live next to the test in `__snapshots__/<name>.json`, as reviewable JSON.
Snapshots are sanitized (they come from the store), so a live response is put in the same
sanitized space before it is compared, shown or written: the capture's rules (amber.yaml
`sanitize:`) with its key (`AMBER_KEY`), as `amber replay` does. Without the key a key of
this process is used: nothing raw is shown or written, and the fields pseudonymized with a
key are not compared (a warning names them; the rest of the body is).
"""

from __future__ import annotations

import base64
import functools
import os
import secrets
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

from amber.testing._snapshot import UPDATE_ENV
from amber.testing._snapshot import load_snapshot
from amber.testing._snapshot import make_snapshot
from amber.testing._snapshot import snapshot_from_response
from amber.testing._snapshot import snapshot_model
from amber.testing._snapshot import write_snapshot

if TYPE_CHECKING:
    import httpx

    from amber._model import Response
    from amber.sanitize import TargetSanitizer

__all__ = [
    "assert_fixed",
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


_NO_KEY = (
    "AMBER_KEY is not set: the live response was pseudonymized with a key of this run, so "
    "fields amber pseudonymized cannot match; set the capture's key"
)


def _key() -> bytes | None:
    from amber._pseudonym import load_key
    from amber.errors import KeyMissing

    try:
        return load_key()
    except KeyMissing:
        return None


@functools.lru_cache(maxsize=4)
def _sanitizer(cwd: str, config_env: str, key: bytes | None) -> TargetSanitizer:
    """The capture's rules from amber.yaml, keyed by `key` (a random one when None)."""
    from amber._config import find_config
    from amber._pseudonym import Pseudonymizer
    from amber.sanitize import SanitizeConfig
    from amber.sanitize import Sanitizer
    from amber.sanitize import TargetSanitizer

    config = find_config()
    scfg = config.with_key(
        "sanitize", lambda: SanitizeConfig.from_mapping(config.section("sanitize"))
    )
    return TargetSanitizer(Sanitizer(scfg, Pseudonymizer(key or secrets.token_bytes(32))))


def _target_sanitizer() -> TargetSanitizer:
    return _sanitizer(os.getcwd(), os.environ.get("AMBER_CONFIG", ""), _key())


def sanitized_live(response: httpx.Response, recorded: Response | None = None) -> Response:
    """The live response as a snapshot holds it, in the capture's sanitized space (the
    parts equal to `recorded` taken as they are)."""
    live = snapshot_model(snapshot_from_response(response))
    return _target_sanitizer().response(live, recorded)


def _describe(response: httpx.Response, limit: int = 2000) -> str:
    ts = _target_sanitizer()
    ct = response.headers.get("content-type")
    body = ts.body(response.content, ct) if response.content else b""
    text = body.decode("utf-8", "replace")
    if len(text) > limit:
        text = text[:limit] + f"... ({len(text) - limit} more characters)"
    return f"{response.status_code} {ts.text(response.reason_phrase)}\n{text}"


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


def assert_fixed(
    response: httpx.Response,
    *,
    captured_status: int | None = None,
    exchange_id: str = "",
    status: int | Sequence[int] | None = None,
    json: Any = None,
    contains: str | Sequence[str] = (),
    not_contains: str | Sequence[str] = (),
    lines: int | None = None,
    rows: int | None = None,
    predicate: str | Callable[[httpx.Response], Any] | None = None,
) -> None:
    """Fail unless the response is what a working build gives, for a request that failed
    in production (or answered wrong):

    - `status`: that code (or one of those); by default any 2xx or 3xx, so a 404 from a
      wrong path prefix or a 401 from missing credentials fails as the 500 did;
    - `json`: for a mapping, each of its fields equal in the body (a subset); else the body;
    - `contains` / `not_contains`: texts the body (any content type) holds or does not;
    - `lines`: the body's count of non-empty lines (text, CSV); `rows`: a CSV body's data
      rows (non-empty lines after the header);
    - `predicate`: `"module:function"` or a callable taking the response; falsy fails.
    """
    __tracebackhide__ = True  # a failure points at the test, not at amber
    where = f" (amber exchange {exchange_id})" if exchange_id else ""
    code = response.status_code
    wanted = (status,) if isinstance(status, int) else tuple(status or ())
    if wanted and code not in wanted:
        shown = " or ".join(map(str, wanted))
        raise AssertionError(
            f"the request that failed in production{where} should answer {shown} once "
            f"fixed: captured {captured_status}, now {_describe(response)}"
        )
    if not wanted and not 200 <= code < 400:
        raise AssertionError(
            f"the request that failed in production{where} should succeed (2xx or 3xx) "
            f"once fixed: captured {captured_status}, now {_describe(response)}"
            + ("" if code >= 500 else _WRONG_4XX.get(code // 100 * 100, ""))
        )
    if json is not None:
        _expect_json_fields(response, json)
    text = response.content.decode("utf-8", "replace") if response.content else ""
    for part in [contains] if isinstance(contains, str) else contains:
        if part not in text:
            raise AssertionError(f"the body does not contain {part!r}: {_describe(response)}")
    for part in [not_contains] if isinstance(not_contains, str) else not_contains:
        if part in text:
            raise AssertionError(f"the body contains {part!r}: {_describe(response)}")
    counted = [line for line in text.splitlines() if line.strip()]
    if lines is not None and len(counted) != lines:
        raise AssertionError(
            f"expected {lines} lines in the body, got {len(counted)}: {_describe(response)}"
        )
    if rows is not None and max(len(counted) - 1, 0) != rows:
        raise AssertionError(
            f"expected {rows} CSV rows after the header, got {max(len(counted) - 1, 0)}: "
            f"{_describe(response)}"
        )
    if predicate is not None:
        fn = _load_predicate(predicate) if isinstance(predicate, str) else predicate
        if not fn(response):
            name = predicate if isinstance(predicate, str) else getattr(fn, "__name__", "")
            raise AssertionError(f"the predicate {name} refused {_describe(response)}")


_WRONG_4XX = {
    400: (
        "\n(a 4xx: check the path prefix of the app under test, and that amber.yaml "
        "declares testing.identity when the request was authenticated)"
    )
}


def _expect_json_fields(response: httpx.Response, expected: Any) -> None:
    __tracebackhide__ = True
    import json as json_module

    try:
        body = json_module.loads(response.content)
    except ValueError:
        raise AssertionError(f"expected a JSON body, got {_describe(response)}") from None
    if isinstance(expected, Mapping) and isinstance(body, Mapping):
        wrong = {k: body.get(k, "<missing>") for k, v in expected.items() if body.get(k) != v}
        if wrong:
            shown = _target_sanitizer().body(json_module.dumps(wrong).encode(), "application/json")
            raise AssertionError(
                f"JSON fields differ from {dict(expected)!r}: got {shown.decode()}"
            )
    elif body != expected:
        raise AssertionError(f"expected the JSON body {expected!r}, got {_describe(response)}")


def _load_predicate(spec: str) -> Callable[[httpx.Response], Any]:
    import importlib

    module, _, name = spec.partition(":")
    try:
        fn = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as e:
        raise AssertionError(
            f"cannot import the predicate {spec} ({e}): fix testing.expect in amber.yaml"
        ) from None
    if not callable(fn):
        raise AssertionError(f"the predicate {spec} is not callable")
    return fn  # type: ignore[no-any-return]


def assert_status(response: httpx.Response, expected: int) -> None:
    __tracebackhide__ = True  # a failure points at the test, not at amber
    if response.status_code != expected:
        raise AssertionError(f"expected status {expected}, got {_describe(response)}")


def assert_matches_recording(
    response: httpx.Response, snapshot: str | Path, noise: Mapping[str, Any] | None = None
) -> None:
    """Status and body equal to the snapshot, minus `noise` (amber noise rules), compared
    in sanitized space (module doc).

    With `pytest --amber-update` the snapshot is rewritten from `response` (sanitized)
    instead.
    """
    __tracebackhide__ = True  # a failure points at the test, not at amber
    from amber.replay import NoiseRules
    from amber.replay import compare_responses

    path = Path(snapshot)
    if os.environ.get(UPDATE_ENV):
        live = sanitized_live(response)
        write_snapshot(path, make_snapshot(live.status, live.content_type or "", live.body))
        return
    expected = snapshot_model(load_snapshot(path))
    actual = sanitized_live(response, expected)
    rules = NoiseRules.from_mapping(dict(noise or {}), key="noise")
    cmp = compare_responses(expected, actual, rules)
    differences = list(cmp.differences)
    if differences and not _key():
        # without the capture's key a pseudonym cannot match: the fields pseudonymized
        # with a key (they differ under two keys) are not compared, and the run says so
        keyed = _keyed_paths(response, expected)
        skipped = [d for d in differences if d.path in keyed]
        differences = [d for d in differences if d.path not in keyed]
        if skipped:
            import warnings

            warnings.warn(
                f"amber: {len(skipped)} pseudonymized field(s) of {path.name} not compared "
                f"({', '.join(d.path[4:] or d.path for d in skipped[:5])}): {_NO_KEY}",
                stacklevel=2,
            )
    if differences:
        shown = cmp if len(differences) == len(cmp.differences) else None
        text = (
            shown.explain()
            if shown is not None
            else "\n".join(["body differs:", *(f"  {d.describe()}" for d in differences)])
        )
        raise AssertionError(
            f"response differs from the recording ({path.name}):\n{text}\n"
            "If the change is intended, re-record with: pytest --amber-update"
            + ("" if _key() else f"\n({_NO_KEY})")
        )


def _keyed_paths(response: httpx.Response, recorded: Response) -> set[str]:
    """The paths of the live response whose sanitized value depends on the key."""
    from amber.replay import NoiseRules
    from amber.replay import compare_responses

    live = snapshot_model(snapshot_from_response(response))
    other = _sanitizer(os.getcwd(), os.environ.get("AMBER_CONFIG", ""), _SECOND_KEY)
    one = _target_sanitizer().response(live, recorded)
    two = other.response(live, recorded)
    return {d.path for d in compare_responses(one, two, NoiseRules()).differences}


_SECOND_KEY = secrets.token_bytes(32)
