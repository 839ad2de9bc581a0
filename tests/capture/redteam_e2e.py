"""Run the red-team corpus end to end: `amber capture` (mitmproxy) in front of a local app that
serves each case's response, then search every artifact for what must not be there (secrets,
in every form) and for what must (look-alikes, byte for byte).

    .venv/bin/python -m tests.capture.redteam_e2e [--show N]

Artifacts: the store's files, the exchanges read back, `amber export` HAR and JSONL, `amber
show --json` of each exchange, and `amber gen-test` files. Not a pytest module (it takes a
minute): `tests/core/sanitize/test_redteam.py` runs the same cases in-process.
"""

from __future__ import annotations

import argparse
import collections
import http.client
import re
import signal
import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from pathlib import Path

from amber._store import Store
from tests.capture.conftest import AMBER
from tests.capture.conftest import READY_LINE
from tests.capture.conftest import capture_env
from tests.capture.conftest import free_port
from tests.capture.conftest import wait_for
from tests.core.sanitize.corpus.measure import forms
from tests.core.sanitize.redteam_cases import RTCase
from tests.core.sanitize.redteam_cases import lookalike_cases
from tests.core.sanitize.redteam_cases import secret_cases

CASES: list[RTCase] = [*secret_cases(), *lookalike_cases()]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        case = CASES[int(self.headers["X-RT-Case"])]
        body = case.resp_body
        self.send_response_only(case.status, "OK")
        for k, v in case.resp_headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _serve

    def log_message(self, *args: object) -> None:
        pass


def _send(port: int, i: int, case: RTCase) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    target = case.path + ("?" + case.query if case.query else "")
    conn.putrequest(case.method, target, skip_accept_encoding=True)
    for k, v in case.req_headers:
        conn.putheader(k, v.encode("latin-1", "replace"))
    conn.putheader("X-RT-Case", str(i))
    conn.putheader("Content-Length", str(len(case.req_body)))
    conn.endheaders(case.req_body)
    conn.getresponse().read()
    conn.close()


def run(workdir: Path, show_limit: int) -> dict[str, dict[int, str]]:
    app = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=app.serve_forever, daemon=True).start()
    port = free_port()
    db = workdir / "store.db"
    log = workdir / "capture.log"
    env = capture_env()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [AMBER, "capture", "--upstream", f"http://127.0.0.1:{app.server_address[1]}",
             "--listen", f"127.0.0.1:{port}", "--store", f"sqlite:///{db}"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=workdir,
        )  # fmt: skip
    try:
        wait_for(lambda: READY_LINE in log.read_text("utf-8", "replace"), 600, "amber capture")
        for i, case in enumerate(CASES):
            _send(port, i, case)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
        app.shutdown()
    store_url = f"sqlite:///{db}"
    artifacts: dict[str, dict[int, str]] = collections.defaultdict(dict)
    ids: dict[int, str] = {}
    with Store.open(store_url, create=False) as store:
        for ex in store.iter_exchanges():
            i = int(dict((k.lower(), v) for k, v in ex.request.headers)["x-rt-case"])
            ids[i] = ex.id
            parts = [ex.request.path, ex.request.query,
                     *(f"{k}: {v}" for k, v in ex.request.headers),
                     ex.request.body.decode("latin-1")]  # fmt: skip
            if ex.response is not None:
                parts += [*(f"{k}: {v}" for k, v in ex.response.headers),
                          ex.response.body.decode("latin-1")]  # fmt: skip
            parts += [f"{r.rule} {r.location}" for r in ex.redactions]
            artifacts["store-exchange"][i] = "\n".join(parts)
            same = (ex.request.body == CASES[i].req_body and ex.response is not None
                    and ex.response.body == CASES[i].resp_body)  # fmt: skip
            artifacts["body-identical"][i] = "yes" if same else "no"
    blob = b"".join(p.read_bytes() for p in workdir.glob("store.db*"))
    artifacts["store-files"] = {-1: blob.decode("latin-1")}
    for fmt in ("har", "jsonl"):
        out = subprocess.run([AMBER, "export", "--format", fmt, "--store", store_url],
                             capture_output=True, env=capture_env(None), check=True)  # fmt: skip
        lines = out.stdout.decode("utf-8", "replace").splitlines()
        for i, xid in ids.items():  # one exchange (HAR entry, JSONL record) a line
            artifacts[f"export-{fmt}"][i] = "\n".join(ln for ln in lines if xid in ln)
    for i, xid in sorted(ids.items())[:show_limit]:
        out = subprocess.run([AMBER, "show", "--full", xid, "--store", store_url],
                             capture_output=True, env=capture_env(None))  # fmt: skip
        artifacts["show"][i] = out.stdout.decode("utf-8", "replace")
    gen = workdir / "gen"
    gen_run = subprocess.run([AMBER, "gen-test", "--out", str(gen), "--no-verify", "--base-url",
                    "http://127.0.0.1:9", "--store", store_url, *ids.values()],
                   capture_output=True, env=capture_env(None))  # fmt: skip
    by_id: dict[str, str] = {}
    for p in gen.glob("*.py"):
        text = p.read_text("utf-8", "replace")
        m = re.search(r"amber id:\s+(\S+)", text)
        snap = re.search(r'SNAPSHOT = "([^"]+)"', text)
        if snap and (gen / snap.group(1)).exists():
            text += "\n" + (gen / snap.group(1)).read_text("utf-8", "replace")
        if m:
            by_id[m.group(1)] = text
    for i, xid in ids.items():
        artifacts["gen-test"][i] = by_id.get(xid, "")
    print("gen-test files:", len(by_id), gen_run.stderr.decode()[-500:] if not by_id else "")
    scan = subprocess.run([AMBER, "scan", str(db), str(gen)],
                          capture_output=True, env=capture_env(None))  # fmt: skip
    print("amber scan (store, generated tests):", scan.returncode,
          scan.stdout.decode("utf-8", "replace")[-3000:])  # fmt: skip
    artifacts["_ids"] = {i: x for i, x in ids.items()}
    return artifacts


