"""`amber scan PATH...`: a leak gate over any artifact, made for CI.

Each artifact is parsed and checked with the sanitizer's own header, key, value and body
rules (amber._scan_artifacts): HAR entries, JSONL exports, stores and their run results,
fixture files, generated tests, mitmproxy flow files; anything else as text with the value
detectors. amber's markers and pseudonyms and other tools' markers are never reported.
Prints where, which rule and the location, never the matched text. Exit status 1 when
anything is found, else 2 when anything could not be scanned (each named on stderr, after
the scan went on with the rest), else 0. Stores are opened read-only: a scan never changes
one (nor its WAL).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from amber._model import dumps_json
from amber._model import loads_json
from amber._model import printable
from amber._pseudonym import load_key
from amber._scan_artifacts import ArtifactScanner
from amber._scan_artifacts import Hit
from amber._scan_artifacts import declared_kept
from amber._scan_artifacts import declared_known
from amber._store import sqlite_tables
from amber._urls import hide_password
from amber.cli._common import Command
from amber.errors import AmberError
from amber.errors import KeyMissing
from amber.errors import StoreError

__all__ = ["Hit", "run"]

CHUNK = 8 * 1024 * 1024
SQLITE_MAGIC = b"SQLite format 3\x00"
SKIP_DIRS = {".git", ".venv", "node_modules", "__pycache__", ".mypy_cache", ".ruff_cache"}


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="files or directories (recursively). Each is read as what it is: an amber "
        "store (.db: exchanges and replay/shadow results), HAR (each entry's headers, "
        "query, cookies, postData, content incl. base64, redirectURL), JSONL export (one "
        "exchange a line), fixture YAML (each row under its table and columns), Python "
        "(a generated test's literals and keys), mitmproxy flows; anything else as text",
    )
    p.add_argument(
        "--store",
        metavar="URL",
        action="append",
        default=[],
        help="also scan this store (e.g. a PostgreSQL URL), opened read-only; repeatable",
    )
    p.add_argument(
        "--rule",
        action="append",
        metavar="NAME",
        help="report only these rules (e.g. sensitive-header, email, github-token; "
        "default: all); repeatable",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help='one JSON object per finding: {"type": "finding", "where", "rule", "location"} '
        "(docs/cli.md)",
    )
    p.add_argument(
        "--config",
        metavar="FILE",
        help="amber.yaml whose sanitize: rules to apply (custom rules, detectors, keys) and "
        "whose fixtures.known_values count as amber's own (default: found as amber does)",
    )


def _scanner(path: str | None, rules: list[str] | None) -> ArtifactScanner:
    from amber._config import find_config
    from amber.sanitize import SanitizeConfig

    cfg = find_config(path)
    section = cfg.section("sanitize")
    scfg = cfg.with_key("sanitize", lambda: SanitizeConfig.from_mapping(section))
    known = declared_known(cfg)
    try:
        key: bytes | None = load_key()
    except KeyMissing:  # the rules need no key; pseudonyms made while scanning are dropped
        key = None
    return ArtifactScanner(scfg, rules, known, key=key, kept=declared_kept(cfg))


def _key_needles() -> list[bytes]:
    key = os.environ.get("AMBER_KEY", "")
    if len(key) < 8:
        return []
    return [key.encode(), key.encode().hex().encode()]


def _is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as fp:
            return fp.read(16) == SQLITE_MAGIC
    except OSError:
        return False


def _head(path: Path) -> bytes:
    with path.open("rb") as fp:
        return fp.read(4096).removeprefix(b"\xef\xbb\xbf").lstrip()


# A HAR file is one object whose first member is `"log"` holding an object (HAR 1.2; every
# exporter writes it first). A snapshot or a JSON log with a `"log"` string is not one.
_HAR_HEAD = re.compile(rb'\{\s*"log"\s*:\s*\{')


def _json_line(head: bytes) -> bool:
    """Does the file start with a whole line that is one JSON object (JSON lines: an
    export, the audit log, a JSON log)?"""
    line, nl, _ = head.partition(b"\n")
    if not nl or not line.startswith(b"{"):
        return False
    try:
        return isinstance(loads_json(line), dict)
    except ValueError:
        return False


def kind_of(path: Path) -> str:
    """How to read `path`: store, har, jsonl, fixture, python, flows, json or text."""
    if _is_sqlite(path):
        return "sqlite"
    head = _head(path)
    suffix = path.suffix.lower()
    if suffix == ".py":
        return "python"
    if _HAR_HEAD.match(head):
        return "har"
    if suffix in (".jsonl", ".ndjson") or _json_line(head):
        return "jsonl"
    if suffix in (".yaml", ".yml") and head.startswith(b"version:") and b"\ntables:" in head:
        return "fixture"
    if suffix in (".flow", ".flows", ".mitm", ".dump") and head[:1].isdigit():
        return "flows"
    if suffix == ".json" and head.lstrip()[:1] in (b"{", b"["):
        return "json"  # a JSON document (a generated test's snapshot): keys give context
    return "text"


@dataclass
class Scan:
    """What a scan saw: findings, files, and what it could not scan (with why)."""

    args: argparse.Namespace
    scanner: ArtifactScanner
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
            self.report(self.scanner.store(url, where))
        except StoreError as e:
            self.unscanned.append(f"{where}: {e}")

    def file(self, path: Path) -> None:
        """Scan a file as what it is (see `kind_of`); one that does not parse as its kind
        is scanned as text, and said so. An SQLite file of another application is scanned
        as bytes: they hold all of it."""
        self.files += 1
        try:
            kind = kind_of(path)
        except OSError as e:
            self.unscanned.append(f"{path}: cannot read it ({e.strerror})")
            return
        try:
            if kind == "sqlite" and self._sqlite(path):
                return
            if kind not in ("sqlite", "text"):
                self.report(self._parsed(kind, path))
                self.report(self._needles(path))
                return
            self.report(self._text(path))
        except OSError as e:
            self.unscanned.append(f"{path}: cannot read it ({e.strerror})")

    def _parsed(self, kind: str, path: Path) -> Iterator[Hit]:
        s = self.scanner
        try:
            if kind == "har":
                yield from s.har(path)
            elif kind == "jsonl":
                yield from s.jsonl(path)
            elif kind == "fixture":
                yield from s.fixture(path)
            elif kind == "python":
                yield from s.python(path)
            elif kind == "json":
                yield from s.json_value(loads_json(path.read_bytes()), str(path), "$")
            elif kind == "flows":
                from amber._flows import read_flows

                for i, ex in enumerate(read_flows(path)):
                    yield from s.exchange(ex, f"{path} flow {i}")
        except (AmberError, ValueError, KeyError, TypeError) as e:
            print(
                f"amber scan: {path}: not readable as {kind} ({type(e).__name__}); scanned as text",
                file=sys.stderr,
            )
            yield from self._text(path)

    def _sqlite(self, path: Path) -> bool:
        """Scan an amber store (True); another SQLite file is to be scanned as bytes."""
        try:
            tables = sqlite_tables(str(path)) or set()
        except StoreError as e:
            self.unscanned.append(f"{path}: {e}")
            tables = set()
        if "amber_meta" in tables:
            self.store(f"sqlite:///{path}", str(path))
            return True
        if tables:
            print(
                f"amber scan: {path}: an SQLite database that is not an amber store "
                "(scanned as bytes)",
                file=sys.stderr,
            )
        return False

    def _text(self, path: Path) -> Iterator[Hit]:
        return scan_file(path, self.scanner)

    def _needles(self, path: Path) -> Iterator[Hit]:
        needles = _key_needles()
        if not needles:
            return
        with path.open("rb") as fp:
            tail = b""
            while chunk := fp.read(CHUNK):
                data = tail + chunk
                if any(n in data for n in needles):
                    yield Hit(str(path), "amber-key")
                    return
                tail = data[-256:]


def scan_file(path: Path, scanner: ArtifactScanner) -> Iterator[Hit]:
    """The value detectors over a file's bytes, read in chunks cut at line ends."""
    line_base = 0
    needles = _key_needles()
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
            yield from scanner.text(data, str(path), line_base)
            for needle in needles:
                if needle in data:
                    yield Hit(str(path), "amber-key")
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
    scan = Scan(args, _scanner(args.config, args.rule))
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


