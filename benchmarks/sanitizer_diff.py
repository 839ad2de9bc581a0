"""Differential harness: the sanitizer's stored output, byte for byte, against another commit's.

    .venv/bin/python benchmarks/sanitizer_diff.py [--base main] [--mb 10]
    .venv/bin/python benchmarks/sanitizer_diff.py record OUT [--mb 10]

Sanitizes, with one `Sanitizer` in a fixed order (so the caches see the same history on
both sides):

* every body of `bench_sanitizer.py`'s corpus (`--mb` MiB), spaced and compact, each twice
  (caches cold, then warm);
* every case of the adversarial corpus in `tests/core/sanitize/corpus/` (secrets,
  look-alikes, truncation cases, and their JSON bodies compacted), twice as well;
* random JSON documents (fixed seed) mixing the corpus' planted values and look-alikes into
  nested objects and lists under ordinary and sensitive keys, in both layouts.

Each result is recorded as the SHA-256 of the `repr` of the whole sanitized `Exchange`
(bodies, headers, URL, redaction reports) or of the error it raised. Without a command, it
extracts `--base`'s `amber` package (`git archive`) into a temporary directory, records
with it and with the working tree in two processes, and prints how many results differ
(the exit status is 1 when any does). `tests/` comes from the working tree on both sides:
only the sanitizer changes.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import random
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _inputs(mb: float) -> Iterator[tuple[str, object]]:
    """(name, exchange) pairs, in a fixed order."""
    sys.path.append(str(ROOT))
    sys.path.append(str(ROOT / "benchmarks"))
    import bench_sanitizer as bench

    from tests.core.sanitize.corpus import cases
    from tests.core.sanitize.corpus import lookalike_cases
    from tests.core.sanitize.corpus import truncation_cases
    from tests.core.sanitize.corpus.lookalikes import lookalikes
    from tests.core.sanitize.corpus.secrets import planted

    docs = bench.documents(mb)
    for compact in (False, True):
        seps = (",", ":") if compact else (", ", ": ")
        for i, doc in enumerate(docs):
            body = json.dumps(doc, separators=seps).encode()
            yield f"bench/{int(compact)}/{i}", bench.exchange(i, body)
    all_cases = [*cases(), *lookalike_cases(), *truncation_cases()]
    for n, case in enumerate(all_cases):
        yield f"corpus/{n}/{case.kind}/{case.cls}/{case.carrier}/{case.encoding}", case.exchange
    for n, case in enumerate(all_cases):
        ex = _compacted(case.exchange)
        if ex is not None:
            yield f"corpus-compact/{n}", ex
    values = [(p.key, p.value) for p in planted()] + [(x.key, x.value) for x in lookalikes()]
    rng = random.Random(5)
    plain_keys = ("note", "data", "items", "value", "name", "id", "text", "meta", "x")
    for n in range(3000):
        doc = _random_doc(rng, values, plain_keys, 0)
        seps = (",", ":") if n % 2 else (", ", ": ")
        body = json.dumps(doc, separators=seps, ensure_ascii=n % 3 != 0).encode()
        yield f"random/{n}", bench.exchange(n, body)
    for depth in (9, 30, 300, 900):  # deep paths (rendered locations, hashed paths)
        for n, (key, value) in enumerate(values[:40]):
            node: object = {key: value, "note": value}
            for d in range(depth):
                node = [node, value] if d % 2 else {"k": node, "id": n}
            body = json.dumps(node, separators=(",", ":") if n % 2 else (", ", ": ")).encode()
            yield f"deep/{depth}/{n}", bench.exchange(n, body)


def _random_doc(
    rng: random.Random, values: list[tuple[str, str]], plain: tuple[str, ...], depth: int
) -> object:
    r = rng.random()
    if depth < 4 and r < 0.35:
        d: dict[str, object] = {}
        for _ in range(rng.randint(0, 6)):
            key, value = rng.choice(values)
            k = key if rng.random() < 0.5 else rng.choice(plain)
            d[k] = _random_doc(rng, values, plain, depth + 1) if rng.random() < 0.4 else value
        return d
    if depth < 4 and r < 0.55:
        return [_random_doc(rng, values, plain, depth + 1) for _ in range(rng.randint(0, 5))]
    if r < 0.65:
        return rng.choice((None, True, False, 0, 7, -3, 1.5, 4111111111111111, 10**13 + 7))
    return rng.choice(values)[1]


def _compacted(ex: object) -> object | None:
    from amber._model import Exchange

    assert isinstance(ex, Exchange)
    changed = False

    def compact(msg: object) -> object:
        nonlocal changed
        ctype = getattr(msg, "content_type", None) or ""
        body = getattr(msg, "body", b"")
        if not body or "json" not in ctype or "ndjson" in ctype:
            return msg
        try:
            new = json.dumps(json.loads(body), separators=(",", ":")).encode()
        except ValueError:
            return msg
        changed = changed or new != body
        return dataclasses.replace(msg, body=new)  # type: ignore[type-var]

    req = compact(ex.request)
    resp = None if ex.response is None else compact(ex.response)
    return dataclasses.replace(ex, request=req, response=resp) if changed else None


def record(out: Path, mb: float) -> None:
    import amber
    from amber._pseudonym import Pseudonymizer
    from amber.sanitize import SanitizeConfig
    from amber.sanitize import Sanitizer

    print(f"amber from {Path(amber.__file__).parent}", file=sys.stderr)
    inputs = list(_inputs(mb))
    sanitizer = Sanitizer(SanitizeConfig(), Pseudonymizer(b"benchmark-key-0123456789abcdef"))
    lines: list[str] = []
    for rnd in (0, 1):  # caches cold, then warm
        for name, ex in inputs:
            try:
                text = repr(sanitizer.sanitize(ex))  # type: ignore[arg-type]
            except Exception as e:  # the error is a result too
                text = f"error {type(e).__name__}: {e}"
            digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
            lines.append(f"{rnd}/{name}\t{digest}\n")
    out.write_text("".join(lines))
    print(f"{len(lines)} results recorded", file=sys.stderr)


def compare(a: Path, b: Path) -> int:
    left = a.read_text().splitlines()
    right = b.read_text().splitlines()
    if len(left) != len(right):
        print(f"different counts: {len(left)} vs {len(right)}")
        return 1
    diffs = [x.split("\t")[0] for x, y in zip(left, right, strict=True) if x != y]
    print(f"{len(left)} results compared, {len(diffs)} differ")
    for name in diffs[:20]:
        print(f"  {name}")
    return 1 if diffs else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("command", nargs="?", default="check", choices=("check", "record"))
    ap.add_argument("out", nargs="?", type=Path)
    ap.add_argument("--base", default="main", help="the commit to compare against (main)")
    ap.add_argument("--mb", type=float, default=10.0, help="bench corpus MiB (default 10)")
    args = ap.parse_args(argv)
    if args.command == "record":
        if args.out is None:
            ap.error("record needs OUT")
        record(args.out, args.mb)
        return 0
    with tempfile.TemporaryDirectory(prefix="sanitizer-diff-") as tmp:
        base = Path(tmp) / "base"
        base.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", args.base, "amber"],
            check=True,
            capture_output=True,
        ).stdout
        tar_path = Path(tmp) / "base.tar"
        tar_path.write_bytes(archive)
        with tarfile.open(tar_path) as tar:
            tar.extractall(base, filter="data")
        script = str(Path(__file__).resolve())
        outs = (Path(tmp) / "base.txt", Path(tmp) / "head.txt")
        env_base = {**os.environ, "PYTHONPATH": str(base)}
        cmd = [sys.executable, script, "record", "--mb", str(args.mb)]
        procs = [
            subprocess.Popen([*cmd[:3], str(outs[0]), *cmd[3:]], env=env_base),
            subprocess.Popen([*cmd[:3], str(outs[1]), *cmd[3:]]),
        ]
        if any(p.wait() != 0 for p in procs):
            print("a recording failed")
            return 2
        return compare(*outs)


if __name__ == "__main__":
    raise SystemExit(main())
