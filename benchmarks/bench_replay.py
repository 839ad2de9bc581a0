"""Replay benchmark: bulk throughput against wrk on the same app, and timing fidelity.

    .venv/bin/python benchmarks/bench_replay.py [--requests 15000] [--rounds 7] [--fidelity 10000]
    .venv/bin/python benchmarks/bench_replay.py --apps realistic-fast --requests 2000 --pipeline 7

Targets (issue 4): bulk replay >= 0.9 of wrk's rate on the same app in the same run (the
replayer must never be the bottleneck); at --speed 1 over 10,000 requests, p99 deviation
from the recorded schedule <= 5 ms. Needs `wrk` (Debian package `wrk`).

Two amber clients are measured against wrk in each round:
- `amber replay` itself (a subprocess, as users run it: comparisons, the run's results
  stored, the table printed). Its rate is taken over the run (`elapsed_s` in the stored
  run's summary); the ~0.5 s of interpreter start-up and imports is printed apart.
- the library's `Replayer.run` in this process, with a sink that only compares.

`--pipeline PASSES` measures instead what `amber replay` does per exchange beyond sending
it (carry-over learning, the target sanitizer, the comparison, the result and its encoding)
in this process, on the realistic app's exchanges replayed once: CPU time per exchange.

`--save-pairs DIR` keeps those replayed exchanges (recorded and replayed responses, times,
a few made-up errors and changed answers) and the noise file in DIR (two stores);
`--result-rows FILE --pairs DIR` then stores the run results of those fixed pairs as
`amber replay` does (its sink, a `RunWriter`, a SQLite store; with and without the noise
file and carry-over) and writes the stored rows, a line per run, to FILE: two builds that
store byte-identical results write identical files (a speed change must not change one).

Rates are noisy on a small shared machine; CPU time per request is not (much): printed for
the library replayer (this process, all threads: event loop and store reader, comparisons
included), for wrk, and for the app under either client (user + system time).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
from _proc import cpu_seconds  # benchmarks/_proc.py (the script's folder is on sys.path)

from amber import _aio
from amber._model import Exchange
from amber._model import Request
from amber._model import Response
from amber._model import new_id
from amber._runs import RunLog
from amber._store import ExchangeQuery
from amber._store import Store
from amber.replay._runner import Outcome
from amber.replay._runner import Replayer
from amber.replay._runner import Target

HERE = Path(__file__).resolve().parent
KEY = "bench-replay-key-0123456789abcdef"  # AMBER_KEY of the runs (and of the capture)
AMBER = Path(sys.executable).parent / "amber"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_app(port: int, fast: bool, app: str = "_app:app") -> subprocess.Popen[bytes]:
    # `fast=False` is the setup of ../shared/reference/baselines.md (uvicorn's pure-Python
    # h11 parser and asyncio loop); `fast=True` uses httptools and uvloop when installed.
    impl = (
        ["--http", "httptools", "--loop", "auto"]
        if fast
        else ["--http", "h11", "--loop", "asyncio"]
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            app,
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--workers",
            "1",
            *impl,
        ],
        cwd=HERE,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("the benchmark app did not start")


def cpu_self() -> float:
    """CPU seconds (user + system) of this process so far, all threads."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def cpu_children() -> float:
    """CPU seconds of the child processes waited for so far (wrk runs)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


# wrk sends the requests amber replays (fill() below): the same paths in the same order and
# the same headers, so the app does the same work for either client (one fixed URL without
# those headers measured ~8 % less app CPU per request on uvicorn's h11 parser).
WRK_SCRIPT = """
local i = 0
request = function()
  local path = "{prefix}" .. (i % 5000)
  i = i + 1
  return wrk.format("GET", path, {["accept"] = "application/json", ["user-agent"] = "bench"})
