"""Verify that a fixture reproduces a captured exchange: load it into a fresh SQLite
database, run the recorded request against an in-process build, and compare the answer with
the recording in sanitized space.

The recorded response is the oracle. A captured server error (or a request that got no
response) is reproduced when the build answers with a server error again (or raises); any
other captured response the user says was wrong (`expect_status`, `expect_json`) when the
build answers with the recorded status and still misses the expectation; a captured good
response when status and body equal the recording (minus noise), both in the capture's
sanitized space (`TargetSanitizer` with its rules and `AMBER_KEY`): nothing unsanitized is
compared, shown or kept.

Each run builds the database from the fixture (`TemplateBuilder`: the schema once, then the
rows), points the app at it through its database environment variable (`db_env`), builds
the app anew (as `--amber-fresh-app` does: nothing carries over from one run to the next),
and sends the request through `AppClient` with the configured auth, in a worker thread
bounded by `timeout` (a run that hangs is reported, not waited for).

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
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

from amber.errors import AmberError
from amber.errors import FixtureError
from amber.errors import UsageError
from amber.testing._assertions import request_kwargs
from amber.testing._client import AppClient
from amber.testing._client import IdentityMissing
from amber.testing._client import load_app
from amber.testing._credentials import Credentials
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
    rules left out of a good response's comparison; `expect_status`/`expect_json` - what
    the user says the answer should have been (the recording is then the bug);
    `timeout` - seconds one run may take."""

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
    runs: int = 0
    _dir: Path | None = field(default=None, repr=False)
    _builder: TemplateBuilder | None = field(default=None, repr=False)
    _expected: Response | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.db_env:
            raise UsageError(
                "verifying a fixture needs the environment variable through which the app "
                "reads its database URL: pass --db-env NAME (or testgen.db_env in amber.yaml)"
            )
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

    def expected(self) -> str:
        ex = self.exchange
        if self.server_error:
            return f"a server error, as captured ({ex.status or ex.error or 'no response'})"
        if self.expect_status is not None or self.expect_json is not None:
            return f"status {ex.status} that misses the expected answer, as captured"
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
        if self.expect_status is not None or self.expect_json is not None:
            misses = []
            if self.expect_status is not None and resp.status != self.expect_status:
                misses.append(f"status is not {self.expect_status}")
            if self.expect_json is not None:
                try:
                    body = json.loads(resp.body)
                except ValueError:
                    body = None
                if body != self.expect_json:
                    misses.append("body differs from --expect-json")
            ok = bool(misses)
            return Verdict(ok, expected, outcome, () if ok else ("the expected answer",))
        from amber.replay import NoiseRules
        from amber.replay import compare_responses

        cmp = compare_responses(self._expected, resp, self.noise or NoiseRules())
        if cmp.ok:
            return Verdict(True, expected, outcome)
        return Verdict(False, expected, outcome, tuple(cmp.explain().splitlines()[:5]))

    # -- running ----------------------------------------------------------------------

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
        db = self._database()
        builder = self._template_builder()
        try:
            builder.build(fixture, db)
        except FixtureError:
            raise
        except Exception as e:  # a loader error is about the fixture, say so
            raise FixtureError(f"the fixture could not be loaded for verification: {e}") from e
        literal = request if request is not None else self.request_literal()
        return self._send_on(f"sqlite:///{db}", literal)

    def trace(self, url: str) -> tuple[Outcome, SqlTrace | PgTrace]:
        """Send the request to a fresh build on the database at `url` (a snapshot copy of
        an SQLite source, never the source; a PostgreSQL source in read-only transactions)
        with the SQL it runs recorded (`amber.fixtures.recorder_for`)."""
        from amber.fixtures import recorder_for

        with recorder_for(url) as tr:
            outcome = self._send_on(url, self.request_literal())
        return outcome, tr

    def _send_on(self, url: str, literal: dict[str, Any]) -> Outcome:
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

    def _send(self, app: Any, literal: dict[str, Any]) -> httpx.Response:
        client = AppClient(app, None, self.auth)
        client.identity = self.identity
        fields = getattr(self.identity, "fields", None) or {}
        client.login_required = credentials_of(self.exchange, dict(fields)).login
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
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="amber-verify-"))
        return self._dir / "verify.db"

    def _template_builder(self) -> TemplateBuilder:
        if self._builder is None:
            from amber.testing._template import TemplateBuilder

            self._builder = TemplateBuilder()
        return self._builder

    def close(self) -> None:
        if self._builder is not None:
            self._builder.close()
            self._builder = None
        if self._dir is not None:
            import shutil

            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> Reproducer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
