"""`amber scan PATH...`: a leak gate over any artifact, made for CI.

Uses the sanitizer's own detectors (amber's markers and pseudonyms are never reported).
Prints where and which rule, never the matched text. Exit status 1 when anything is found,
else 2 when anything could not be scanned (each named on stderr, after the scan went on
with the rest), else 0. Stores are opened read-only: a scan never changes one (nor its WAL).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from amber._model import Exchange
from amber._model import dumps_json
from amber._model import printable
from amber._model import text_bytes
from amber._store import sqlite_tables
from amber._urls import hide_password
from amber.cli._common import Command
from amber.errors import StoreError

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
        "paths",
        nargs="*",
        metavar="PATH",
        help="files or directories (recursively): stores (.db), HAR, JSONL, YAML fixtures, "
        "generated tests, reports",
    )
    p.add_argument(
        "--store",
        metavar="URL",
        action="append",
        default=[],
        help="also scan the exchanges of this store (e.g. a PostgreSQL store)",
    )
    p.add_argument(
        "--rule", action="append", metavar="NAME", help="report only these detectors (default: all)"
    )
    p.add_argument("--json", action="store_true", help="one JSON object per finding")
    p.add_argument(
        "--config",
        metavar="FILE",
        help="amber.yaml whose sanitize: rules to apply (custom rules, detectors)",
    )


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


def scan_data(
    data: bytes,
    where: str,
    args: argparse.Namespace,
    scfg: object,
    line_base: int = 0,
    positions: bool = True,
) -> Iterator[Hit]:
    from amber.sanitize import scan_bytes

    for f in scan_bytes(data, config=scfg, rules=args.rule):  # type: ignore[arg-type]
        yield Hit(f"{where}:{f.line + line_base}:{f.column}" if positions else where, f.rule)
    for needle in _key_needles():
        if needle in data:
            yield Hit(where, "amber-key")


def scan_exchange(
    ex: Exchange, where: str, args: argparse.Namespace, scfg: object
) -> Iterator[Hit]:
    req, resp = ex.request, ex.response
    parts: list[tuple[str, bytes]] = [
        ("request.target", text_bytes(req.target)),
        ("request.headers", dumps_json(req.headers)),
        ("request.body", req.body),
    ]
    if resp is not None:
        parts += [("response.headers", dumps_json(resp.headers)), ("response.body", resp.body)]
    if ex.error:
        parts.append(("error", text_bytes(ex.error)))
    if ex.client_addr:
        parts.append(("client_addr", text_bytes(ex.client_addr)))
    for name, data in parts:
        yield from scan_data(
            data,
            f"{where} exchange {printable(ex.id)} {name}",
            args,
            scfg,
            positions=name.endswith(".body"),
        )


def _is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as fp:
            return fp.read(16) == SQLITE_MAGIC
    except OSError:
        return False


def scan_store(url: str, where: str, args: argparse.Namespace, scfg: object) -> Iterator[Hit]:
    """The exchanges and run results of the store at `url`, opened read-only."""
    from amber._runs import RunLog
    from amber._store import Store

    with Store.open(url, read_only=True) as store:
        for ex in store.iter_exchanges():
            yield from scan_exchange(ex, where, args, scfg)
        # replay and shadow runs: values from targets' responses are in their results,
        # which the store keeps compressed (a scan of the file's bytes cannot see them)
        log = RunLog(store)
        for run in log.list(limit=None):
            meta = dumps_json({"target": run.target, "params": run.params, "summary": run.summary})
            yield from scan_data(meta, f"{where} run {run.id}", args, scfg, positions=False)
            for i, data in enumerate(log.results_json(run.id)):
                yield from scan_data(
                    data, f"{where} run {run.id} results chunk {i}", args, scfg, positions=False
                )


@dataclass
class Scan:
    """What a scan saw: findings, files, and what it could not scan (with why)."""

    args: argparse.Namespace
    config: object
    found: int = 0
    files: int = 0
    unscanned: list[str] = field(default_factory=list)

    def report(self, hits: Iterable[Hit]) -> None:
        for hit in hits:
            self.found += 1
            _report(hit, self.args.json)

    def store(self, url: str, where: str) -> None:
        """Scan a store; one that cannot be opened or read is noted, and the scan goes on."""
        try:
            self.report(scan_store(url, where, self.args, self.config))
        except StoreError as e:
            self.unscanned.append(f"{where}: {e}")

    def file(self, path: Path) -> None:
        """Scan a file's bytes, and an amber store's exchanges inside it (compressed there).
        An SQLite file of another application is scanned as bytes: they hold all of it."""
        self.files += 1
        if _is_sqlite(path):
            try:
                tables = sqlite_tables(str(path)) or set()
            except StoreError as e:
                self.unscanned.append(f"{path}: {e}")
                tables = set()
            if "amber_meta" in tables:
                self.store(f"sqlite:///{path}", str(path))
            elif tables:
                print(
                    f"amber scan: {path}: an SQLite database that is not an amber store "
                    "(scanned as bytes)",
                    file=sys.stderr,
                )
        try:
            self.report(scan_file(path, self.args, self.config))
        except OSError as e:
            self.unscanned.append(f"{path}: cannot read it ({e.strerror})")


def scan_file(path: Path, args: argparse.Namespace, scfg: object) -> Iterator[Hit]:
    """The findings in a file's bytes, read in chunks cut at line ends."""
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


def walk(paths: list[str], missing: list[str]) -> Iterator[Path]:
    """The files under `paths`; a path that does not exist goes to `missing`."""
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
            missing.append(f"{p}: no such file or directory")


def run(args: argparse.Namespace) -> int:
    if not args.paths and not args.store:
        print("amber scan: error: give at least one PATH or --store URL", file=sys.stderr)
        return 2
    scan = Scan(args, _config(args.config))
    for url in args.store:
        scan.store(url, f"store {hide_password(url)}")
    for path in walk(args.paths, scan.unscanned):
        scan.file(path)
    for line in scan.unscanned:
        print(f"amber scan: error: not scanned: {line}", file=sys.stderr)
    print(
        f"amber scan: {scan.files} files, {len(args.store)} stores, {scan.found} findings"
        + (f", {len(scan.unscanned)} not scanned" if scan.unscanned else ""),
        file=sys.stderr,
    )
    if scan.found:
        return 1
    return 2 if scan.unscanned else 0


def _report(hit: Hit, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(dumps_json(hit.as_dict(), newline=True).decode())
    else:
        sys.stdout.write(f"{printable(hit.where)}: {hit.rule}\n")


COMMAND = Command(
    "scan",
    "find secrets and personal data in artifacts (a CI leak gate)",
    register,
    run,
    description="Scan files, directories and stores with the sanitizer's detectors. Prints "
    "file:line:column (or exchange id and part) and the rule, never the value. Exit status 1 "
    "when anything is found. amber's own markers and pseudonyms are not findings.",
)
