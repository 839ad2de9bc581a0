"""Run one corpus entry end to end: venvs, served build, capture, gen-test, N test runs."""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import importlib.util
import os
import random
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

import httpx

from realapps._app import RealApp
from realapps._app import Request

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "realapps"
AMBER = str(Path(sys.executable).with_name("amber"))
KEY = "realapps-corpus-key-0123456789abcdef"
READY_LINE = "amber capture: listening on"

# What the generated tests need in the app's environment: amber's base install (the test
# runtime) and pytest, as docs/testing.md says (SQLite fixtures load without SQLAlchemy).
RUNTIME = ("pytest",)

# What URL-mode venvs get beyond the runtime: nothing since the plugin loads a fixture into
# an SQLite URL (`--amber-db-url sqlite:///...`) through the stdlib when SQLAlchemy is absent
# (`load_sqlite`); kept as the place to add what a URL-mode entry may need.
URL_EXTRA: tuple[str, ...] = ()

# gen-test runs in amber's own venv (this interpreter's `amber`) and verifies, traces and
# shrinks with `--app-python` = the buggy release's python: each run in a fresh child of the
# app's interpreter, which needs only the test runtime, so no release venv gets amber's cli
# extra (mitmproxy, SQLAlchemy 2...) and none has to install next to it.


class HarnessError(RuntimeError):
    """A step of the harness failed (not the generated test: the setup around it)."""


@dataclass
class Result:
    """What one run of an entry measured."""

    app: str
    n: int
    commands: list[str] = field(default_factory=list)
    times: dict[str, float] = field(default_factory=dict)
    captured_status: int = 0
    gen_output: str = ""
    generated: list[str] = field(default_factory=list)
    buggy: dict[str, int] = field(default_factory=dict)
    fixed: dict[str, int] = field(default_factory=dict)
    last_output: dict[str, str] = field(default_factory=dict)
    mode: str = "in-process"
    glue_lines: int = 0
    db_urls: dict[str, str] = field(default_factory=dict)  # PostgreSQL entries: role -> URL

    @property
    def reproduced(self) -> bool:
        """Failed on the buggy release and passed on the fixed one, every run."""
        return self.buggy.get("failed", 0) == self.n and self.fixed.get("passed", 0) == self.n

    def summary(self) -> str:
        lines = [f"== {self.app} ({self.mode}; glue {self.glue_lines} lines)"]
        lines += [f"$ {c}" for c in self.commands]
        lines.append(f"captured status: {self.captured_status}")
        lines.append(f"gen-test: {self.gen_output.strip() or '(no output)'}")
        lines.append("times: " + ", ".join(f"{k} {v:.1f} s" for k, v in self.times.items()))
        lines.append(f"buggy: {_counts(self.buggy)} of {self.n} (must all fail)")
        lines.append(f"fixed: {_counts(self.fixed)} of {self.n} (must all pass)")
        lines.append("REPRODUCED" if self.reproduced else "NOT REPRODUCED")
        return "\n".join(lines)


def _counts(c: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(c.items())) or "no runs"


