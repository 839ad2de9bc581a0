"""Capture benchmark: what `amber capture` costs on top of plain mitmdump.

    .venv/bin/python benchmarks/bench_capture.py [--rounds 7] [--duration 5]

One Starlette app under uvicorn (1 worker) answers a small JSON GET (`/items/{i}`) and a
~2 KB JSON GET with an email and a token in it (`/profile/{i}`). In one run, `wrk -t1 -c8`
measures requests/s (a) straight to the app, (b) through plain `mitmdump --mode reverse:`
(no addon, flow_detail=0) and (c) through `amber capture` (same flags plus the addon), in
rotated order per round so drift favours none.

This machine's speed drifts by 10-30 % from minute to minute (other tenants), so one ratio
of two runs says little. Each round runs mitmdump and amber back to back; the gate is the
median over rounds of amber / mitmdump within a round (drift between rounds cancels), and
the ratio of the per-setup medians is printed next to it. Both proxies are CPU-bound on
one core, so proxy CPU time per request, amber against mitmdump, is printed as a third view
of the same cost.

Target (capture issue): amber / plain mitmdump >= 0.95. Also prints the proxies' peak RSS
(VmHWM) and how many exchanges amber stored against the requests wrk completed through it.
Needs `wrk` (Debian package `wrk`; installed with apt-get when missing and possible).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _proc import cpu_seconds  # benchmarks/_proc.py (the script's folder is on sys.path)
from _proc import descendant_pids

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
KEY = "bench-capture-key-0123456789abcdef"
TARGET_RATIO = 0.95


# -- the app (run in a child process with --serve-app PORT) -----------------------------------


def make_app() -> object:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    filler = [
        {"sku": f"SKU-{n:05d}", "qty": n % 7, "note": "lorem ipsum dolor sit amet"}
        for n in range(24)
    ]

    async def item(request: Request) -> JSONResponse:
        i = request.path_params["i"]
        return JSONResponse({"id": i, "name": f"widget {i}", "price": 9.5, "tags": ["a", "b"]})

    async def profile(request: Request) -> JSONResponse:
        i = request.path_params["i"]
        return JSONResponse(
            {
                "id": i,
                "email": f"customer.{i}@corp-mail.io",
                "access_token": "tok_4f9d2c7a1e8b3f6d0a5c9e2b7d4f1a8c3e5b7d9f",
                "items": filler,
            }
        )

    return Starlette(routes=[Route("/items/{i}", item), Route("/profile/{i}", profile)])


def serve_app(port: int) -> None:
    import uvicorn

    uvicorn.run(
        make_app(), host="127.0.0.1", port=port, workers=1, log_level="warning", access_log=False
    )


# -- helpers ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 300) -> None:
    """Wait for the port to accept connections (generous: a loaded machine starts slowly)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit(f"process {proc.args!r} exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"nothing listening on {port}")


def ensure_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk:
        return wrk
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing wrk (apt-get install -y wrk) ...", file=sys.stderr)
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "wrk"], check=False, stdout=subprocess.DEVNULL
        )
        wrk = shutil.which("wrk")
        if wrk:
            return wrk
    raise SystemExit("wrk is needed: apt-get install -y wrk")


def vm_hwm_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


WRK_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
WRK_N = re.compile(r"(\d+) requests in")
WRK_BAD = re.compile(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)")


def run_wrk(wrk: str, url: str, duration: int) -> tuple[float, int, str]:
    out = subprocess.run(
        [wrk, "-t1", "-c8", f"-d{duration}s", url], capture_output=True, text=True, check=True
    ).stdout
    rps = float(WRK_RPS.search(out).group(1))  # type: ignore[union-attr]
    n = int(WRK_N.search(out).group(1))  # type: ignore[union-attr]
    bad = "; ".join(m.group(0) for m in WRK_BAD.finditer(out))
    return rps, n, bad


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGINT, timeout: float = 60) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