def finding_json(hit: Hit) -> dict[str, str]:
    """A finding as a JSON line: `"type": "finding"`, `where`, `rule` and `location`, all
    strings (`location` is `""` when the finding has none; docs/cli.md)."""
    return {"type": "finding", **hit.as_dict()}


def _report(hit: Hit, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(dumps_json(finding_json(hit), newline=True).decode())
    else:
        loc = f" {hit.location}" if hit.location else ""
        sys.stdout.write(f"{printable(hit.where)}:{printable(loc)}: {hit.rule}\n")


COMMAND = Command(
    "scan",
    "find secrets and personal data in artifacts (a CI leak gate)",
    register,
    run,
    description="Scan files, directories and stores with the sanitizer's own rules: each "
    "artifact is parsed (HAR, JSONL, stores and run results, fixtures, generated tests, "
    "flows) and a finding is anything the sanitizer would still change there (an artifact "
    "amber wrote is clean iff sanitizing it again changes nothing). Prints WHERE: LOCATION: "
    "RULE (file:line or entry/exchange, the header/key/column inside it), never the value. "
    "amber's markers and pseudonyms, other tools' markers ([REDACTED], ***, xxxx, "
    "<hidden>...), fixtures.known_values, the fixture columns fixtures.keep declares and "
    "the test identity (testing.identity: its values and its password hash) are not "
    "findings. Exit status: 1 when anything "
    "is found, 2 when something could not be scanned (and nothing was found), 0 clean.",
)
