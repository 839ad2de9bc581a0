"""`amber demo`: the whole loop on the bundled example, from capture to a regression test.

1. seed the example shop's database and start the shop (the buggy build);
2. put `amber capture` in front of it and drive realistic traffic through the proxy;
3. find the failing request (the request id the shop logged with its 500);
4. replay it against the running build (it fails the same way);
5. generate the regression test with its database fixture (`amber gen-test --source-db`);
6. run the test against the buggy build (it fails) and the fixed build (it passes);
7. stop everything it started (also on Ctrl-C) and list every file it wrote.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from amber.cli._common import Command
from amber.cli._common import UsageError
from amber.cli._common import writable_dir
from amber.errors import AmberError

APP_SPEC = "examples.shop.app:create_app"
DB_ENV = "SHOP_DATABASE_URL"


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--examples",
        metavar="DIR",
        default="examples",
        help="the bundled examples directory (default: ./examples)",
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        default="demo-output",
        help="where the demo writes its store, database and tests "
        "(default: ./demo-output, replaced on each run)",
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float = 30) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AmberError(
                f"{what} exited with status {proc.returncode} during start-up; "
                "see its log in the demo's --out directory"
            )
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AmberError(
        f"{what} did not start listening on 127.0.0.1:{port}; see its log in "
        "the demo's --out directory"
    )


class _Demo:
    def __init__(self, examples: Path, out: Path) -> None:
        self.examples = examples.resolve()
        self.out = out.resolve()
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.env = dict(os.environ)
        self.env["PYTHONPATH"] = os.pathsep.join(
            [str(self.examples.parent), *filter(None, [os.environ.get("PYTHONPATH")])]
        )
        self.env.setdefault("AMBER_KEY", secrets.token_hex(32))
        self.env["AMBER_STORE"] = f"sqlite:///{self.out / 'store.db'}"
        self.env.pop("AMBER_CONFIG", None)
        self.db_url = f"sqlite:///{self.out / 'shop.db'}"
        self.python = sys.executable
        self.amber = [sys.executable, "-m", "amber"]

    def say(self, text: str) -> None:
        print(f"\n== {text}", flush=True)

    def run(self, *cmd: str, check: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            list(cmd),
            cwd=self.out,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=300,
        )
        if check and result.returncode != 0:
            # the step's own output first: the error stays one line
            sys.stderr.write(result.stdout + result.stderr)
            raise AmberError(
                f"{' '.join(cmd[:4])} ... failed with exit status "
                f"{result.returncode}: its output is above, the logs in {self.out}"
            )
        return result

    def start(self, what: str, *cmd: str, port: int, **env: str) -> subprocess.Popen[bytes]:
        log = (self.out / f"{what.replace(' ', '-')}.log").open("wb")
        proc = subprocess.Popen(
            list(cmd), cwd=self.out, env={**self.env, **env}, stdout=log, stderr=subprocess.STDOUT
        )
        self.procs.append((what, proc))
        _wait_port(port, proc, what)
        return proc

    def stop(self, proc: subprocess.Popen[bytes], timeout: float = 30) -> int:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

    def cleanup(self) -> None:
        for _what, proc in reversed(self.procs):
            self.stop(proc, timeout=10)

    def _write_pytest_ini(self) -> None:
        """`pytest.ini` in --out: the generated tests run from there as printed, with no
        PYTHONPATH (its `pythonpath` puts the examples' parent on sys.path, pytest >= 7)."""
        rel = os.path.relpath(self.examples.parent, self.out)
        (self.out / "pytest.ini").write_text(
            "# written by `amber demo`: `python -m pytest tests` here finds examples/\n"
            f"[pytest]\npythonpath = {rel}\n"
        )

    def main(self) -> int:
        started = time.monotonic()
        if not (self.examples / "shop" / "app.py").is_file():
            raise UsageError(
                f"no example app at {self.examples / 'shop'}: run from the "
                "repository root or pass --examples DIR"
            )
        if self.out.exists():
            import shutil

            shutil.rmtree(self.out)
        self.out.mkdir(parents=True)
        (self.out / "amber.yaml").write_text(
            (self.examples / "shop" / "amber.yaml").read_text()
            if (self.examples / "shop" / "amber.yaml").is_file()
            else "version: 1\n"
        )

        self.say("1. seed the shop's database and start the shop (buggy build)")
        seeded = self.run(self.python, "-m", "examples.shop.seed", "--database-url", self.db_url)
        print(seeded.stdout.strip())
        app_port = _free_port()
        self.start(
            "shop",
            self.python,
            "-m",
            "examples.shop.app",
            "--port",
            str(app_port),
            port=app_port,
            **{DB_ENV: self.db_url},
        )
        print(f"shop listening on 127.0.0.1:{app_port}")

        self.say("2. amber capture in front of it; drive traffic through the proxy")
        proxy_port = _free_port()
        capture = self.start(
            "amber capture",
            *self.amber,
            "capture",
            "--upstream",
            f"http://127.0.0.1:{app_port}",
            "--listen",
            f"127.0.0.1:{proxy_port}",
            port=proxy_port,
        )
        traffic = self.run(
            self.python,
            "-m",
            "examples.shop.traffic",
            "--base-url",
            f"http://127.0.0.1:{proxy_port}",
        )
        print(traffic.stdout.strip())
        code = self.stop(capture)
        print(f"amber capture stopped (exit {code}); everything buffered was written")

        self.say("3. the on-call view: a request id from the shop's error log")
        log = (self.out / "shop.log").read_text(errors="replace")
        m = re.search(r"ERROR request_id=(\S+) 5\d\d .*", log) or re.search(
            r"FAILED request_id=(\S+)", traffic.stdout
        )
        if not m:
            raise AmberError(f"the traffic produced no failing request: see {self.out}/*.log")
        request_id = m.group(1)
        print(f"error log: {m.group(0)}")
        print(self.run(*self.amber, "stats").stdout.strip())
        print(self.run(*self.amber, "show", request_id).stdout.strip()[:1500])

        self.say("4. amber replay: the same request against the running build fails again")
        replay = self.run(
            *self.amber,
            "replay",
            request_id,
            "--target",
            f"http://127.0.0.1:{app_port}",
            check=False,
            **{DB_ENV: self.db_url},
        )
        print(replay.stdout.strip()[-800:])

        self.say("5. amber gen-test: the regression test and its database fixture")
        gen = self.run(
            *self.amber,
            "gen-test",
            request_id,
            "--out",
            "tests",
            "--source-db",
            self.db_url,
            "--app",
            APP_SPEC,
            "--db-env",
            DB_ENV,
            "--reason",
            "amber demo",
        )
        print(gen.stdout.strip())
        test_files = [Path(x) for x in gen.stdout.split() if x.endswith(".py")]
        if test_files:
            print("\n" + (self.out / test_files[0]).read_text())

        self.say("6. the test against the buggy build: it must fail")
        self._write_pytest_ini()
        pytest_cmd = [self.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"]
        # as the printed re-run command runs it: no PYTHONPATH for the examples
        # (COLUMNS: wide enough that the summary line keeps the assertion's message)
        plain = {"PYTHONPATH": os.environ.get("PYTHONPATH", ""), "COLUMNS": "240"}
        buggy = self.run(*pytest_cmd, check=False, **plain)
        print(_summary(buggy.stdout))
        self.say("   ... and against the fixed build (SHOP_FIXED=1): it must pass")
        fixed = self.run(*pytest_cmd, check=False, SHOP_FIXED="1", **plain)
        print(_summary(fixed.stdout))

        scan = self.run(*self.amber, "scan", "tests", "store.db", check=False)
        self.cleanup()
        self.say("files written")
        for path in sorted(
            p for p in self.out.rglob("*") if p.is_file() and "__pycache__" not in p.parts
        ):
            print(
                f"  {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}"
                f"  ({path.stat().st_size} bytes)"
            )
        ok = buggy.returncode == 1 and fixed.returncode == 0 and scan.returncode == 0
        verdict = (
            "the regression test fails on the bug and passes on the fix"
            if ok
            else "UNEXPECTED: see the output above"
        )
        out = os.path.relpath(self.out)
        shown = out if not out.startswith("..") else str(self.out)
        print(
            "\nre-run the test (full output: add -v):\n"
            f"  cd {shlex.quote(shown)} && python -m pytest tests                # fails: the bug\n"
            f"  cd {shlex.quote(shown)} && SHOP_FIXED=1 python -m pytest tests   # passes: the fix"
        )
        print(
            f"\namber demo: {verdict}; leak scan of tests and store: "
            f"{'clean' if scan.returncode == 0 else 'FINDINGS'}; "
            f"{time.monotonic() - started:.1f} s"
        )
        return 0 if ok else 1


def _summary(stdout: str) -> str:
    """pytest's verdict without the traceback: its short test summary (the failed tests,
    each with its assertion's first line) and the final count line."""
    lines = stdout.strip().splitlines()
    for i, line in enumerate(lines):
        if "short test summary info" in line:
            return "\n".join(lines[i + 1 :])
    return lines[-1] if lines else "(pytest printed nothing)"


def run(args: argparse.Namespace) -> int:
    writable_dir(args.out, "--out")
    demo = _Demo(Path(args.examples), Path(args.out))
    try:
        return demo.main()
    finally:
        demo.cleanup()


COMMAND = Command(
    "demo",
    "the whole loop on the bundled example app (make demo)",
    register,
    run,
    description="Seed and start the example shop, capture traffic through amber, find the "
    "failing request, generate its regression test with a database fixture, and show the "
    "test failing on the buggy build and passing on the fixed one.",
)
