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

`python -m amber.testing._worker --serve` is the same run, many times, without paying the
interpreter's start-up and the app's imports each time (1-3 s for Datasette or Django, which
a shrink of 20 runs paid 20 times): a fork server (Linux). Its first line on stdin is a
prelude, `{"v": 1, "env": {...}, "app": "module:attr", "db": path or null}`: it sets the
environment every run will have, imports amber's runtime and the app's module (never calls
its factory), and answers `{"v": 1, "kind": "ready"}`, or `{"kind": "refused", "why": ...}`
when forking would not give each run a fresh process's state: the import failed (a fresh
child reports that better), it left a thread running, or it opened the run's database file
(a fork would share that handle across runs). Each later line is one run's request; the
server forks, the child answers it as `main` does (its output to a pipe the server keeps
the last 4 KiB of, in memory), and the server writes the answer as one line, or
`{"kind": "died", "status": N, "stderr": tail}` for a child that exited without one.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from typing import Any

__all__ = ["PROTOCOL", "answer", "identity_and_auth", "main", "serve"]

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


def _prelude_refusal(prelude: dict[str, Any]) -> str | None:
    """Set the runs' environment and import what every run imports; why forking from here
    would not give each run a fresh process's state, or None."""
    import importlib
    import threading

    if prelude.get("v") != PROTOCOL:
        return f"protocol {prelude.get('v')} (this worker speaks {PROTOCOL})"
    for name, value in (prelude.get("env") or {}).items():
        if name:
            os.environ[name] = value
    try:
        import amber.testing._assertions
        import amber.testing._client  # noqa: F401

        importlib.import_module(str(prelude.get("app") or "").partition(":")[0])
    except BaseException as e:  # a fresh child reports it as the run's build error
        return f"importing the app failed ({type(e).__name__})"
    if threading.active_count() > 1:
        return "importing the app started a thread (a fork copies only the forking one)"
    db = prelude.get("db")
    if db and _holds_open(str(db)):
        return "importing the app opened the run's database (runs would share the handle)"
    return None


def _holds_open(path: str) -> bool:
    """Does this process hold `path` (or its SQLite journal) open? (Linux's /proc.)"""
    real = os.path.realpath(path)
    try:
        fds = os.listdir("/proc/self/fd")
    except OSError:
        return True  # cannot tell: refuse
    for fd in fds:
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(real):
            return True
    return False


_TAIL = 4096
"""How much of a forked run's own output the server keeps (the last bytes, in memory)."""


def _run_forked(request: dict[str, Any]) -> dict[str, Any]:
    """Fork; the child answers `request` with its stdout and stderr on a pipe; the answer,
    or what a child that died without one left."""
    import select

    ans_r, ans_w = os.pipe()
    out_r, out_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the run: a fresh copy of the prelude's state
        try:
            os.close(ans_r)
            os.close(out_r)
            os.dup2(out_w, 1)
            os.dup2(out_w, 2)
            os.close(out_w)
            with os.fdopen(ans_w, "w", encoding="utf-8") as channel:
                channel.write(json.dumps(answer(request)))
            sys.stderr.flush()
        finally:
            os._exit(0)  # never back into the server's loop, whatever happened
    os.close(ans_w)
    os.close(out_w)
    chunks: list[bytes] = []
    tail = b""
    open_fds = [ans_r, out_r]
    while open_fds:
        ready, _, _ = select.select(open_fds, [], [])
        for fd in ready:
            data = os.read(fd, 65536)
            if not data:
                open_fds.remove(fd)
                os.close(fd)
            elif fd == ans_r:
                chunks.append(data)
            else:
                tail = (tail + data)[-_TAIL:]
    _, status = os.waitpid(pid, 0)
    raw = b"".join(chunks)
    if raw:
        try:
            out: dict[str, Any] = json.loads(raw)
            return out
        except ValueError:
            pass
    return {
        "v": PROTOCOL,
        "kind": "died",
        "status": os.waitstatus_to_exitcode(status),
        "stderr": tail.decode("utf-8", "replace"),
    }


def serve() -> int:
    """The fork server (module doc): a prelude, then one forked run per request line."""
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    line = sys.stdin.readline()
    if not line:
        return 0
    why = _prelude_refusal(json.loads(line))
    ready = {"v": PROTOCOL, "kind": "ready"} if why is None else {"kind": "refused", "why": why}
    channel.write(json.dumps(ready) + "\n")
    channel.flush()
    if why is not None:
        return 0
    for line in sys.stdin:
        channel.write(json.dumps(_run_forked(json.loads(line))) + "\n")
        channel.flush()
    return 0


if __name__ == "__main__":
    code = serve() if sys.argv[1:] == ["--serve"] else main()
    sys.stderr.flush()
    # not sys.exit: threads or atexit hooks the app left behind must not hold the answer
    os._exit(code)
