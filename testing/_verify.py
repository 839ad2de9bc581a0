"""Verify that a fixture reproduces a captured exchange: load it into a fresh SQLite
database, run the recorded request against an in-process build, and compare the answer with
the recording in sanitized space.

The recorded response is the oracle. A captured server error (or a request that got no
response) is reproduced when the build answers with a server error again (or raises). Any
other captured response the user says was wrong (the route's `testing.expect` entry in
amber.yaml, `expect_status`, `expect_json`: a wrong 200, a 4xx) is reproduced when the
build's answer misses that expectation **as the recorded answer does**: the recorded
status, and the same result for every declared check (the same row and line counts, the
same texts present or absent, the same JSON fields off): the generated test, which asserts
the expectation, fails on it, and for the reason it failed in production; the recorded
body itself is not compared. A captured good response is reproduced when status and body
equal the recording (minus noise). Everything is compared in the capture's sanitized space
(`TargetSanitizer` with its rules and `AMBER_KEY`): nothing unsanitized is compared, shown
or kept.

Each run builds the database from the fixture (`TemplateBuilder`: the schema once, then the
rows), points the app at it through its database environment variable (`db_env`), builds
the app anew (as `--amber-fresh-app` does: nothing carries over from one run to the next),
and sends the request through `AppClient` with the configured auth, in a worker thread
bounded by `timeout` (a run that hangs is reported, not waited for). With `app_python` the
run goes to a fresh child process of the app's own interpreter (`amber.testing._worker`);
with `db_url` the fixture is merged into that database (PostgreSQL, or a schema the app's
migrations made) instead of a fresh SQLite file, and removed after the run. With `base_url`
(and `db_url`: the database that build reads) the request goes over HTTP to a served build
instead, as a generated URL-mode test sends it; nothing can be traced there.

One module because the four ways of running (in-process, in a child, on a given
database, to a served build) share the reproducer's state (the template, the claimed file,
the loaded predicates) and its one judge; split, each part would reach into the others'
fields.

```python
r = Reproducer(exchange, "myapp:create_app", db_env="DATABASE_URL", sanitizer=ts)
verdict = r.verify(fixture)
print(verdict.reproduced, verdict.explain())
```
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

from amber._urls import hide_passwords
from amber.errors import AmberError
from amber.errors import FixtureError
from amber.errors import UsageError
from amber.testing._assertions import request_kwargs
from amber.testing._client import AppClient
from amber.testing._client import IdentityMissing
from amber.testing._client import load_app
from amber.testing._credentials import Credentials
from amber.testing._expect import Check
from amber.testing._expect import checks
from amber.testing._expect import describe_expectation
from amber.testing._generate import _request_literal
from amber.testing._generate import credentials_of
from amber.testing._snapshot import make_snapshot
from amber.testing._snapshot import snapshot_from_response
from amber.testing._snapshot import snapshot_model

if TYPE_CHECKING:
    import httpx

    from amber._model import Exchange
    from amber._model import Response
    from amber.fixtures import Fixture
    from amber.fixtures import PgTrace
    from amber.fixtures import SqlTrace
    from amber.replay import NoiseRules
    from amber.sanitize import TargetSanitizer
    from amber.testing._database import DatabaseSettings
    from amber.testing._database import DbFile
    from amber.testing._forkserver import ForkServer
    from amber.testing._template import TemplateBuilder

__all__ = ["Outcome", "Reproducer", "Verdict"]


@dataclass(frozen=True)
class Outcome:
    """What one run got: the response in sanitized space, or the error that ended it."""

    response: Response | None
    error: str | None = None
    seconds: float = 0.0
    kind: str = "response"
    """`response`; `exception` (the request raised in the app: a server error), `timeout`
    (the run hung), `build` (the app did not start) or `setup` (amber's side of the test
    failed: a credential amber.yaml does not declare, a login hook's error): none of the
    last three reproduces anything."""

    @property
    def status(self) -> int | None:
        return self.response.status if self.response is not None else None

    def describe(self) -> str:
        if self.response is None:
            return f"no response ({self.error})"
        return f"{self.response.status}"


@dataclass(frozen=True)
class Verdict:
    """Whether a run reproduced the recording, and what differs when it did not."""

    reproduced: bool
    expected: str
    outcome: Outcome
    differences: tuple[str, ...] = ()

    def explain(self) -> str:
        got = self.outcome.describe()
        if self.reproduced:
            return f"reproduced: expected {self.expected}, got {got}"
        more = "; ".join(self.differences[:5])
        return f"not reproduced: expected {self.expected}, got {got}" + (
            f" ({more})" if more else ""
        )


@dataclass
class Reproducer:
    """Runs one exchange's request against an in-process build over fixtures.

    **Parameters:** `exchange` - the captured exchange (sanitized, from the store);
    `app` - `module:attr` of a WSGI/ASGI app or factory; `db_env` - the environment
    variable through which the app reads its database URL; `sanitizer` - the capture's
    `TargetSanitizer`; `auth` - an `amber.replay.Auth` (the identity's headers/hook, or
    the deprecated testgen.auth) or None; `identity` - the test identity
    (`testing.identity`) whose credentials fill the request where the capture masked them,
    as in the generated test; `noise` -
    rules left out of a good response's comparison; `expect` - the route's `testing.expect`
    entry (without its route), and `expect_status`/`expect_json` over it: what the user
    says the answer should have been (the recording is then the bug);
    `timeout` - seconds one run may take; `app_python` - run each request in a fresh child
    process of this interpreter (`amber.testing._worker`: the app's own environment, which
    needs only amber's test runtime) instead of in this process; `config_path` - the
    amber.yaml from which that child reads `auth` and `identity` (it cannot be handed the
    objects); `database` - amber.yaml's `testing.database`
    (`database_settings`): the file the app opens itself (`path`, used instead of a
    temporary file, never over a file amber did not make) and what `db_env` holds
    (`env_form`: the URL or the file's path); `db_url` - load each run's fixture into this
    database (merged, the inserted rows removed after the run) instead of a fresh SQLite
    file: an app whose schema comes from its migrations, or that needs PostgreSQL."""

    exchange: Exchange
    app: str
    db_env: str | None
    sanitizer: TargetSanitizer
    auth: Any = None
    identity: Any = None
    noise: NoiseRules | None = None
    expect_status: int | None = None
    expect_json: Any = None
    timeout: float = 30.0
    app_python: str | None = None
    config_path: str | None = None
    expect: Mapping[str, Any] | None = None
    runs: int = 0
    database: DatabaseSettings | None = None
    db_url: str | None = None
    base_url: str | None = None
    _dir: Path | None = field(default=None, repr=False)
    _fixed: DbFile | None = field(default=None, repr=False)
    _builder: TemplateBuilder | None = field(default=None, repr=False)
    _server: ForkServer | None = field(default=None, repr=False)
    _server_refused: str | None = field(default=None, repr=False)
    _expected: Response | None = field(default=None, repr=False)
    _predicates: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.base_url is not None:
            if self.db_url is None:
                raise UsageError(
                    f"verifying against the served build at {hide_passwords(self.base_url)} "
                    "needs the database that build reads, to load each run's fixture into: "
                    "pass --verify-db-url URL (or testgen.verify_db_url in amber.yaml)"
                )
        elif not self.db_env and (self.database is None or self.database.path is None):
            raise UsageError(
                "verifying a fixture needs the environment variable through which the app "
                "reads its database URL: pass --db-env NAME (or testgen.db_env in amber.yaml), "
                "or, for an app that opens a fixed file, set testing.database.path"
            )
        if self.db_url is not None and not self.db_env and self.base_url is None:
            raise UsageError(
                "--verify-db-url loads the fixture into a database the app reads through its "
                "URL variable: pass --db-env NAME too (or testgen.db_env in amber.yaml)"
            )
        if self.app_python is not None:
            import shutil

            found = shutil.which(self.app_python)
            if found is None:
                raise UsageError(
                    f"--app-python {self.app_python}: no such interpreter; give the python "
                    "of the app's virtual environment (e.g. .venv/bin/python), where amber's "
                    "test runtime is installed (pip install amber)"
                )
            self.app_python = found
        resp = self.exchange.response
        if resp is not None:
            self._expected = snapshot_model(
                make_snapshot(resp.status, resp.header("content-type") or "", resp.body)
            )

    # -- what counts as reproduced ----------------------------------------------------

    @property
    def server_error(self) -> bool:
        """Whether the recording is a server error (or no response at all)."""
        ex = self.exchange
        return ex.error is not None or ex.response is None or ex.response.status >= 500

    def expectation(self) -> dict[str, Any]:
        """What the answer should have been: the `testing.expect` entry, `expect_status`
        over its `status`, `expect_json` as `whole_json` (the generated test asserts the
        whole body equal to it); {} when the user declared nothing."""
        out = {k: v for k, v in (self.expect or {}).items() if v is not None and k != "route"}
        if self.expect_status is not None:
            out["status"] = self.expect_status
        if self.expect_json is not None:
            out["whole_json"] = self.expect_json
        return out

    @property
    def rows_shrinkable(self) -> bool:
        """Whether removing fixture rows keeps the test sound: only when the oracle is a
        server error. A wrong answer's expectation is what a working build answers on the
        recorded data (three CSV rows, a total); a row removed may keep the buggy answer as
        it was and still take away what the fixed build needs to meet it, and verify runs
        the buggy build only: such fixtures keep their rows (the request is still shrunk)."""
        return self.server_error or not self.expectation()

    def oracle(self) -> str:
        """One line: what verify judges a run by (the recorded failure, the declared
        expectation and where it comes from, or the recorded answer)."""
        ex = self.exchange
        if self.server_error:
            return (
                f"the recorded server error ({ex.status or ex.error or 'no response'}): a run "
                "reproduces it with a 5xx or an exception"
            )
        wanted = self.expectation()
        if wanted:
            recorded = self._recorded_checks()
            misses = [c.describe() for c in recorded if not c.ok]
            shown = (
                f"the recorded answer misses it ({'; '.join(misses)})"
                if misses
                else "the recorded answer meets it"
            )
            return (
                f"the expectation of {self._expect_sources()} ({describe_expectation(wanted)}):"
                f" a run reproduces the bug when its answer ({ex.status}) misses it as the "
                f"recorded one does; {shown}; the recorded body is not compared"
            )
        return f"the recorded answer (status {ex.status} and body, minus noise)"

    def _expect_sources(self) -> str:
        names = []
        if self.expect:
            names.append("testing.expect")
        if self.expect_status is not None:
            names.append("--expect-status")
        if self.expect_json is not None:
            names.append("--expect-json")
        return " and ".join(names)

    def expected(self) -> str:
        ex = self.exchange
        if self.server_error:
            return f"a server error, as captured ({ex.status or ex.error or 'no response'})"
        wanted = self.expectation()
        if wanted:
            misses = [c.describe() for c in self._recorded_checks() if not c.ok]
            return (
                f"status {ex.status} missing {self._expect_sources()} "
                f"({describe_expectation(wanted)}) as captured "
                f"({'; '.join(misses) or 'the recording meets it'})"
            )
        return f"status {ex.status} and the recorded body"

    def judge(self, outcome: Outcome) -> Verdict:
        """`outcome` against the recording (see the module doc)."""
        expected = self.expected()
        resp = outcome.response
        if outcome.kind in ("timeout", "build", "setup"):
            what = {
                "timeout": "the run hung",
                "build": "the build did not start",
                "setup": "the test's own set-up failed (not the app)",
            }[outcome.kind]
            return Verdict(False, expected, outcome, (f"{what}: {outcome.error}",))
        if self.server_error:
            ok = resp is None or resp.status >= 500
            return Verdict(ok, expected, outcome, () if ok else (f"status {resp and resp.status}",))
        if resp is None:
            return Verdict(False, expected, outcome, (f"no response: {outcome.error}",))
        if resp.status != self.exchange.status:
            return Verdict(
                False, expected, outcome, (f"status {resp.status}, not {self.exchange.status}",)
            )
        if self.expectation():
            return self._judge_expectation(outcome, resp, expected)
        from amber.replay import NoiseRules
        from amber.replay import compare_responses

        cmp = compare_responses(self._expected, resp, self.noise or NoiseRules())
        if cmp.ok:
            return Verdict(True, expected, outcome)
        return Verdict(False, expected, outcome, tuple(cmp.explain().splitlines()[:5]))

    def _judge_expectation(self, outcome: Outcome, resp: Response, expected: str) -> Verdict:
        """A wrong answer: reproduced when the run misses the expectation exactly as the
        recorded answer does (module doc)."""
        recorded = self._recorded_checks()
        if all(c.ok for c in recorded):
            return Verdict(
                False,
                expected,
                outcome,
                (
                    "the recorded answer meets the expectation itself, so no run can show the "
                    "bug by it: declare in testing.expect (or --expect-status/--expect-json) "
                    "what the recorded answer got wrong",
                ),
            )
        live = self._checks(resp)
        if not any(not c.ok for c in live):
            return Verdict(False, expected, outcome, ("the answer meets the expectation",))
        was = {c.name: c for c in recorded}
        differ = [
            f"{c.name}: {c.observed}, recorded {was[c.name].observed}"
            for c in live
            if c.name in was and (c.ok, c.observed) != (was[c.name].ok, was[c.name].observed)
        ]
        if differ:
            return Verdict(False, expected, outcome, tuple(differ))
        return Verdict(True, expected, outcome)

    def _recorded_checks(self) -> list[Check]:
        rec = self._expected
        if rec is None:
            return []
        return self._checks(rec)

    def _checks(self, resp: Response) -> list[Check]:
        def predicate(spec: str) -> bool | None:
            fn = self._predicate(spec)
            if fn is None:
                return None
            import httpx

            live = httpx.Response(resp.status, headers=list(resp.headers), content=resp.body)
            try:
                return bool(fn(live))
            except Exception:
                return False

        return checks(self.expectation(), resp.status, resp.body, predicate)

    def _predicate(self, spec: str) -> Any:
        """The `module:function` predicate, imported once; None when it does not import in
        this process (verify then leaves that check out: the test still asserts it)."""
        if spec not in self._predicates:
            import importlib

            module, _, name = spec.partition(":")
            try:
                fn = getattr(importlib.import_module(module), name)
            except (ImportError, AttributeError):
                fn = None
            self._predicates[spec] = fn if callable(fn) else None
        return self._predicates[spec]

    # -- running ----------------------------------------------------------------------

    @property
    def traces(self) -> bool:
        """Whether `trace` can record the SQL a request runs: not on a served build, whose
        queries amber does not see (rules, id guesses and widening apply there)."""
        return self.base_url is None

    def verify(self, fixture: Fixture, request: dict[str, Any] | None = None) -> Verdict:
        """Load `fixture` into a fresh database, send `request` (a generated test's REQUEST
        literal; the exchange's by default) to a fresh build, judge the answer."""
        return self.judge(self.run(fixture, request))

    def request_literal(self) -> dict[str, Any]:
        """The request as the generated test sends it: credentials the capture masked are
        placeholders the test identity fills (`testing.identity.fields` included), other
        masked values are left out and the configured auth applies."""
        fields = getattr(self.identity, "fields", None) or {}
        return _request_literal(self.exchange, Credentials(dict(fields), []))

    def run(self, fixture: Fixture, request: dict[str, Any] | None = None) -> Outcome:
        """One run (module doc). *Raises:* `FixtureError` when the fixture cannot be loaded."""
        self.runs += 1
        literal = request if request is not None else self.request_literal()
        if self.db_url is not None:
            return self._run_on_url(fixture, self.db_url, literal)
        db = self._database()
        builder = self._template_builder()
        try:
            builder.build(fixture, db)
        except FixtureError:
            raise
        except Exception as e:  # a loader error is about the fixture, say so
            raise FixtureError(f"the fixture could not be loaded for verification: {e}") from e
        return self._send_on(self._env_value(f"sqlite:///{db}"), literal)

    def _run_on_url(self, fixture: Fixture, url: str, literal: dict[str, Any]) -> Outcome:
        """One run on the database at `url` (`db_url`): the fixture merged into what is
        there, as the generated test's `--amber-db-url` load does, and the rows it inserted
        removed after the run (rows the app wrote during the run stay, as in a test)."""
        from amber.fixtures import load

        try:
            handle = load(fixture, url)
        except FixtureError:
            raise
        except Exception as e:  # a loader error is about the fixture, say so
            raise FixtureError(f"the fixture could not be loaded for verification: {e}") from e
        try:
            return self._send_on(url, literal)
        finally:
            handle.cleanup()

    def trace(self, url: str) -> tuple[Outcome, SqlTrace | PgTrace]:
        """Send the request to a fresh build on the database at `url` (a snapshot copy of
        an SQLite source, never the source; a PostgreSQL source in read-only transactions)
        with the SQL it runs recorded (`amber.fixtures.recorder_for`)."""
        from amber.fixtures import recorder_for

        if self._fixed_path() is not None and url.startswith("sqlite:///"):
            # the app opens its own file: the snapshot copy goes there
            import sqlite3

            src = sqlite3.connect(f"file:{url[len('sqlite:///') :]}?mode=ro", uri=True)
            dst = sqlite3.connect(self._database())
            try:
                src.backup(dst)
            finally:
                dst.close()
                src.close()
        tr = recorder_for(url)
        if self.app_python is not None:  # the child records it, with the same recorder
            return self._send_on(self._env_value(url), self.request_literal(), tr), tr
        with tr:
            outcome = self._send_on(self._env_value(url), self.request_literal())
        return outcome, tr

    def _env_value(self, url: str) -> str:
        """What `db_env` holds for the database at `url` (`testing.database.env_form`)."""
        from amber.testing._database import env_value

        return env_value(url, self.database.env_form if self.database else "url")

    def _fixed_path(self) -> Path | None:
        return self.database.path if self.database is not None else None

    def _send_on(
        self, url: str, literal: dict[str, Any], trace: SqlTrace | PgTrace | None = None
    ) -> Outcome:
        if self.base_url is not None:
            return self._send_to_server(self.base_url, literal)
        if self.app_python is not None:
            return self._send_in_child(self.app_python, url, literal, trace)
        start = time.perf_counter()
        result: dict[str, Any] = {}

        def work() -> None:
            try:
                app = load_app(self.app)
            except BaseException as e:  # a build that does not start
                result["build"] = f"{type(e).__name__}: {_first_line(e)}"
                return
            try:
                result["response"] = self._send(app, literal)
            except (IdentityMissing, AmberError) as e:
                # amber's side (a credential amber.yaml does not declare, a login that
                # failed): never the recorded failure reproduced
                result["setup"] = f"{type(e).__name__}: {_first_line(e)}"
            except BaseException as e:  # the app's own failure is the outcome
                result["error"] = f"{type(e).__name__}: {_first_line(e)}"

        with _environ({self.db_env or "": url, "AMBER_CAPTURED_AT": self._captured_at()}):
            worker = threading.Thread(target=work, name="amber-verify", daemon=True)
            worker.start()
            worker.join(self.timeout)
        seconds = time.perf_counter() - start
        if worker.is_alive():
            return Outcome(None, f"timed out after {self.timeout:g} s", seconds, "timeout")
        if "build" in result:
            return Outcome(None, self._clean(result["build"]), seconds, "build")
        if "setup" in result:
            return Outcome(None, self._clean(result["setup"]), seconds, "setup")
        if "error" in result:
            return Outcome(None, self._clean(result["error"]), seconds, "exception")
        return Outcome(self._sanitized(result["response"]), None, seconds)

    def _send_in_child(
        self, python: str, url: str, literal: dict[str, Any], trace: SqlTrace | PgTrace | None
    ) -> Outcome:
        """One run in a fresh child process of `python` (`amber.testing._worker`): the
        request and the raw answer cross only the pipe; the answer is sanitized here as an
        in-process run's is. A hung child is killed (with what it started)."""
        import signal
        import subprocess

        from amber.testing._worker import PROTOCOL

        fields = getattr(self.identity, "fields", None) or {}
        request = {
            "v": PROTOCOL,
            "app": self.app,
            "env": {self.db_env or "": url, "AMBER_CAPTURED_AT": self._captured_at()},
            "request": literal,
            "config": self.config_path,
            "login": credentials_of(self.exchange, dict(fields)).login,
            "trace": url if trace is not None else None,  # the recorder for this URL
        }
        start = time.perf_counter()
        if trace is None:
            forked = self._forked(python, request)
            if forked is not None:
                return self._child_outcome(python, forked, time.perf_counter() - start, None)
        try:
            child = subprocess.Popen(
                [python, "-m", "amber.testing._worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # one process group: a timeout kills it all
            )
        except OSError as e:
            raise UsageError(
                f"--app-python {python}: cannot start it ({e.strerror or e}); give the python "
                "of the app's virtual environment"
            ) from None
        try:
            out, err = child.communicate(json.dumps(request).encode("utf-8"), self.timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
            child.communicate()
            seconds = time.perf_counter() - start
            return Outcome(None, f"timed out after {self.timeout:g} s", seconds, "timeout")
        seconds = time.perf_counter() - start
        try:
            answer: dict[str, Any] = json.loads(out)
        except ValueError:
            return Outcome(
                None, self._clean(_child_died(python, child.returncode, err)), seconds, "build"
            )
        return self._child_outcome(python, answer, seconds, trace)

    def _forked(self, python: str, request: dict[str, Any]) -> dict[str, Any] | None:
        """The answer of a run forked by the fork server (`amber.testing._forkserver`),
        started on the first run; None where it declines (the run goes to a fresh child).
        A run past `timeout` comes back as `{"kind": "timeout"}`."""
        from amber.testing._forkserver import ForkServer
        from amber.testing._forkserver import forking_supported

        env = request["env"]
        server = self._server
        if server is not None and (server.python != python or server.env != env):
            return None  # another environment (a trace's snapshot): a fresh child
        if server is None or not server.alive:
            if server is not None:
                server.close()  # it died between runs: its pipes go with it
                self._server = None
            if self._server_refused is not None or not forking_supported():
                return None
            url = env.get(self.db_env or "", "")
            db = url[len("sqlite:///") :] if url.startswith("sqlite:///") else url or None
            server = ForkServer(python, env, self.app, db if db and "://" not in db else None)
            # the prelude is the imports a fresh child pays too: not bound by a run's timeout
            if not server.start(max(self.timeout, 60.0)):
                self._server_refused = server.refused
                return None
            self._server = server
        answer = server.run(request, self.timeout)
        if answer is None and server.lost:
            return None  # the server died under us (not the run's doing): a fresh child
        return {"kind": "timeout"} if answer is None else answer

    def _child_outcome(
        self,
        python: str,
        answer: dict[str, Any],
        seconds: float,
        trace: SqlTrace | PgTrace | None,
    ) -> Outcome:
        """The outcome of a child's (or a forked run's) answer, sanitized."""
        import base64

        import httpx

        kind = answer.get("kind")
        if kind == "timeout":
            return Outcome(None, f"timed out after {self.timeout:g} s", seconds, "timeout")
        if kind == "died":
            err = str(answer.get("stderr") or "").encode("utf-8")
            status = answer.get("status")
            code = status if isinstance(status, int) else None
            return Outcome(None, self._clean(_child_died(python, code, err)), seconds, "build")
        if trace is not None:
            trace.statements.extend(answer.get("statements") or [])
            trace.tables.update(answer.get("tables") or [])
            if hasattr(trace, "writes"):
                trace.writes += int(answer.get("writes") or 0)
        if kind in ("build", "setup", "exception"):
            return Outcome(None, self._clean(str(answer.get("error"))), seconds, str(kind))
        if kind != "response" or not isinstance(answer.get("status"), int):
            return Outcome(
                None,
                f"{python} answered no response amber reads (protocol {answer.get('v')}, "
                f"kind {kind!r}): install the same amber version in the app's environment",
                seconds,
                "build",
            )
        response = httpx.Response(
            int(answer["status"]),
            headers=[("content-type", str(answer.get("content_type") or ""))],
            content=base64.b64decode(answer.get("body") or ""),
        )
        return Outcome(self._sanitized(response), None, seconds)

    def _send_to_server(self, base_url: str, literal: dict[str, Any]) -> Outcome:
        """One run against a served build (`base_url`), as a URL-mode test sends it: the
        test identity and auth as in-process, `timeout` for the whole exchange. A build
        that does not answer is amber's set-up (never the recorded failure): more rows
        cannot help, and the message says where it was asked."""
        import httpx

        start = time.perf_counter()
        client = self._client(None, base_url)
        kwargs = request_kwargs(literal)
        kwargs.setdefault("timeout", self.timeout)
        try:
            response = client.request(**kwargs)
        except httpx.TimeoutException:
            seconds = time.perf_counter() - start
            return Outcome(None, f"timed out after {self.timeout:g} s", seconds, "timeout")
        except httpx.TransportError as e:
            seconds = time.perf_counter() - start
            where = hide_passwords(base_url)
            why = f"the served build at {where} did not answer ({type(e).__name__}): start it"
            return Outcome(None, self._clean(f"{why}, or check --base-url"), seconds, "setup")
        except (IdentityMissing, AmberError) as e:
            seconds = time.perf_counter() - start
            text = f"{type(e).__name__}: {_first_line(e)}"
            return Outcome(None, self._clean(text), seconds, "setup")
        finally:
            client.close()
        return Outcome(self._sanitized(response), None, time.perf_counter() - start)

    def _client(self, app: Any, base_url: str | None) -> AppClient:
        """The generated test's client for `app` (in-process) or `base_url` (a served
        build): the configured auth, the test identity, a login first when the captured
        request carried a session."""
        client = AppClient(app, base_url, self.auth)
        client.identity = self.identity
        fields = getattr(self.identity, "fields", None) or {}
        client.login_required = credentials_of(self.exchange, dict(fields)).login
        return client

    def _send(self, app: Any, literal: dict[str, Any]) -> httpx.Response:
        client = self._client(app, None)
        try:
            return client.request(**request_kwargs(literal))
        finally:
            client.close()

    def _sanitized(self, response: httpx.Response) -> Response:
        live = snapshot_model(snapshot_from_response(response))
        return self.sanitizer.response(live, self._expected)

    def _clean(self, text: str) -> str:
        """An error message in sanitized space (it may quote a value from the database)."""
        return self.sanitizer.body(text.encode("utf-8"), "text/plain").decode("utf-8", "replace")

    def _captured_at(self) -> str:
        import datetime as dt

        ts = self.exchange.request.timestamp_start
        return dt.datetime.fromtimestamp(ts, tz=dt.UTC).isoformat(timespec="seconds")

    def _database(self) -> Path:
        """The run's database file: the one the app opens (`testing.database.path`,
        claimed: see `DbFile`), else one in a temporary folder."""
        path = self._fixed_path()
        if path is not None:
            if self._fixed is None:
                from amber.testing._database import DbFile

                self._fixed = DbFile(path)
            return self._fixed.claim()
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="amber-verify-"))
        return self._dir / "verify.db"

    def _template_builder(self) -> TemplateBuilder:
        if self._builder is None:
            from amber.testing._template import TemplateBuilder

            self._builder = TemplateBuilder()
        return self._builder

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._builder is not None:
            self._builder.close()
            self._builder = None
        if self._fixed is not None:
            self._fixed.release()
            self._fixed = None
        if self._dir is not None:
            import shutil

            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> Reproducer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _child_died(python: str, code: int | None, stderr: bytes) -> str:
    """What a child that gave no answer left: its exit status and stderr's last line."""
    lines = [ln for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    last = lines[-1].strip()[:300] if lines else "(nothing on stderr)"
    if "No module named" in last and "amber" in last:
        return (
            f"{python} has no amber.testing._worker ({last}): install amber's test runtime "
            "in the app's environment (pip install amber, the same version as here)"
        )
    return f"the app's interpreter {python} exited with status {code}: {last}"


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0][:300] if text else ""


@contextlib.contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values if k}
    try:
        for k, v in values.items():
            if k:
                os.environ[k] = v
        yield
    finally:
        for k, old in saved.items():
            if old is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = old