# -- the benchmark ----------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--rounds",
        type=int,
        default=7,
        help="rounds per variant; each runs every setup once, in rotated order",
    )
    ap.add_argument("--duration", type=int, default=5, help="wrk seconds, small JSON GET")
    ap.add_argument("--duration-2k", type=int, default=5, help="wrk seconds, ~2 KB JSON GET")
    ap.add_argument("--serve-app", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_app:
        serve_app(args.serve_app)
        return 0

    wrk = ensure_wrk()
    tmp = Path(tempfile.mkdtemp(prefix="amber-bench-capture-"))
    procs: list[subprocess.Popen[bytes]] = []
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMBER_")}
    env["AMBER_KEY"] = KEY
    try:
        app_port, plain_port, amber_port = free_port(), free_port(), free_port()
        upstream = f"http://127.0.0.1:{app_port}"
        app = subprocess.Popen(
            [sys.executable, __file__, "--serve-app", str(app_port)], stdout=subprocess.DEVNULL
        )
        procs.append(app)
        wait_port(app_port, app)
        common = [
            "--set",
            "keep_host_header=true",
            "--set",
            "flow_detail=0",
            "--set",
            "termlog_verbosity=warn",
        ]
        plain = subprocess.Popen(
            [
                str(BIN / "mitmdump"),
                "--mode",
                f"reverse:{upstream}",
                "--listen-host",
                "127.0.0.1",
                "--listen-port",
                str(plain_port),
                *common,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=tmp,
        )
        procs.append(plain)
        db = tmp / "store.db"
        amber_log = (tmp / "amber.log").open("wb")
        amber = subprocess.Popen(
            [
                str(BIN / "amber"),
                "capture",
                "--upstream",
                upstream,
                "--listen",
                f"127.0.0.1:{amber_port}",
                "--store",
                f"sqlite:///{db}",
            ],
            stdout=amber_log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=tmp,
        )
        procs.append(amber)
        wait_port(plain_port, plain)
        wait_port(amber_port, amber)

        setups = {"direct": app_port, "mitmdump": plain_port, "amber": amber_port}
        variants = [
            ("small JSON GET", "/items/1", args.duration),
            ("~2 KB JSON GET (email + token)", "/profile/1", args.duration_2k),
        ]
        # warm up every path (imports, faker, sqlite) so round 1 is not penalised
        for port in setups.values():
            for _, path, _ in variants:
                run_wrk(wrk, f"http://127.0.0.1:{port}{path}", 1)

        amber_requests = 0
        results: dict[str, dict[str, list[float]]] = {}
        # CPU per request of each proxy process (and of amber's writer process): less noisy
        # than req/s on a shared 2-core machine, and it says where the cost is.
        cpu: dict[str, dict[str, list[float]]] = {}
        proxy_pid = {"mitmdump": plain.pid, "amber": amber.pid}
        writer_pids = descendant_pids(amber.pid)
        names = list(setups)
        for label, path, duration in variants:
            res = results.setdefault(label, {n: [] for n in names})
            use = cpu.setdefault(label, {"mitmdump": [], "amber": [], "writer": []})
            for r in range(args.rounds):
                # the two proxies back to back, alternating which goes first
                order = (
                    ["direct", "mitmdump", "amber"]
                    if r % 2 == 0
                    else ["amber", "mitmdump", "direct"]
                )
                for name in order:
                    pid = proxy_pid.get(name)
                    c0 = cpu_seconds(pid) if pid else 0.0
                    w0 = sum(cpu_seconds(p) for p in writer_pids)
                    rps, n, bad = run_wrk(wrk, f"http://127.0.0.1:{setups[name]}{path}", duration)
                    res[name].append(rps)
                    if pid and n:
                        use[name].append((cpu_seconds(pid) - c0) / n * 1e6)
                    if name == "amber" and n:
                        use["writer"].append(
                            (sum(cpu_seconds(p) for p in writer_pids) - w0) / n * 1e6
                        )
                    if name == "amber":
                        amber_requests += n
                    note = f"  ({bad})" if bad else ""
                    print(
                        f"  {label:32s} round {r + 1} {name:9s} {rps:8.0f} req/s{note}", flush=True
                    )

        hwm = {"mitmdump": vm_hwm_mib(plain.pid), "amber": vm_hwm_mib(amber.pid)}
        code = stop(amber)
        stop(plain)
        amber_log.close()
        log = (tmp / "amber.log").read_text("utf-8", "replace")
        summary = re.findall(r"amber: (seen \d+, stored \d+.*hook errors)", log)

        from amber._store import Store

        with Store.open(f"sqlite:///{db}", create=False) as store:
            stored = store.count()

        print()
        print(
            f"wrk -t1 -c8, {args.rounds} rounds, median req/s "
            f"({args.duration}s / {args.duration_2k}s per run)"
        )
        print(
            f"{'':34s}{'direct':>10s}{'mitmdump':>10s}{'amber':>10s}  amber/mitmdump, "
            "median of per-round ratios"
        )
        ok = True
        for label, res in results.items():
            med = {n: statistics.median(v) for n, v in res.items()}
            per_round = [a / m for a, m in zip(res["amber"], res["mitmdump"], strict=True)]
            paired = statistics.median(per_round)
            ok &= paired >= TARGET_RATIO
            print(
                f"  {label:32s}{med['direct']:10.0f}{med['mitmdump']:10.0f}"
                f"{med['amber']:10.0f}  {paired:.3f} (target >= {TARGET_RATIO}); "
                f"ratio of medians {med['amber'] / med['mitmdump']:.3f}"
            )
            print(f"  {'':32s}per-round ratios {[round(x, 2) for x in per_round]}")
        print("CPU per request, median (us): proxy process; amber's writer process apart")
        for label, use in cpu.items():
            med = {k: statistics.median(v) if v else float("nan") for k, v in use.items()}
            print(
                f"  {label:32s} mitmdump {med['mitmdump']:6.0f}   amber {med['amber']:6.0f} "
                f"({med['amber'] / med['mitmdump']:.3f}x)   writer {med['writer']:6.0f}"
            )
        print(
            f"peak RSS (VmHWM): plain mitmdump {hwm['mitmdump']:.0f} MiB, "
            f"amber capture {hwm['amber']:.0f} MiB"
        )
        print(
            f"amber: {amber_requests} requests completed by wrk (plus warm-up), "
            f"{stored} exchanges stored; exit code {code}"
        )
        print(f"amber summary: {summary[-1] if summary else '(no summary line)'}")
        print("target met" if ok else "target NOT met: amber is slower than 0.95 of mitmdump")
        return 0
    finally:
        for p in reversed(procs):
            stop(p)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
