"""`amber scan` throughput on a 10k-entry HAR, against loading it and against sanitizing it.

    .venv/bin/python benchmarks/bench_scan.py [--entries 10000]

Writes a HAR of API-like exchanges (headers, cookies, query strings, JSON bodies with
users and tokens, some base64 bodies), sanitized as capture stores them (so the scan finds
nothing and does all its work), then times, on one core and in the same run:

* `json.load` of the file (the floor: the scanner loads a HAR whole);
* the HAR import plus `Sanitizer.sanitize` of every entry (what capture pays per exchange);
* `ArtifactScanner.har` (import, re-sanitize, compare, report) of amber's HAR (streamed,
  an entry a line) and of the same entries as one JSON document (loaded whole).

Prints entries/s for each, the scan's ratio to both, the findings (0 expected) and the peak
RSS (`resource.getrusage`) of a fresh process that only scans the file: a HAR is held whole
(parsed JSON), one entry's exchange at a time beside it.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from amber._har import read_har
from amber._har import write_har
from amber._model import Exchange
from amber._model import Request
from amber._model import Response
from amber._model import new_id
from amber._pseudonym import Pseudonymizer
from amber._scan_artifacts import ArtifactScanner
from amber.sanitize import SanitizeConfig
from amber.sanitize import Sanitizer

KEY = b"bench-scan-key-0123456789abcdef"
WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india")


CHILD = """
import resource, sys
from pathlib import Path
from amber._scan_artifacts import ArtifactScanner
n = sum(1 for _ in ArtifactScanner().har(Path(sys.argv[1])))
# VmHWM: this process's own high-water mark (ru_maxrss carries the parent's over exec)
status = Path("/proc/self/status")
lines = status.read_text().splitlines() if status.exists() else []
hwm = [x for x in lines if x.startswith("VmHWM:")]
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
mb = int(hwm[0].split()[1]) / 1024 if hwm else rss / 1024
print(n, mb)
"""


def exchange(rng: random.Random, i: int) -> Exchange:
    users = [
        {
            "id": rng.randrange(10**6),
            "name": f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()}",
            "email": f"{rng.choice(WORDS)}{i}@corp.io",
            "role": rng.choice(WORDS),
            "tags": rng.sample(WORDS, 3),
            "balance": round(rng.random() * 1000, 2),
        }
        for _ in range(rng.randrange(1, 6))
    ]
    body = json.dumps({"users": users, "next": f"/users?page={i + 1}", "token": f"t{i:032x}"})
    binary = i % 10 == 0
    resp_body = bytes(rng.randrange(256) for _ in range(256)) if binary else body.encode()
    return Exchange(
        new_id(),
        Request(
            "GET",
            "https",
            "api.corp.io",
            443,
            f"/v1/users/{i}",
            query=f"page={i}&api_key=k{i:024x}",
            headers=(
                ("accept", "application/json"),
                ("authorization", f"Bearer eyJ{base64.urlsafe_b64encode(bytes(24)).decode()}"),
                ("cookie", f"sessionid=s{i:030x}; theme=dark"),
                ("x-request-id", f"req-{i}"),
            ),
        ),
        Response(
            200,
            headers=(
                ("content-type", "application/octet-stream" if binary else "application/json"),
                ("set-cookie", f"sid=s{i:030x}; Path=/; HttpOnly"),
            ),
            body=resp_body,
        ),
    )


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f} entries/s ({seconds:.2f} s)"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", type=int, default=10_000)
    args = ap.parse_args()
    rng = random.Random(7)
    sanitizer = Sanitizer(SanitizeConfig(), Pseudonymizer(KEY))
    clean = [sanitizer.sanitize(exchange(rng, i)) for i in range(args.entries)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.har"
        with path.open("wb") as fp:
            write_har(clean, fp, creator_version="bench")
        del clean
        size = path.stat().st_size
        n = args.entries

        t = time.perf_counter()
        with path.open("rb") as fp:
            doc = json.load(fp)
        t_load = time.perf_counter() - t
        # the same entries as another tool writes a HAR (one document): loaded whole
        other = Path(tmp) / "other.har"
        other.write_text(json.dumps(doc))
        del doc

        t = time.perf_counter()
        for ex in read_har(path):
            sanitizer.sanitize(ex)
        t_sanitize = time.perf_counter() - t

        scanner = ArtifactScanner()
        t = time.perf_counter()
        found = sum(1 for _ in scanner.har(path))
        t_scan = time.perf_counter() - t

        t = time.perf_counter()
        found_other = sum(1 for _ in scanner.har(other))
        t_other = time.perf_counter() - t

        # the scan's own memory, in a fresh process (this one built the corpus)
        def child_rss(har: Path) -> float:
            child = subprocess.run(
                [sys.executable, "-c", CHILD, str(har)], capture_output=True, text=True, check=True
            )
            return float(child.stdout.split()[-1])

        rss_amber, rss_other = child_rss(path), child_rss(other)

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"HAR: {n:,} entries, {size / 1e6:.1f} MB")
    print(f"json.load:            {rate(n, t_load)}")
    print(f"import + sanitize:    {rate(n, t_sanitize)}")
    print(f"amber scan (HAR):     {rate(n, t_scan)} (amber's layout: streamed)")
    print(f"amber scan (other):   {rate(n, t_other)} (one JSON document: loaded whole)")
    print(f"scan / sanitize:      {t_sanitize / t_scan:.2f}x the speed (goal: >= ~1)")
    print(f"scan / json.load:     {t_load / t_scan:.3f}x the speed")
    print(f"findings:             {found}, {found_other} (0 expected: amber's own output)")
    print(f"peak RSS, scan alone: {rss_amber:.0f} MB streamed, {rss_other:.0f} MB loaded whole")
    print(f"peak RSS, this run:   {rss:.0f} MB (corpus building included)")
    return 0 if found == found_other == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