def free_port() -> int:
    """A port free on 127.0.0.1 for a server the harness starts (it binds it later).

    Not the kernel's pick (`bind(0)`): that comes from the ephemeral range every outgoing
    connection takes its port from, so in the seconds before the server binds it another
    process's connection may hold it, and under `pytest -n` another worker's free_port may
    give it again. Ports come from below the ephemeral range instead (10000-31999), from a
    slice of it of each xdist worker's own, at random, tried by binding."""
    # (tests/conftest.py keeps the worker's id there: it hides PYTEST_XDIST_WORKER)
    worker = os.environ.get("REALAPPS_PORT_SLOT") or os.environ.get("PYTEST_XDIST_WORKER", "")
    worker = worker.removeprefix("gw")
    slot = int(worker) % 4 if worker.isdigit() else 0
    lo = 10000 + slot * 5500
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(lo, lo + 5500)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:  # a crowded machine: the kernel's pick after all
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(
    cond: Callable[[], bool], timeout: float, what: str, proc: subprocess.Popen[bytes]
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        if proc.poll() is not None:
            raise HarnessError(f"{what}: the process exited with {proc.returncode}")
        time.sleep(0.1)
    raise HarnessError(f"{what}: not ready after {timeout:.0f} s")


def _http_up(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/", timeout=2.0)
    except httpx.HTTPError:
        return False
    return True


def _sh(args: list[str | Path], cwd: Path | None = None) -> str:
    text = " ".join(shlex.quote(str(a)) for a in args)
    return f"(cd {shlex.quote(str(cwd))} && {text})" if cwd else text


def _check(args: list[str | Path], what: str, **kw: object) -> str:
    done = subprocess.run(
        [str(a) for a in args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
        **kw,  # type: ignore[arg-type]
    )
    if done.returncode != 0:
        raise HarnessError(f"{what} failed ({done.returncode}):\n{done.stdout[-4000:]}")
    return done.stdout


def amber_wheel(work: Path) -> Path:
    """amber's wheel built from this checkout (the test runtime installs from it).

    Built once per process and per state of the sources: every entry of a pytest session
    installs the same wheel, so building it once saves ~5 s per entry; a changed source file
    (an edit between two `python -m realapps run`s in one process is rare, but a long-lived
    caller may make one) builds a new one. Runs in parallel processes each build their own."""
    state = _source_state()
    built = _WHEELS.get(state)
    if built is not None and built.exists():
        return built
    out = work / "wheel"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    _check(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", out, ROOT],
        "building amber's wheel",
    )
    # kept outside `work` (removed after each entry), for the process's lifetime
    keep = Path(tempfile.mkdtemp(prefix="realapps-wheel-"))
    built = shutil.copy2(next(out.glob("amber-*.whl")), keep)
    _WHEELS[state] = Path(built)
    return Path(built)


_WHEELS: dict[str, Path] = {}
_PACKAGES = ("amber", "capture", "replay", "fixtures", "testing")


def _source_state() -> str:
    """Names, sizes and mtimes of what goes into the wheel: cheap, and changes on any edit."""
    h = hashlib.sha256()
    for name in ("pyproject.toml", *_PACKAGES):
        for f in sorted((ROOT / name).rglob("*")) if (ROOT / name).is_dir() else [ROOT / name]:
            if f.is_file() and "__pycache__" not in f.parts:
                st = f.stat()
                h.update(f"{f.relative_to(ROOT)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _installer() -> list[str] | None:
    """uv, when this interpreter has it (the dev extra does): it installs a release's venv
    in ~2 s where pip takes ~15-35 s, which is most of the corpus's time on a fresh clone.
    None: use the venv's own pip."""
    if importlib.util.find_spec("uv") is None:
        return None
    return [sys.executable, "-m", "uv"]


def app_venv(
    app: RealApp, version: str, wheel: Path, cache: Path, extra: tuple[str, ...] = ()
) -> Path:
    """A cached venv with the app at `version` and amber's test runtime (plus `extra`);
    returns its python. The venv is keyed by what is installed from PyPI; amber is
    re-installed whenever the checkout changed since it was last installed there."""
    reqs = [f"{app.package}=={version}", *app.pins, *RUNTIME, *extra]
    uv = _installer()
    # a venv uv made has no pip: keyed apart from pip's, so either installer finds its own
    key = hashlib.sha256("\n".join([*reqs, "uv" if uv else "pip"]).encode()).hexdigest()[:12]
    venv = cache / f"{app.package}-{version}-{key}"
    python = venv / "bin" / "python"
    stamp = venv / ".realapps-installed"
    # pytest -n: entries of two workers may share a release's venv; one installs it at a
    # time, and amber is re-installed only when the checkout changed (never under a run)
    with _locked(cache / f"{venv.name}.lock"):
        _make_venv(venv, python, stamp, reqs, uv, wheel)
    return python


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on `path` (created), held for the block, across processes."""
    import fcntl

    with path.open("a") as fp:
        fcntl.flock(fp, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fp, fcntl.LOCK_UN)


def _make_venv(
    venv: Path, python: Path, stamp: Path, reqs: list[str], uv: list[str] | None, wheel: Path
) -> None:
    if not stamp.exists():
        shutil.rmtree(venv, ignore_errors=True)
        if uv is None:
            _check([sys.executable, "-m", "venv", venv], f"creating {venv}")
        else:  # the same base interpreter as `python -m venv` would use
            _check([*uv, "venv", "-q", "--python", sys.executable, venv], f"creating {venv}")
        # `python -m venv` on 3.11 puts setuptools (with pkg_resources, which releases of
        # 2021-2022 import) in every venv; uv's has none, and the newest has no pkg_resources
        seed = ["setuptools<81"] if uv is not None else []
        _check([*_install(python, uv), *reqs, *seed, wheel], f"installing {reqs}")
        stamp.write_text("\n".join(reqs) + "\n")
    installed = venv / ".realapps-amber"
    state = _source_state()
    if installed.exists() and installed.read_text() == state:
        return  # this checkout's amber is there already
    again = "--reinstall" if uv is not None else "--force-reinstall"
    _check([*_install(python, uv), "--no-deps", again, wheel], "installing amber's wheel")
    installed.write_text(state)


def _install(python: Path, uv: list[str] | None) -> list[str | Path]:
    """The install command for the venv of `python`: uv's pip, or the venv's own."""
    if uv is None:
        return [python, "-m", "pip", "install", "-q"]
    return [*uv, "pip", "install", "-q", "--python", python]


class Served:
    """A build served on 127.0.0.1 (stopped on exit)."""

    def __init__(self, cmd: list[str], port: int, log: Path, cwd: Path) -> None:
        self.port = port
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=cwd
            )
        self.log = log

    def __enter__(self) -> Served:
        try:
            _wait(lambda: _http_up(self.port), 120, f"serving ({self.log})", self.proc)
        except HarnessError as e:
            self.stop()
            raise HarnessError(f"{e}\n{self.log.read_text(errors='replace')[-3000:]}") from None
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def capture(app: RealApp, python: Path, work: Path, res: Result) -> str:
    """Serve the buggy build behind `amber capture`, send the request, return the amber id."""
    db = work / "source" / f"{app.db_name}.db"
    port, proxy = free_port(), free_port()
    store = f"sqlite:///{work / 'store.db'}"
    serve_cmd = (
        app.serve(python, db, port)
        if app.postgres is None
        else _pg_serve(app, python, work, port, res)
    )
    cap_cmd = [AMBER, "capture", "--upstream", f"http://127.0.0.1:{port}"]
    cap_cmd += ["--listen", f"127.0.0.1:{proxy}", "--store", store]
    res.commands += [_sh(list(serve_cmd)), _sh(list(cap_cmd))]
    env = {k: v for k, v in os.environ.items() if "PROXY" not in k.upper()}
    env["AMBER_KEY"] = KEY
    with Served(serve_cmd, port, work / "serve-buggy.log", work):
        log = work / "capture.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                cap_cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=env, cwd=work,
            )  # fmt: skip
        try:
            try:
                _wait(lambda: READY_LINE in log.read_text(errors="replace"), 120, "capture", proc)
            except HarnessError as e:
                raise HarnessError(f"{e}:\n{log.read_text(errors='replace')[-3000:]}") from None
            r = app.request
            with httpx.Client(base_url=f"http://127.0.0.1:{proxy}", timeout=60) as client:
                if app.login is not None:
                    lg = app.login
                    body = _with_cookies(client, lg)
                    login = client.request(lg.method, lg.path, headers=lg.headers, content=body)
                    res.commands.append(f"{lg.method} {lg.path} -> {login.status_code} (login)")
                resp = client.request(r.method, r.path, headers=r.headers, content=r.body)
            res.captured_status = resp.status_code
            res.commands.append(f"{r.method} http://127.0.0.1:{proxy}{r.path}")
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                code = proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
        if code != 0:
            raise HarnessError(f"amber capture exited {code}:\n{log.read_text()[-3000:]}")
    from amber._store import Store

    with Store.open(store, create=False, read_only=True) as s:
        found = [(ex.started_at, ex.id) for ex in s.iter_exchanges()]
    want = 1 + (app.login is not None) + _cookie_pages(app)
    if len(found) != want:
        raise HarnessError(f"expected {want} captured exchanges, the store holds {len(found)}")
    return max(found)[1]  # the triggering request is the last one


_COUNT = re.compile(r"(\d+) (passed|failed|error|errors|xfailed|skipped)")


def pytest_counts(output: str) -> dict[str, int]:
    """Outcome counts from pytest's summary line ('1 failed, 2 passed in 0.5s')."""
    tail = output.strip().splitlines()[-1] if output.strip() else ""
    out: dict[str, int] = {}
    for num, word in _COUNT.findall(tail):
        word = "error" if word.startswith("error") else word
        out[word] = out.get(word, 0) + int(num)
    return out


def run_tests(
    app: RealApp, python: Path, work: Path, n: int, label: str, res: Result
) -> dict[str, int]:
    """Run the generated tests `n` times in the app's environment; count the outcomes."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AMBER_", "PYTEST_"))}
    env["PYTHONPATH"] = str(work / "glue")
    env["AMBER_KEY"] = KEY
    cmd: list[str | Path] = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"]
    totals: dict[str, int] = {}
    served: Served | None = None
    if app.postgres is not None:
        cmd += ["--amber-db-url", _pg_migrated(app, python, work, label, res)]
    if app.glue is None:
        target = work / f"target-{label}" / f"{app.db_name}.db"  # the name the URL uses
        target.parent.mkdir(exist_ok=True)
        target.unlink(missing_ok=True)
        target.touch()  # an empty database: the fixture creates its tables and rows
        port = free_port()
        served = Served(app.serve(python, target, port), port, work / f"serve-{label}.log", work)
        served.__enter__()
        cmd += [
            "--amber-base-url",
            f"http://127.0.0.1:{port}",
            "--amber-db-url",
            f"sqlite:///{target}",
        ]
    res.commands.append(f"PYTHONPATH=glue {_sh(cmd, work)}  # x{n}, {label}")
    try:
        for _ in range(n):
            done = subprocess.run(
                [str(c) for c in cmd], cwd=work, env=env, text=True,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False,
            )  # fmt: skip
            counts = pytest_counts(done.stdout)
            if not counts:
                counts = {f"rc{done.returncode}": 1}
            outcome = (
                "passed"
                if counts == {"passed": 1}
                else "failed"
                if counts == {"failed": 1}
                else "error"
            )
            totals[outcome] = totals.get(outcome, 0) + 1
            res.last_output[label] = done.stdout
    finally:
        if served is not None:
            served.stop()
    return totals


def verifies(app: RealApp) -> bool:
    """Whether gen-test verifies against the app (in the buggy release's interpreter,
    `--app-python`, or, in URL mode, against the buggy release served on a verify database:
    `--base-url` + `--verify-db-url`); else it runs with --no-verify (the entry's `verify`
    says why)."""
    return app.verify is None


def _capture_and_generate(app: RealApp, buggy: Path, work: Path, res: Result) -> str:
    """Seed, serve the buggy release behind amber capture, send the request, gen-test."""
    if app.glue is not None:
        (work / "glue" / f"{app.glue_module}.py").write_text(app.glue)
    if app.postgres is None:
        app.seed(work / "source" / f"{app.db_name}.db")
    else:
        _pg_seed(app, buggy, work, res)
    (work / "amber.yaml").write_text(app.config)

    t = time.monotonic()
    amber_id = capture(app, buggy, work, res)
    res.times["serve+capture"] = time.monotonic() - t

    t = time.monotonic()
    gen: list[str | Path] = [AMBER, "gen-test", amber_id, "--out", "tests"]
    source = res.db_urls.get("source") or f"sqlite:///source/{app.db_name}.db"
    gen += ["--source-db", source, "--store", "sqlite:///store.db"]
    if app.glue is not None:
        gen += ["--app", app.app_spec, "--db-env", app.db_env]
    served: Served | None = None
    if verifies(app) and app.glue is None:
        # URL mode: the buggy release served on an empty verify database, into which each
        # verify run loads its fixture, as the generated test does with --amber-db-url
        target = work / "verify" / f"{app.db_name}.db"  # the name the URL uses
        target.parent.mkdir(exist_ok=True)
        target.touch()
        port = free_port()
        served = Served(app.serve(buggy, target, port), port, work / "serve-verify.log", work)
        gen += ["--base-url", f"http://127.0.0.1:{port}", "--verify-db-url", f"sqlite:///{target}"]
    elif verifies(app):
        gen += ["--app-python", buggy]  # the child imports the glue: PYTHONPATH=glue
        if app.postgres is not None:  # verify runs on a database migrated as the tests' are
            gen += ["--verify-db-url", _pg_migrated(app, buggy, work, "verify", res)]
    elif app.glue is not None:
        gen.append("--no-verify")
    gen += list(app.gen_args)
    in_process = verifies(app) and app.glue is not None
    res.commands.append(("PYTHONPATH=glue " if in_process else "") + _sh(gen, work))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMBER_")}
    env["AMBER_KEY"] = KEY
    if in_process:
        env["PYTHONPATH"] = str(work / "glue")
    with served if served is not None else contextlib.nullcontext():
        done = subprocess.run(
            [str(g) for g in gen], cwd=work, env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False,
        )  # fmt: skip
    res.gen_output = done.stdout
    res.times["gen-test"] = time.monotonic() - t
    if done.returncode != 0:
        raise HarnessError(f"amber gen-test failed ({done.returncode}): {done.stdout.strip()}")
    return amber_id


def run_app(app: RealApp, n: int = 3, cache: Path = CACHE, keep: Path | None = None) -> Result:
    """The whole loop for one entry; raises HarnessError if a step around the test fails."""
    res = Result(app=app.name, n=n, glue_lines=app.glue_lines)
    res.mode = "in-process" if app.glue is not None else "URL mode (served build)"
    cache.mkdir(parents=True, exist_ok=True)
    work = keep or Path(tempfile.mkdtemp(prefix=f"realapps-{app.name}-"))
    work.mkdir(parents=True, exist_ok=True)
    (work / "source").mkdir(exist_ok=True)
    (work / "glue").mkdir(exist_ok=True)
    try:
        with pg_databases(app, res):
            return _run_in(app, n, cache, work, res)
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)


def _run_in(app: RealApp, n: int, cache: Path, work: Path, res: Result) -> Result:
    t = time.monotonic()
    wheel = amber_wheel(work)
    # The fixed release's venv installs while the buggy one is served and captured.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        url = URL_EXTRA if app.glue is None else ()
        fixed_venv = pool.submit(app_venv, app, app.fixed, wheel, cache, url)
        buggy = app_venv(app, app.buggy, wheel, cache, url)
        res.times["buggy venv"] = time.monotonic() - t
        try:
            _capture_and_generate(app, buggy, work, res)
        finally:
            t = time.monotonic()
            fixed = fixed_venv.result()
            res.times["fixed venv (waited)"] = time.monotonic() - t
    res.generated = sorted(str(p.relative_to(work)) for p in (work / "tests").rglob("*.*"))
    check_generated(work, res)

    t = time.monotonic()
    res.buggy = run_tests(app, buggy, work, n, "buggy", res)
    res.times[f"{n} runs buggy"] = time.monotonic() - t
    t = time.monotonic()
    res.fixed = run_tests(app, fixed, work, n, "fixed", res)
    res.times[f"{n} runs fixed"] = time.monotonic() - t
    return res


def check_generated(work: Path, res: Result) -> None:
    """What the brief asks of generated files, on a real app: `ruff format --check` and
    `ruff check` with ruff's defaults (the application's own lint, not amber's config), and
    `amber scan` of the tests, the fixtures and the store finds nothing raw (the entry's
    declared test values aside). A failure is the entry's failure (HarnessError)."""
    ruff = Path(sys.executable).with_name("ruff")
    checks: list[list[str | Path]] = [[AMBER, "scan", "tests", "store.db"]]
    if ruff.exists():  # the dev install has it; a bare runtime may not
        checks[:0] = [[ruff, "format", "--isolated", "--check", "tests"],
                      [ruff, "check", "--isolated", "tests"]]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMBER_")}
    env["AMBER_KEY"] = KEY
    for cmd in checks:
        res.commands.append(_sh(cmd, work))
        done = subprocess.run(
            [str(c) for c in cmd], cwd=work, env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise HarnessError(
                f"the generated files fail {Path(str(cmd[0])).name} {cmd[1]} "
                f"({done.returncode}): {done.stdout.strip()[-2000:]}"
            )


# -- PostgreSQL entries (`RealApp.postgres`) -------------------------------------------

PG_ENV = "AMBER_TEST_PG_URL"
# the source, gen-test's verify database (--verify-db-url), one test database a release
PG_ROLES = ("source", "verify", "buggy", "fixed")


def pg_missing(app: RealApp) -> str | None:
    """Why this entry cannot run here (a PostgreSQL entry without a server), else None."""
    if app.postgres is None or os.environ.get(PG_ENV):
        return None
    return (
        f"{app.name} runs on PostgreSQL and {PG_ENV} is not set: start one with "
        f'eval "$(.ci/pg-up)" (CI sets it)'
    )


@contextlib.contextmanager
def pg_databases(app: RealApp, res: Result) -> Iterator[None]:
    """The entry's PostgreSQL databases (res.db_urls), created empty on the server of
    $AMBER_TEST_PG_URL and dropped afterwards; nothing for a SQLite entry."""
    if app.postgres is None:
        yield
        return
    missing = pg_missing(app)
    if missing:
        raise HarnessError(missing)
    import psycopg

    server = os.environ[PG_ENV]
    stem = re.sub(r"[^a-z0-9]+", "_", app.name.lower())[:30]
    run_id = f"{os.getpid()}_{os.urandom(3).hex()}"
    names = {r: f"realapps_{stem}_{run_id}_{r}" for r in PG_ROLES}
    base = server.rsplit("/", 1)[0]
    with psycopg.connect(server, autocommit=True) as admin:
        for name in names.values():
            admin.execute(f'CREATE DATABASE "{name}"')
    res.db_urls = {r: f"{base}/{n}" for r, n in names.items()}
    try:
        yield
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            for name in names.values():
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_env(app: RealApp, work: Path, url: str) -> list[str]:
    """`env` arguments: the glue importable, the database's URL in the entry's variable."""
    return ["env", f"PYTHONPATH={work / 'glue'}", f"{app.db_env}={url}"]


def _pg_seed(app: RealApp, python: Path, work: Path, res: Result) -> None:
    """Migrate the source database with the buggy release's tooling, then write its rows."""
    assert app.postgres is not None
    url = res.db_urls["source"]
    for step, make in (("migrate", app.postgres.migrate), ("seed", app.postgres.seed)):
        cmd = [*_pg_env(app, work, url), *make(python)]
        res.commands.append(_sh(list(cmd)) + f"  # {step} the source database")
        _check(list(cmd), f"{step} of the source database", cwd=work)


def _pg_migrated(app: RealApp, python: Path, work: Path, label: str, res: Result) -> str:
    """The release's test database, migrated by that release (the fixture merges into the
    rows its migrations create, as in the app's own CI); returns its URL."""
    assert app.postgres is not None
    url = res.db_urls[label]
    cmd = [*_pg_env(app, work, url), *app.postgres.migrate(python)]
    res.commands.append(_sh(list(cmd)) + f"  # migrate the {label} test database")
    _check(list(cmd), f"migrate of the {label} test database", cwd=work)
    return url


def _pg_serve(app: RealApp, python: Path, work: Path, port: int, res: Result) -> list[str]:
    assert app.postgres is not None
    return [*_pg_env(app, work, res.db_urls["source"]), *app.postgres.serve(python, port)]


_COOKIE_FIELD = re.compile(rb"\{cookie:([^{}]+)\}")


def _cookie_pages(app: RealApp) -> int:
    """1 when the login form carries a cookie's value (`{cookie:csrftoken}`): its page is
    fetched first, through the proxy too."""
    return int(bool(app.login and app.login.body and _COOKIE_FIELD.search(app.login.body)))


def _with_cookies(client: httpx.Client, login: Request) -> bytes | None:
    """The login body with `{cookie:NAME}` replaced by that cookie's value, from a GET of
    the login page (a CSRF token the form must send back, as a browser's form does)."""
    if not login.body or not _COOKIE_FIELD.search(login.body):
        return login.body
    client.get(login.path)
    from urllib.parse import quote_plus

    def value(m: re.Match[bytes]) -> bytes:
        got = client.cookies.get(m.group(1).decode())
        if got is None:
            raise HarnessError(f"GET {login.path} set no cookie {m.group(1).decode()!r}")
        return quote_plus(got).encode()

    return _COOKIE_FIELD.sub(value, login.body)
