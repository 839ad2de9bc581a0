"""One verification run in the app's own interpreter: `python -m amber.testing._worker`.

`amber gen-test --app-python PYTHON` (and `amber shrink`, `amber fixtures --verify`) runs
each verify or trace run in a fresh child process of PYTHON, the interpreter of the app's
virtual environment, which needs only amber's test runtime (`pip install amber`: httpx,
PyYAML, orjson; no SQLAlchemy, mitmproxy or rich). The child reads one JSON request on
stdin, builds the app, sends the request in-process, and writes one JSON answer on stdout:

- request: `{"v": 1, "app": "module:attr", "env": {NAME: VALUE}, "request": {REQUEST
  literal}, "config": path of amber.yaml or null, "login": bool, "trace": bool}`;
- answer: `{"v": 1, "kind": "response", "status": 200, "content_type": "...", "body":
  base64}` or `{"v": 1, "kind": "build"|"setup"|"exception", "error": "Class: first
  line"}`, plus `"statements"` and `"tables"` (the SQL trace) when asked.

The answer holds the app's raw response and error text: it crosses only the pipe, and the
parent (`Reproducer`) sanitizes it as it does an in-process run's; nothing is written to
disk here. The app's own output to stdout goes to stderr, so the answer stays one JSON
document; the parent keeps stderr in memory and shows only its last line, sanitized.
A fresh process per run also rebuilds apps whose factory configures a module-level
singleton (a Flask `app` at module level), which a second build in one process refuses.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from typing import Any

__all__ = ["PROTOCOL", "answer", "identity_and_auth", "main"]

PROTOCOL = 1
"""Version of the request/answer documents; parent and child must agree."""


def identity_and_auth(config_path: str | None) -> tuple[Any, Any]:
    """The test identity (`testing.identity`) and the auth (its headers/hook, else the
    deprecated `testgen.auth`) of the amber.yaml at `config_path`, as `amber gen-test`
    builds them for its in-process runs (`amber.cli._fixtures.make_reproducer`)."""
    if not config_path:
        return None, None
    from amber._config import load_config
    from amber._identity import identity_from_config
    from amber.replay import Auth

    config = load_config(config_path)
    identity = identity_from_config(config)
    auth = None
    if identity is not None and identity.extra:
        auth = Auth.from_mapping(dict(identity.extra), key="testing.identity")
    elif spec := config.section("testgen").get("auth"):
        auth = Auth.from_mapping(spec, key="testgen.auth")
    return identity, auth


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0][:300] if text else ''}"


def answer(request: dict[str, Any]) -> dict[str, Any]:
    """Run `request` (module doc) in this process; the answer document."""
    from amber.errors import AmberError
    from amber.testing._assertions import request_kwargs
    from amber.testing._client import AppClient
    from amber.testing._client import IdentityMissing
    from amber.testing._client import load_app

    out: dict[str, Any] = {"v": PROTOCOL}
    if request.get("v") != PROTOCOL:
        out.update(
            kind="setup",
            error=f"amber.testing._worker speaks protocol {PROTOCOL}, the request is "
            f"{request.get('v')}: install the same amber version in both environments",
        )
        return out
    for name, value in (request.get("env") or {}).items():
        if name:
            os.environ[name] = value
    try:
        identity, auth = identity_and_auth(request.get("config"))
    except Exception as e:  # a bad amber.yaml, a hook that does not import
        out.update(kind="setup", error=_first_line(e))
        return out
    trace = None
    if request.get("trace"):
        from amber.fixtures import recorder_for

        # `trace` is the database URL (True from an older parent: SQLite's recorder)
        url = request["trace"] if isinstance(request["trace"], str) else ""
        trace = recorder_for(url).__enter__()
    try:
        try:
            app = load_app(request["app"])
        except BaseException as e:  # a build that does not start
            out.update(kind="build", error=_first_line(e))
            return out
        client = AppClient(app, None, auth)
        client.identity = identity
        client.login_required = bool(request.get("login"))
        try:
            response = client.request(**request_kwargs(request["request"]))
        except (IdentityMissing, AmberError) as e:  # amber's side, not the app's failure
            out.update(kind="setup", error=_first_line(e))
        except BaseException as e:  # the app's own failure is the outcome
            out.update(kind="exception", error=_first_line(e))
        else:
            out.update(
                kind="response",
                status=response.status_code,
                content_type=response.headers.get("content-type", ""),
                body=base64.b64encode(response.content).decode("ascii"),
            )
        finally:
            client.close()
    finally:
        if trace is not None:
            trace.__exit__(None, None, None)
            out.update(statements=trace.statements, tables=sorted(trace.tables))
            if hasattr(trace, "writes"):
                out.update(writes=int(trace.writes))
    return out


def main() -> int:
    """Read the request on stdin, write the answer on stdout (module doc)."""
    # the answer goes to the original stdout; whatever the app prints goes to stderr
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    request = json.loads(sys.stdin.read())
    result = answer(request)
    channel.write(json.dumps(result))
    channel.flush()
    channel.close()
    return 0


if __name__ == "__main__":
    code = main()
    sys.stderr.flush()
    # not sys.exit: threads or atexit hooks the app left behind must not hold the answer
    os._exit(code)
