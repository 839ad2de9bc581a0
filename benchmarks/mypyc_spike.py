"""The sanitizer compiled with mypyc, against pure Python (a spike for issue #16 item 5).

    .venv/bin/python benchmarks/mypyc_spike.py build [--out /tmp/amber-mypyc]
    .venv/bin/python benchmarks/mypyc_spike.py bench [--out ...] [--mb 5] [--pairs 3]
    .venv/bin/python benchmarks/mypyc_spike.py test  [--out ...]

* `build` copies the installed amber package (every layer, links resolved) to OUT and
  compiles `MODULES` there, in place, with mypyc (about a minute of 2 loaded cores). The
  checkout and the venv are not touched: with OUT first on PYTHONPATH, `import amber` gives
  the compiled modules, without it the pure ones.
* `bench` alternates child processes, pure then compiled, `--pairs` times per layout.
  Each times, in CPU seconds and best of 3, `json.loads`+`json.dumps` of
  `bench_sanitizer.py`'s corpus and `Sanitizer.sanitize` of it: a cold run (a fresh
  sanitizer: what `bench_sanitizer.py` calls the first run) and a warm one (the same
  sanitizer again: its memo of clean strings and pseudonyms full). Compiled and pure must
  write the same bytes (a digest of every sanitized body is compared).
* `test` runs tests/core/sanitize (the corpus tests included) and tests/core/test_pseudonym.py
  against OUT. 24 tests fail there for how they test, not for what the sanitizer does: 21
  `copy.copy` a `ValueScanner` (a native class has no copy protocol), 2 monkeypatch a
  method of a native class (read-only), 1 reads `Finding.__slots__` (a native class has
  none). Every other one passes.

Result (2026-12-03, 2 shared cores; docs/benchmarks.md has the table): compiled is
1.25-1.4x pure, cold and warm, in both layouts; the gate for integrating it as an optional
build was 1.6x, so it is not integrated. Compiled, the sanitizer's own code is 7.5 % of
the CPU samples (`perf record`) and the interpreter 3 %; the regex engine (24 %),
allocation, dict and set lookups, the GC and C methods are the rest, which mypyc does not
remove.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import amber

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = Path("/tmp/amber-mypyc")
# the modules a sanitized exchange runs through (amber/sanitize's __init__ only re-exports)
MODULES = (
    *(f"amber/sanitize/{p.name}" for p in sorted((ROOT / "amber/sanitize").glob("_[!_]*.py"))),
    "amber/_pseudonym.py",
)


def build(out: Path) -> int:
    src = Path(amber.__path__[0])
    if src.resolve().is_relative_to(out.resolve()):
        print(f"amber is imported from {out}: run `build` without it on PYTHONPATH")
        return 2
    shutil.rmtree(out, ignore_errors=True)
    # copytree resolves the links of the strict editable install (build/__editable__...)
    shutil.copytree(src, out / "amber", ignore=shutil.ignore_patterns("__pycache__"))
    cmd = [sys.executable, "-m", "mypyc", "--config-file", str(ROOT / "pyproject.toml"), *MODULES]
    print(f"compiling {len(MODULES)} modules in {out} (about a minute)...")
    t = time.monotonic()
    done = subprocess.run(cmd, cwd=out, capture_output=True, text=True)
    if done.returncode != 0:
        print(done.stdout[-4000:], done.stderr[-4000:], sep="\n")
        print(f"mypyc failed (exit {done.returncode}): the output above says where")
        return done.returncode
    print(f"built in {time.monotonic() - t:.0f} s; use it with PYTHONPATH={out}")
    return 0


def _child(layout: str, mb: float) -> int:
    """One measurement, in this process: print it as a JSON line."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_sanitizer as bench

    from amber._pseudonym import Pseudonymizer
    from amber.sanitize import SanitizeConfig
    from amber.sanitize import Sanitizer

    docs = bench.documents(mb)
    seps = (",", ":") if layout == "compact" else (", ", ": ")
    bodies = [json.dumps(d, separators=seps).encode() for d in docs]
    exchanges = [bench.exchange(i, b) for i, b in enumerate(bodies)]
    t_json = cold = warm = float("inf")
    digest = ""
    for _ in range(3):
        t = time.process_time()
        for b in bodies:
            json.dumps(json.loads(b))
        t_json = min(t_json, time.process_time() - t)
        sanitizer = Sanitizer(SanitizeConfig(), Pseudonymizer(b"benchmark-key-0123456789abcdef"))
        h = hashlib.sha256()
        t = time.process_time()
        for ex in exchanges:
            clean = sanitizer.sanitize(ex)
            assert clean.response is not None
            h.update(clean.response.body)
        cold = min(cold, time.process_time() - t)
        digest = h.hexdigest()
        t = time.process_time()
        for ex in exchanges:
            sanitizer.sanitize(ex)
        warm = min(warm, time.process_time() - t)
    walker = sys.modules["amber.sanitize._json"]  # compiled: an extension module
    compiled = not (walker.__file__ or "").endswith(".py")
    result = {"compiled": compiled, "json": t_json, "cold": cold, "warm": warm, "sha": digest}
    print(json.dumps(result))
    return 0


