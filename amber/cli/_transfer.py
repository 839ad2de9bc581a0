"""`amber export` and `amber import`: HAR, JSONL, curl and mitmproxy flow files; and
`amber migrate`, which brings a store to this amber's schema.

Export reads the store read-only. Import, like capture, opens it for writing, which first
judges an existing file by its bytes: a file that is not an amber store is refused
untouched. The read-only commands never migrate a store; `amber migrate` is what they
point to when one needs it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING
from typing import BinaryIO

from amber import __version__
from amber._exports import read_jsonl
from amber._exports import write_curl
from amber._exports import write_jsonl
from amber._har import read_har
from amber._har import write_har
from amber._model import Exchange
from amber._store import SCHEMA_VERSION
from amber._urls import hide_password
from amber.cli._common import Command
from amber.cli._common import add_filter_args
from amber.cli._common import add_store_args
from amber.cli._common import open_from_args
from amber.cli._common import query_from_args
from amber.cli._common import readable_file
from amber.cli._common import writable_file
from amber.errors import ImportFormatError
from amber.errors import SanitizeError

if TYPE_CHECKING:
    from amber._ingest import Pipeline
    from amber._store import Store

FORMATS = ("har", "jsonl", "curl")


def register_export(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--format",
        "-f",
        choices=FORMATS,
        default="har",
        help="har: HAR 1.2 for browser devtools and mitmproxy; jsonl: one exchange per line, "
        "lossless; curl: one shell command per exchange (default: har)",
    )
    p.add_argument("-o", "--output", metavar="FILE", help="write here (default: stdout)")
    p.add_argument(
        "--base-url",
        metavar="URL",
        help="curl only: send the commands to this URL instead of the captured host",
    )
    add_filter_args(p)
    add_store_args(p)


@contextlib.contextmanager
def _output(path: str | None) -> Iterator[BinaryIO]:
    if not path or path == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    tmp = f"{path}.part"
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fp:
            yield fp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def run_export(args: argparse.Namespace) -> int:
    if args.output and args.output != "-":
        writable_file(args.output, "-o")
    _config, store = open_from_args(args, read_only=True)
    with store:
        exchanges = store.iter_exchanges(query_from_args(args))
        with _output(args.output) as fp:
            if args.format == "har":
                n = write_har(exchanges, fp, creator_version=__version__)
            elif args.format == "jsonl":
                n = write_jsonl(exchanges, fp)
            else:
                n = write_curl(exchanges, fp, base_url=args.base_url)
    if args.output and args.output != "-":
        print(f"exported {n} exchanges to {args.output} ({args.format})", file=sys.stderr)
    return 0


def register_import(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE", help="HAR, mitmproxy flow or amber JSONL")
    p.add_argument(
        "--format",
        choices=("auto", "har", "flows", "jsonl"),
        default="auto",
        help="input format (default: detected from the file's first bytes)",
    )
    p.add_argument(
        "--max-body-size",
        type=int,
        metavar="BYTES",
        help="cap stored bodies at BYTES, flagging them truncated "
        "(default: capture.max_body_size in amber.yaml, else 1 MiB)",
    )
    add_store_args(p)


def _read(path: str, fmt: str) -> Iterator[Exchange]:
    # mitmproxy's flow reader: imported when a file is read, so that the other commands
    # start without mitmproxy (amber.cli: the command that needs it says so)
    from amber._flows import detect_format
    from amber._flows import read_flows

    if fmt == "auto":
        fmt = detect_format(path)
    if fmt == "har":
        return read_har(path)
    if fmt == "flows":
        return read_flows(path)
    return read_jsonl(path)


def _import_file(store: Store, pipeline: Pipeline, path: str, fmt: str) -> tuple[int, int, int]:
    """Sanitize and store one file in batches; returns (new, duplicates, dropped).

    A file that turns out damaged part-way (a bad entry, a truncated end) keeps what was
    read before the damage, stored, and the error says so: importing the mended file
    again skips those."""
    new = dup = dropped = 0
    batch: list[Exchange] = []
    try:
        for ex in _read(path, fmt):
            try:
                batch.append(pipeline.process(ex, encoded=False))
            except SanitizeError:
                dropped += 1
            if len(batch) >= 500:
                n, d = _store_batch(store, batch)
                new, dup, batch = new + n, dup + d, []
    except ImportFormatError as e:
        n, d = _store_batch(store, batch)
        if not new + n + dup + d:
            raise
        raise ImportFormatError(
            f"{e}; the {new + n + dup + d} exchanges before it are in the store (importing "
            "again skips them)"
        ) from e
    n, d = _store_batch(store, batch)
    return new + n, dup + d, dropped


def _store_batch(store: Store, batch: list[Exchange]) -> tuple[int, int]:
    if not batch:
        return 0, 0
    have = store.existing_ids([e.id for e in batch])
    fresh = [e for e in batch if e.id not in have]
    return store.add_many(fresh), len(batch) - len(fresh)


def run_import(args: argparse.Namespace) -> int:
    from amber._ingest import Pipeline
    from amber._pseudonym import load_key

    for path in args.files:
        readable_file(path)  # a mistyped name creates no store
    key = load_key()  # nor does a missing key
    config, store = open_from_args(args, create=True)
    with store:
        # Imported files come from production like captured traffic: same sanitizer and key.
        pipeline = Pipeline.from_config(config, key, body_cap=args.max_body_size)
        for path in args.files:
            new, dup, dropped = _import_file(store, pipeline, path, args.format)
            msg = f"{path}: imported {new} exchanges"
            if dup:
                msg += f", skipped {dup} already stored"
            if dropped:
                msg += f", dropped {dropped} that could not be sanitized"
            print(msg, file=sys.stderr)
    return 0


def register_migrate(p: argparse.ArgumentParser) -> None:
    add_store_args(p)


def run_migrate(args: argparse.Namespace) -> int:
    """Open the store for writing, which migrates it (and lets SQLite fold a leftover WAL
    back into the file when it closes), and say where it stands."""
    _config, store = open_from_args(args)
    with store:
        shown = hide_password(store.url)
    print(f"{shown}: store schema {SCHEMA_VERSION}, up to date", file=sys.stderr)
    return 0


EXPORT = Command(
    "export",
    "write exchanges as HAR, JSONL or curl commands",
    register_export,
    run_export,
    description="Export exchanges (streamed from the store) as HAR 1.2, JSONL or curl.",
)
IMPORT = Command(
    "import",
    "import HAR, mitmproxy flow or JSONL files (sanitized on the way in)",
    register_import,
    run_import,
    description="Import exchanges from HAR, mitmproxy flow (-w) or amber JSONL files. "
    "Everything passes through the same sanitizer as captured traffic, so AMBER_KEY "
    "must be set.",
)
MIGRATE = Command(
    "migrate",
    "bring a store to this amber's schema (read-only commands never do)",
    register_migrate,
    run_migrate,
    description="Migrate the store in place to this amber's schema, one transaction per "
    "step, and fold a leftover SQLite WAL back into the file. ls, show, stats, export, scan, "
    "runs, gen-test and fixtures only read, so they ask for this instead of migrating.",
)