def _forms(value: str) -> set[str]:
    out = set(forms(value))
    out.add(value.encode().decode("latin-1"))  # the store's text read as Latin-1
    return {f for f in out if len(f) >= 4}


def report(artifacts: dict[str, dict[int, str]]) -> None:
    names = [a for a in artifacts if not a.startswith("_") and a != "body-identical"]
    leaks: collections.Counter[str] = collections.Counter()
    changed: collections.Counter[str] = collections.Counter()
    cases_by_cls: collections.Counter[str] = collections.Counter()
    missing = [i for i in range(len(CASES)) if i not in artifacts["_ids"]]
    for i, case in enumerate(CASES):
        cases_by_cls[f"{case.kind}:{case.cls}"] += 1
        for art in names:
            texts = artifacts[art]
            text = texts.get(i, texts.get(-1))
            if text is None:
                continue
            if case.kind == "secret":
                needles = set().union(*(_forms(v) for v in case.values))
                if i not in texts:  # a whole file: a short needle would match by chance
                    needles = {n for n in needles if len(n) >= 6}
                if any(n in text for n in needles):
                    leaks[art] += 1
                    print(f"LEAK {art}: {case.cls} {case.name}")
            elif art in ("store-exchange", "show", "export-har", "export-jsonl", "gen-test"):
                bodies = (case.req_body + case.resp_body).decode("utf-8", "replace")
                if art == "gen-test" and not all(v in bodies for v in case.values):
                    continue  # a generated test keeps bodies, not every header
                if not all(any(f in text for f in _forms(v) | {v}) for v in case.values):
                    changed[art] += 1
                    print(f"CHANGED {art}: {case.name}")
        if case.kind == "lookalike" and artifacts["body-identical"].get(i) == "no":
            changed["body-not-identical"] += 1
            print(f"NOT-IDENTICAL body: {case.name}")
    print("cases:", dict(cases_by_cls), "missing from store:", missing)
    print("leaks by artifact:", dict(leaks))
    print("look-alikes changed by artifact:", dict(changed))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--show", type=int, default=10_000, help="run `amber show` on this many")
    ap.add_argument("--keep", type=Path, help="work in this directory and keep it")
    args = ap.parse_args()
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        report(run(args.keep, args.show))
        return
    with tempfile.TemporaryDirectory() as d:
        report(run(Path(d), args.show))


if __name__ == "__main__":
    main()