end
"""


def wrk(url: str, seconds: int, script: Path) -> tuple[float, float]:
    """wrk's rate (requests/s) and its CPU time per request (seconds), sending what amber
    replays (`script` holds `WRK_SCRIPT`)."""
    before = cpu_children()
    out = subprocess.run(
        ["wrk", "-t1", "-c8", f"-d{seconds}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    used = cpu_children() - before
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    n = re.search(r"(\d+) requests in", out)
    assert m and n, out
    return float(m.group(1)), used / max(1, int(n.group(1)))


def body(i: int) -> bytes:
    return orjson.dumps({"id": str(i), "name": f"widget {i}", "price": 9.5, "tags": ["a", "b"]})


def fill(store: Store, n: int, spacing: float) -> None:
    t0 = 1_760_000_000.0
    batch = []
    for i in range(n):
        t = t0 + i * spacing
        batch.append(
            Exchange(
                id=new_id(t),
                request=Request(
                    "GET",
                    "http",
                    "api",
                    80,
                    f"/items/{i % 5000}",
                    headers=(("accept", "application/json"), ("user-agent", "bench")),
                    timestamp_start=t,
                ),
                response=Response(
                    200,
                    "OK",
                    headers=(("content-type", "application/json"),),
                    body=body(i % 5000),
                    timestamp_start=t,
                    timestamp_end=t,
                ),
                client_addr=f"198.51.100.{i % 250}",
                route="/items/{id}",
            )
        )
        if len(batch) == 2000:
            store.add_many(batch)
            batch = []
    store.add_many(batch)


def replay(
    store: Store, url: str, *, speed: float = 0.0, concurrency: int = 8, compare: bool = True
) -> tuple[float, list[Outcome], int]:
    from amber.replay import NoiseRules
    from amber.replay import compare_responses

    rules = NoiseRules()
    outcomes: list[Outcome] = []
    mismatches = 0
    keep = speed > 0

    def on(o: Outcome) -> None:
        nonlocal mismatches
        if (
            compare
            and not compare_responses(
                o.exchange.response, o.response, rules, actual_error=o.error
            ).ok
        ):
            mismatches += 1
        if keep:
            outcomes.append(o)

    r = Replayer(Target(url), concurrency=concurrency if not speed else 64, speed=speed)
    start = time.perf_counter()
    _aio.run(r.run(store.iter_exchanges(ExchangeQuery(), page=1000), on))  # as the CLI does
    return time.perf_counter() - start, outcomes, mismatches


def replay_cli(
    store_url: str,
    url: str,
    cwd: Path,
    *,
    exact: bool = True,
    noise: Path | None = None,
    limit: int | None = None,
) -> tuple[float, float, int, int, float]:
    """`amber replay` as users run it: (its rate over the run, the process's wall time,
    peak RSS in MB of the process, mismatches, its CPU seconds (start-up included: a
    number a loaded machine cannot blur)). `limit`: replay only the first exchanges.
    `exact`: a mismatch is a failure (the plain app answers as recorded). `noise`: the
    `--noise` file to pass."""
    env = dict(os.environ, AMBER_KEY=KEY)
    t = time.perf_counter()
    c0 = cpu_children()
    extra = ["--noise", str(noise)] if noise is not None else []
    if limit is not None:
        extra += ["--limit", str(limit)]
    out = subprocess.run(
        [str(AMBER), "replay", "--target", url, "--store", store_url, "--exit-zero", *extra],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t
    cpu = cpu_children() - c0
    if out.returncode != 0:
        raise SystemExit(f"amber replay failed:\n{out.stderr[-3000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the largest child so far
    with Store.open(store_url) as store:
        [info] = RunLog(store).list(1)
    summary = info.summary or {}
    if exact and summary.get("mismatch"):
        raise SystemExit(f"amber replay found {summary['mismatch']} mismatches: {summary}")
    if summary.get("error"):
        raise SystemExit(f"amber replay had transport errors: {summary}")
    rate = summary["sent"] / max(summary["elapsed_s"], 1e-3)
    return rate, wall, peak // 1024, int(summary.get("mismatch") or 0), cpu


def learn_noise(store_url: str, primary: str, secondary: str, tmp: Path) -> Path:
    """Noise rules learned as a release engineer would: `amber shadow --save-noise` over
    the first 1,000 exchanges, with two instances of the app as the two baselines (what
    differs between them: timestamps, nonces, request ids, the per-process order ids)."""
    path = tmp / "noise.yaml"
    t = time.perf_counter()
    out = subprocess.run(
        [
            str(AMBER),
            "shadow",
            "--baseline",
            primary,
            "--baseline2",
            secondary,
            "--candidate",
            primary,
            "--store",
            store_url,
            "--limit",
            "1000",
            "--save-noise",
            str(path),
            "--fail-on",
            "none",
        ],
        env=dict(os.environ, AMBER_KEY=KEY),
        cwd=tmp,
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise SystemExit(f"amber shadow --save-noise failed:\n{out.stderr[-3000:]}")
    paths = [ln.strip()[2:] for ln in path.read_text().splitlines() if ln.strip()[:3] == "- $"]
    print(
        f"noise learned by amber shadow --save-noise from two app instances "
        f"({time.perf_counter() - t:.1f} s): ignore {', '.join(paths)}"
    )
    return path


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


HEADERS = (("accept", "application/json"), ("user-agent", "bench"))
SESSIONS = 16  # the realistic traffic's clients: each session learns ~1/16 of the run


def capture_realistic(url: str, unique: int) -> list[Exchange]:
    """`unique` exchanges of the realistic app (`_app.realistic`) as amber's capture stores
    them: real responses through the ingest `Pipeline` (amber.yaml defaults, the bench's
    key), so names and emails are pseudonyms in the store."""
    import httpx

    from amber._config import Config
    from amber._ingest import Pipeline

    pipeline = Pipeline.from_config(Config(), KEY.encode())
    out = []
    with httpx.Client(base_url=url) as client:
        for i in range(unique):
            t = time.time()
            r = client.get(f"/orders/{i}", headers=dict(HEADERS))
            ex = Exchange(
                id=new_id(t),
                request=Request(
                    "GET", "http", "api", 80, f"/orders/{i}", headers=HEADERS, timestamp_start=t
                ),
                response=Response(
                    r.status_code,
                    r.reason_phrase,
                    headers=tuple((k.decode(), v.decode()) for k, v in r.headers.raw),
                    body=r.content,
                    timestamp_start=t,
                    timestamp_end=time.time(),
                ),
                client_addr=f"198.51.100.{i % SESSIONS}",
                route="/orders/{i}",
            )
            out.append(pipeline.process(ex))
    return out


def fill_from(store: Store, captured: list[Exchange], n: int) -> None:
    """`n` exchanges cycling through `captured` in order (fresh ids and times)."""
    t0 = 1_760_000_000.0
    batch = []
    for i in range(n):
        ex = captured[i % len(captured)]
        t = t0 + i * 0.001
        batch.append(
            dataclasses.replace(
                ex,
                id=new_id(t),
                request=dataclasses.replace(ex.request, timestamp_start=t),
            )
        )
        if len(batch) == 2000:
            store.add_many(batch)
            batch = []
    store.add_many(batch)


@dataclasses.dataclass
class Setup:
    title: str
    app: str  # uvicorn's APP argument
    fast: bool
    store_url: str
    script: Path
    exact: bool  # every response is as recorded (a mismatch is a bug)
    noise: Path | None = None  # the noise file `amber replay` is given (--noise)


def measure(setup: Setup, a: argparse.Namespace, tmp: Path) -> None:
    """Rounds of wrk, `amber replay` and `Replayer.run` against `setup`'s app (a process
    of its own, stopped at the end), printed."""
    port = free_port()
    app = start_app(port, setup.fast, setup.app)
    url = f"http://127.0.0.1:{port}"
    try:
        wrk(url, 2, setup.script)  # warm-up
        # what `amber replay` costs before its first request (interpreter, imports, the
        # store, the noise file): taken off its CPU per request
        startup_cpu = min(
            replay_cli(setup.store_url, url, tmp, exact=False, noise=setup.noise, limit=1)[4]
            for _ in range(2)
        )
        with Store.open(setup.store_url) as store:  # warm-up (imports, the store in the cache)
            replay(store, url, compare=False)
        wrk_rates: list[float] = []
        rates: dict[str, list[float]] = {"cli": [], "lib": []}
        ratios: dict[str, list[float]] = {"cli": [], "lib": []}
        amber_cpu, wrk_cpu, app_amber, app_wrk, walls, cli_cpu = [], [], [], [], [], []
        cli_rss = 0
        mismatches = cli_mismatches = 0
        clients = ("wrk", "cli", "lib")
        for n in range(a.rounds):
            # this machine's speed drifts minute to minute: each round runs the clients
            # back to back, rotating the order, and ratios are taken per round (the
            # median of those is the result)
            for client in clients[n % 3 :] + clients[: n % 3]:
                app0 = cpu_seconds(app.pid)
                if client == "wrk":
                    rate, per = wrk(url, a.wrk_seconds, setup.script)
                    wrk_rates.append(rate)
                    wrk_cpu.append(per)
                    app_wrk.append((cpu_seconds(app.pid) - app0) / (rate * a.wrk_seconds))
                elif client == "cli":
                    rate, wall, rss, cli_mismatches, per = replay_cli(
                        setup.store_url, url, tmp, exact=setup.exact, noise=setup.noise
                    )
                    rates["cli"].append(rate)
                    cli_cpu.append((per - startup_cpu) / a.requests)
                    walls.append(wall - a.requests / rate)
                    cli_rss = max(cli_rss, rss)
                else:
                    c0 = cpu_self()
                    # the store is open only while the library replays from it (as the CLI
                    # process has it open only while it runs)
                    with Store.open(setup.store_url) as store:
                        elapsed, _, mismatches = replay(store, url)
                    amber_cpu.append((cpu_self() - c0) / a.requests)
                    app_amber.append((cpu_seconds(app.pid) - app0) / a.requests)
                    rates["lib"].append(a.requests / elapsed)
            for k in ratios:
                ratios[k].append(rates[k][-1] / wrk_rates[-1])
    finally:
        app.send_signal(signal.SIGINT)
        app.wait(timeout=10)
    med = statistics.median
    print(
        f"bulk replay vs wrk, {setup.title}, {a.requests:,} exchanges streamed from the "
        f"store and compared, 8 concurrent, carry-over on; wrk -t1 -c8 sending the same "
        f"requests: {med(wrk_rates):,.0f} req/s"
    )
    print(
        f"  amber replay (CLI, results stored{', --noise learned by shadow' if setup.noise else ''}"
        f"): {med(rates['cli']):,.0f} req/s, "
        f"ratio {med(ratios['cli']):.2f} (target >= 0.90); start-up "
        f"{med(walls):.2f} s apart; mismatches {cli_mismatches}; peak RSS {cli_rss} MB"
    )
    print(
        f"  Replayer.run (library, compare only): {med(rates['lib']):,.0f} req/s, "
        f"ratio {med(ratios['lib']):.2f}; mismatches {mismatches}; "
        f"peak RSS {rss_mb():.0f} MB"
    )
    print(
        f"  CPU per request: amber replay {med(cli_cpu) * 1e6:.0f} us (the process, all "
        f"threads, start-up of {startup_cpu:.2f} s taken off), library replayer "
        f"{med(amber_cpu) * 1e6:.0f} us (all threads), wrk {med(wrk_cpu) * 1e6:.0f} us; the app "
        f"{med(app_amber) * 1e6:.0f} us under amber, {med(app_wrk) * 1e6:.0f} us "
        "under wrk"
    )
    print(
        f"  rounds: wrk {[round(x) for x in wrk_rates]}; ratios cli "
        f"{[round(x, 2) for x in ratios['cli']]}, library "
        f"{[round(x, 2) for x in ratios['lib']]}"
    )


def pipeline(store_url: str, url: str, noise: Path | None, passes: int) -> None:
    """What `amber replay` does per exchange beyond sending it, in this process: carry-over
    learning, the target sanitizer, the comparison, the `RunResult` and its encoding (the
    run's sink, `replay._run._sink`, with a writer that only encodes), over the first 2,000
    exchanges replayed once against `url` and kept. CPU time per exchange, best and median
    of `passes` (the sessions' learned state kept from pass to pass: the steady state of a
    long run); stable enough under load to compare builds (or run it under callgrind)."""
    from amber._config import Config
    from amber._runs import RunResult
    from amber._runs import encode_result
    from amber.replay import NoiseFile
    from amber.replay._dispatch import session_key_of
    from amber.replay._run import UNHEARD
    from amber.replay._run import ReplaySettings
    from amber.replay._run import ReplaySummary
    from amber.replay._run import _sink
    from amber.replay._run import result_cleaner
    from amber.replay._session import SessionState

    pairs: list[tuple[Exchange, Response | None, float, float | None]] = []

    def keep(o: Outcome) -> None:
        pairs.append((o.exchange, o.response, o.sent_at, o.latency_ms))

    with Store.open(store_url) as store:
        r = Replayer(Target(url), carry_state=False)
        _aio.run(r.run(store.iter_exchanges(ExchangeQuery(limit=2000)), keep))

    class Encoder:  # a `RunWriter` that only encodes (as `add` does, on the loop)
        def add(self, result: RunResult) -> None:
            encode_result(result)

    settings = ReplaySettings(
        target=Target(url),
        clean=result_cleaner(Config(), {"AMBER_KEY": KEY}),
        noise=NoiseFile.load(noise) if noise is not None else NoiseFile(),
    )
    summary = ReplaySummary("bench", url)
    sink = _sink(settings, Encoder(), UNHEARD, summary)  # type: ignore[arg-type]
    states: dict[str, SessionState] = {}
    per: list[float] = []
    for _ in range(passes):
        c0 = time.process_time()
        for ex, resp, sent_at, latency in pairs:
            key = session_key_of(ex, None)
            state = states.get(key)
            if state is None:
                state = states[key] = SessionState()
            state.rewrite(ex.request)
            docs = state.learn(ex.response, resp)
            sink(Outcome(ex, resp, None, sent_at, latency, parsed=docs))
        per.append((time.process_time() - c0) / len(pairs))
    print(
        f"per exchange beyond sending it (in-process, {len(pairs):,} exchanges, "
        f"{passes} passes: learning, target sanitizer, comparison, result encoded): "
        f"best {min(per) * 1e6:.1f} us, median {statistics.median(per) * 1e6:.1f} us; "
        f"{summary.mismatch // passes} differ per pass"
    )


def save_pairs(store_url: str, url: str, noise: Path | None, dest: Path) -> None:
    """The first 2,000 exchanges replayed once against `url`, plus 300 made-up variations
    (connection errors, timeouts, another status, an added header, a text body, a renamed
    member), kept in `dest` as two stores with the same ids in the same order: the recorded
    exchanges (recorded.db) and the replayed answers (replayed.db: the response or error,
    the error's kind, times in `meta`), and the noise file."""
    got: list[tuple[Exchange, Response | None, str | None, str | None, float, Any]] = []
    with Store.open(store_url) as store:
        r = Replayer(Target(url), carry_state=False)

        def keep(o: Outcome) -> None:
            got.append((o.exchange, o.response, o.error, o.error_kind, o.sent_at, o.latency_ms))

        _aio.run(r.run(store.iter_exchanges(ExchangeQuery(limit=2000)), keep))
    pairs = list(got)
    for i, (ex, resp, _, _, t, lat) in enumerate(got[:300]):
        if resp is None:
            continue
        m = i % 6
        if m == 0:
            pairs.append(
                (ex, None, "connection failed: 127.0.0.1:1: refused token=abc", "connect", t, lat)
            )
        elif m == 1:
            pairs.append((ex, dataclasses.replace(resp, status=500), None, None, t, lat))
        elif m == 2:
            extra = (*resp.headers, ("x-extra", "Bearer " + "k" * 32))
            pairs.append((ex, dataclasses.replace(resp, headers=extra), None, None, t, lat))
        elif m == 3:
            text = (("content-type", "text/html"),)
            page = b"<b>jane.doe@example.com</b>"
            pairs.append(
                (ex, dataclasses.replace(resp, body=page, headers=text), None, None, t, lat)
            )
        elif m == 4:
            renamed = resp.body.replace(b'"qty"', b'"q"')
            pairs.append((ex, dataclasses.replace(resp, body=renamed), None, None, t, lat))
        else:
            pairs.append((ex, None, "timeout after 30s", "timeout", t, None))
    dest.mkdir(parents=True, exist_ok=True)
    recorded, replayed = [], []
    for n, (ex, resp, error, kind, t, lat) in enumerate(pairs):
        at = 1_760_000_000.0 + n * 0.001  # the pair's order
        key = new_id(at)
        recorded.append(
            dataclasses.replace(
                ex, id=key, request=dataclasses.replace(ex.request, timestamp_start=at)
            )
        )
        replayed.append(
            Exchange(
                key,
                dataclasses.replace(ex.request, timestamp_start=at),
                resp,
                error,
                meta={"kind": kind, "sent_at": t, "latency_ms": lat},
            )
        )
    for name, exs in (("recorded", recorded), ("replayed", replayed)):
        with Store.open(f"sqlite:///{dest / name}.db") as out:
            out.add_many(exs)
    if noise is not None:
        shutil.copy(noise, dest / "noise.yaml")
    print(f"{len(got):,} replayed pairs and {len(pairs) - len(got)} variations kept in {dest}")


def result_rows(pairs_dir: Path, dest: Path) -> None:
    """The stored results of the pairs `save_pairs` kept (see the module docstring)."""
    import hashlib

    from amber._config import Config
    from amber.replay import NoiseFile
    from amber.replay._dispatch import session_key_of
    from amber.replay._run import ReplaySettings
    from amber.replay._run import ReplaySummary
    from amber.replay._run import _sink
    from amber.replay._run import result_cleaner
    from amber.replay._session import SessionState

    with (
        Store.open(f"sqlite:///{pairs_dir / 'recorded.db'}") as rec,
        Store.open(f"sqlite:///{pairs_dir / 'replayed.db'}") as rep,
    ):
        pairs = list(zip(rec.iter_exchanges(), rep.iter_exchanges(), strict=True))
    assert all(a.id == b.id for a, b in pairs)
    lines: list[str] = []

    class Events:  # what the run reports, kept too
        def started(self, run_id: str, total: int | None) -> None:
            pass

        def notice(self, message: str) -> None:
            lines.append(message)

        def result(self, result: Any) -> None:
            lines.append(repr(result))

    noise_path = pairs_dir / "noise.yaml"
    tmp = Path(tempfile.mkdtemp(prefix="amber-bench-rows-"))
    try:
        with Store.open(f"sqlite:///{tmp / 'rows.db'}") as store:
            log = RunLog(store)
            for noise in (noise_path.exists(), False):
                for carry in (True, False):
                    settings = ReplaySettings(
                        target=Target("http://127.0.0.1:1"),
                        clean=result_cleaner(Config(), {"AMBER_KEY": KEY}),
                        noise=NoiseFile.load(noise_path) if noise else NoiseFile(),
                    )
                    run_id = log.start("replay", "bench", {})
                    writer = log.writer(run_id)
                    summary = ReplaySummary(run_id, "bench")
                    sink = _sink(settings, writer, Events(), summary)
                    states: dict[str, SessionState] = {}
                    for ex, answer in pairs:
                        docs = None
                        if carry and answer.response is not None:
                            key = session_key_of(ex, None)
                            state = states.setdefault(key, SessionState())
                            state.rewrite(ex.request)
                            docs = state.learn(ex.response, answer.response)
                        m = answer.meta
                        sink(
                            Outcome(
                                ex,
                                answer.response,
                                answer.error,
                                m["sent_at"],
                                m["latency_ms"],
                                parsed=docs,
                                error_kind=m["kind"],
                            )
                        )
                    writer.close()
                    # the stored rows, whatever the chunks: the JSON arrays' items joined
                    chunks = [c.decode()[1:-1] for c in log.results_json(run_id)]
                    lines.append(",".join(c for c in chunks if c))
                    lines.append(repr(dataclasses.replace(summary, run_id="")))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    text = "\n".join(lines) + "\n"
    dest.write_text(text)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    print(
        f"{len(lines):,} lines (stored rows per run, results reported) in {dest}: sha256 {digest}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument(
        "--requests",
        type=int,
        default=15_000,
        help="exchanges replayed per round (about 3 s against the baseline app)",
    )
    ap.add_argument("--fidelity", type=int, default=10_000)
    ap.add_argument("--wrk-seconds", type=int, default=3)
    ap.add_argument(
        "--rounds",
        type=int,
        default=7,
        help="wrk, amber replay and the library back to back per round, the order rotating",
    )
    ap.add_argument(
        "--no-noise",
        action="store_true",
        help="replay the realistic app without a noise file (by default one is learned "
        "first with `amber shadow --save-noise` from two instances of the app, and "
        "`amber replay` is given it with --noise, as a release engineer would)",
    )
    ap.add_argument(
        "--apps",
        default="plain,plain-fast,realistic,realistic-fast",
        help="which setups to measure (comma-separated): the plain app (identical "
        "responses) and the realistic one (_app.realistic), each on uvicorn's h11 + asyncio "
        "and on httptools + uvloop ('-fast')",
    )
    ap.add_argument(
        "--pipeline",
        type=int,
        default=0,
        metavar="PASSES",
        help="instead of the rounds: the realistic app's per-exchange work beyond sending "
        "(learning, target sanitizer, comparison, result), in this process, PASSES times",
    )
    ap.add_argument(
        "--save-pairs",
        type=Path,
        metavar="DIR",
        help="instead of the rounds: keep the realistic app's exchanges replayed once (and "
        "made-up variations) in DIR, for --result-rows",
    )
    ap.add_argument("--pairs", type=Path, metavar="DIR", help="the --save-pairs folder")
    ap.add_argument(
        "--result-rows",
        type=Path,
        metavar="FILE",
        help="with --pairs: store the results of those pairs as amber replay does and write "
        "the stored rows to FILE (compare two builds' files)",
    )
    a = ap.parse_args()
    if a.result_rows:
        if not a.pairs:
            ap.error("--result-rows needs --pairs DIR (made with --save-pairs)")
        result_rows(a.pairs, a.result_rows)
        return 0
    if not shutil.which("wrk"):
        print("wrk is not installed: apt-get install -y wrk", file=sys.stderr)
        return 2
    wanted = a.apps.split(",")
    tmp = Path(tempfile.mkdtemp(prefix="amber-bench-replay-"))
    factory = _aio.loop_factory()
    print(
        f"replayer event loop: {factory.__module__ if factory else 'asyncio'} "
        f"(set {_aio.LOOP_ENV}=asyncio to compare)"
    )
    try:
        setups = []
        if any(w.startswith("plain") for w in wanted):
            script = tmp / "items.lua"
            script.write_text(WRK_SCRIPT.replace("{prefix}", "/items/"))
            url = f"sqlite:///{tmp / 'bulk.db'}"
            with Store.open(url) as bulk:
                fill(bulk, a.requests, 0.001)
            for fast in (False, True):
                if ("plain-fast" if fast else "plain") in wanted:
                    title = "httptools+uvloop app" if fast else "baseline app (h11, asyncio)"
                    setups.append(Setup(title, "_app:app", fast, url, script, True))
        if any(w.startswith("realistic") for w in wanted):
            # captured from a process of its own: the replayed app mints other order ids
            port, port2 = free_port(), free_port()
            capture_app = start_app(port, False, "_app:realistic")
            second = start_app(port2, False, "_app:realistic")
            url = f"sqlite:///{tmp / 'realistic.db'}"
            noise: Path | None = None
            try:
                t = time.perf_counter()
                captured = capture_realistic(f"http://127.0.0.1:{port}", min(2000, a.requests))
                print(
                    f"realistic app: {len(captured):,} exchanges captured through the ingest "
                    f"pipeline in {time.perf_counter() - t:.1f} s"
                )
                with Store.open(url) as real:
                    fill_from(real, captured, a.requests)
                if not a.no_noise:
                    noise = learn_noise(
                        url, f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port2}", tmp
                    )
            finally:
                for proc in (capture_app, second):
                    proc.send_signal(signal.SIGINT)
                    proc.wait(timeout=10)
            script = tmp / "orders.lua"
            script.write_text(WRK_SCRIPT.replace("{prefix}", "/orders/"))
            for fast in (False, True):
                if ("realistic-fast" if fast else "realistic") in wanted:
                    title = (
                        "realistic app, httptools+uvloop"
                        if fast
                        else "realistic app (h11, asyncio)"
                    )
                    setups.append(Setup(title, "_app:realistic", fast, url, script, False, noise))
        if a.save_pairs:
            setup = next(x for x in setups if x.app == "_app:realistic")
            port = free_port()
            app = start_app(port, True, setup.app)
            try:
                save_pairs(setup.store_url, f"http://127.0.0.1:{port}", setup.noise, a.save_pairs)
            finally:
                app.send_signal(signal.SIGINT)
                app.wait(timeout=10)
            return 0
        if a.pipeline:
            setup = next(x for x in setups if x.app == "_app:realistic")
            port = free_port()
            app = start_app(port, True, setup.app)
            try:
                pipeline(setup.store_url, f"http://127.0.0.1:{port}", setup.noise, a.pipeline)
            finally:
                app.send_signal(signal.SIGINT)
                app.wait(timeout=10)
            return 0
        for setup in setups:
            measure(setup, a, tmp)
        if a.fidelity:
            port = free_port()
            app = start_app(port, True)
            try:
                fidelity(f"http://127.0.0.1:{port}", a.fidelity, tmp)
            finally:
                app.send_signal(signal.SIGINT)
                app.wait(timeout=10)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def fidelity(url: str, n: int, tmp: Path) -> None:
    """Timing fidelity of `--speed 1` against the plain app (httptools + uvloop)."""
    fid = Store.open(f"sqlite:///{tmp / 'fidelity.db'}")
    spacing = 0.002  # 500 requests/s recorded
    fill(fid, n, spacing)
    c0 = cpu_self()
    elapsed, outcomes, _ = replay(fid, url, speed=1.0, compare=False)
    fid_cpu = (cpu_self() - c0) / n
    dev = sorted(
        abs(o.sent_mono - o.scheduled_at) * 1000 for o in outcomes if o.scheduled_at is not None
    )
    p50, p99 = dev[len(dev) // 2], dev[int(len(dev) * 0.99)]
    print(
        f"timing fidelity at --speed 1 ({len(dev):,} requests over "
        f"{n * spacing:.0f} s recorded, {elapsed:.1f} s replayed): deviation "
        f"p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {dev[-1]:.2f} ms (target p99 <= 5 ms); "
        f"replayer CPU {fid_cpu * 1e6:.0f} us/request; peak RSS {rss_mb():.0f} MB"
    )
    fid.close()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
