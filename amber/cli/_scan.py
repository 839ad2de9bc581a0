"""`amber scan PATH...`: a leak gate over any artifact, made for CI.

Uses the sanitizer's own detectors (amber's markers and pseudonyms are never reported).
Prints where and which rule, never the matched text. Exit status 1 when anything is found.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

from amber._model import Exchange
from amber.cli._common import Command

CHUNK = 8 * 1024 * 1024
SQLITE_MAGIC = b"SQLite format 3\x00"
SKIP_DIRS = {".git", ".venv", "node_modules", "__pycache__", ".mypy_cache", ".ruff_cache"}


@dataclass(frozen=True)
class Hit:
    where: str
    rule: str

    def as_dict(self) -> dict[str, str]:
        return {"where": self.where, "rule": self.rule}


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "paths", nargs="*", metavar="PATH",
        help="files or directories (recursively): stores (.db), HAR, JSONL, YAML fixtures, "
        "generated tests, reports",
    )
    p.add_argument("--store", metavar="URL", action="append", default=[],
                   help="also scan the exchanges of this store (e.g. a PostgreSQL store)")
    p.add_argument("--rule", action="append", metavar="NAME",
                   help="report only these detectors (default: all)")
    p.add_argument("--json", action="store_true", help="one JSON object per finding")
    p.add_argument("--config", metavar="FILE",
                   help="amber.yaml whose sanitize: rules to apply (custom rules, detectors)")


def _config(path: str | None) -> object:
    from amber._config import find_config
    from amber.sanitize import SanitizeConfig

    cfg = find_config(path)
    section = cfg.section("sanitize")
    return cfg.with_key("sanitize", lambda: SanitizeConfig.from_mapping(section))


def _key_needles() -> list[bytes]:
    key = os.environ.get("AMBER_KEY", "")
    if len(key) < 8:
        return []
    return [key.encode(), key.encode().hex().encode()]


def scan_data(data: bytes, where: str, args: argparse.Namespace, scfg: object,
              line_base: int = 0, positions: bool = True) -> Iterator[Hit]:
    from amber.sanitize import scan_bytes

    for f in scan_bytes(data, config=scfg, rules=args.rule):  # type: ignore[arg-type]
        yield Hit(f"{where}:{f.line + line_base}:{f.column}" if positions else where, f.rule)
    for needle in _key_needles():
        if needle in data:
            yield Hit(where, "amber-key")


def scan_exchange(ex: Exchange, where: str, args: argparse.Namespace,
                  scfg: object) -> Iterator[Hit]:
    req, resp = ex.request, ex.response
    parts: list[tuple[str, bytes]] = [
        ("request.target", req.target.encode("utf-8", "surrogateescape")),
        ("request.headers", orjson.dumps(req.headers)),
        ("request.body", req.body),
    ]
    if resp is not None:
        parts += [("response.headers", orjson.dumps(resp.headers)), ("response.body", resp.body)]
    if ex.error:
        parts.append(("error", ex.error.encode()))
    if ex.client_addr:
        parts.append(("client_addr", ex.client_addr.encode()))
    for name, data in parts:
        yield from scan_data(data, f"{where} exchange {ex.id} {name}", args, scfg,
                             positions=name.endswith(".body"))


def _is_amber_store(path: Path) -> bool:
    try:
        with path.open("rb") as fp:
            return fp.read(16) == SQLITE_MAGIC
    except OSError:
        return False


def scan_store(url: str, where: str, args: argparse.Namespace, scfg: object) -> Iterator[Hit]:
    from amber._runs import RunLog
    from amber._store import Store

    with Store.open(url, create=False) as store:
        for ex in store.iter_exchanges():
            yield from scan_exchange(ex, where, args, scfg)
        # replay and shadow runs: values from targets' responses are in their results,
        # which the store keeps compressed (a scan of the file's bytes cannot see them)
        log = RunLog(store)
        for run in log.list(limit=None):
            meta = orjson.dumps({"target": run.target, "params": run.params,
                                 "summary": run.summary})
            yield from scan_data(meta, f"{where} run {run.id}", args, scfg, positions=False)
            for i, data in enumerate(log.results_json(run.id)):
                yield from scan_data(data, f"{where} run {run.id} results chunk {i}", args,
                                     scfg, positions=False)


def scan_file(path: Path, args: argparse.Namespace, scfg: object) -> Iterator[Hit]:
    if _is_amber_store(path):
        # bodies are compressed inside the store: scan the exchanges, and the raw pages too
        yield from scan_store(f"sqlite:///{path}", str(path), args, scfg)
    line_base = 0
    with path.open("rb") as fp:
        carry = b""
        while True:
            chunk = fp.read(CHUNK)
            if not chunk and not carry:
                break
            data = carry + chunk
            if chunk:
                cut = data.rfind(b"\n")
                if cut < 0 or cut < len(data) - 65536:
                    cut = len(data) - 1
                data, carry = data[: cut + 1], data[cut + 1 :]
            else:
                carry = b""
            yield from scan_data(data, str(path), args, scfg, line_base)
            line_base += data.count(b"\n")
            if not chunk:
                break


def walk(paths: list[str]) -> Iterator[Path]:
    for p in paths:
        path = Path(p)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
                for name in sorted(files):
                    if name.endswith("-shm"):  # SQLite's shared-memory index holds no data
                        continue
                    yield Path(root) / name
        elif path.exists():
            yield path
        else:
            raise FileNotFoundError(p)


def run(args: argparse.Namespace) -> int:
    if not args.paths and not args.store:
        print("amber scan: error: give at least one PATH or --store URL", file=sys.stderr)
        return 2
    scfg = _config(args.config)
    found = 0
    scanned = 0
    try:
        for url in args.store:
            for hit in scan_store(url, "store", args, scfg):
                found += 1
                _report(hit, args.json)
        for path in walk(args.paths):
            scanned += 1
            for hit in scan_file(path, args, scfg):
                found += 1
                _report(hit, args.json)
    except FileNotFoundError as e:
        print(f"amber scan: error: no such file or directory: {e}", file=sys.stderr)
        return 2
    print(f"amber scan: {scanned} files, {len(args.store)} stores, {found} findings",
          file=sys.stderr)
    return 1 if found else 0


def _report(hit: Hit, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(orjson.dumps(hit.as_dict()).decode() + "\n")
    else:
        sys.stdout.write(f"{hit.where}: {hit.rule}\n")


COMMAND = Command(
    "scan", "find secrets and personal data in artifacts (a CI leak gate)", register, run,
    description="Scan files, directories and stores with the sanitizer's detectors. Prints "
    "file:line:column (or exchange id and part) and the rule, never the value. Exit status 1 "
    "when anything is found. amber's own markers and pseudonyms are not findings.",
)