def bench(out: Path, mb: float, pairs: int) -> int:
    if not any(out.glob("*__mypyc*")):
        print(f"no compiled build in {out}: run `{sys.argv[0]} build --out {out}` first")
        return 2
    env_pure = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env_compiled = {**env_pure, "PYTHONPATH": str(out)}
    me = str(Path(__file__).resolve())
    for layout in ("spaced", "compact"):
        gains: list[tuple[float, float]] = []
        for _ in range(pairs):
            runs = []
            for env in (env_pure, env_compiled):
                cmd = [sys.executable, me, "_child", layout, "--mb", str(mb)]
                line = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
                runs.append(json.loads(line.stdout.strip().splitlines()[-1]))
            pure, comp = runs
            if pure["compiled"] or not comp["compiled"]:
                print(f"the compiled modules in {out} were not the ones imported: rebuild them")
                return 2
            if pure["sha"] != comp["sha"]:
                print(f"{layout}: compiled and pure wrote different bodies (a mypyc difference)")
                return 1
            for r in runs:
                print(
                    f"{layout:7} {'compiled' if r['compiled'] else 'pure':8} "
                    f"cold {r['cold']:.3f} s ({r['json'] / r['cold']:.3f}x the round trip) "
                    f"warm {r['warm']:.3f} s ({r['json'] / r['warm']:.3f}x)"
                )
            gains.append((pure["cold"] / comp["cold"], pure["warm"] / comp["warm"]))
        print(
            f"{layout}: compiled/pure speed, cold "
            + ", ".join(f"{c:.2f}x" for c, _ in gains)
            + "; warm "
            + ", ".join(f"{w:.2f}x" for _, w in gains)
            + " (same bytes written)"
        )
    return 0


def test(out: Path) -> int:
    pytest = Path(sys.executable).with_name("pytest")
    paths = ["tests/core/sanitize", "tests/core/test_pseudonym.py"]
    env = {**os.environ, "PYTHONPATH": str(out)}
    # (the pytest script, not `python -m pytest`: that would put the checkout's ./amber,
    # pure, first on sys.path)
    cmd = [str(pytest), "-q", "-p", "no:cacheprovider", *paths]
    return subprocess.run(cmd, cwd=ROOT, env=env).returncode


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("command", choices=("build", "bench", "test", "_child"))
    ap.add_argument("layout", nargs="?", default="spaced", help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"default {DEFAULT_OUT}")
    ap.add_argument("--mb", type=float, default=5.0, help="corpus size in MiB (default 5)")
    ap.add_argument("--pairs", type=int, default=3, help="pure/compiled pairs (default 3)")
    args = ap.parse_args(argv)
    if args.command == "build":
        return build(args.out)
    if args.command == "bench":
        return bench(args.out, args.mb, max(1, args.pairs))
    if args.command == "test":
        return test(args.out)
    return _child(args.layout, args.mb)


if __name__ == "__main__":
    raise SystemExit(main())
