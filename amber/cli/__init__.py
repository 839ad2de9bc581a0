"""The `amber` command line. `main(argv)` returns the exit status; nothing here calls exit.

Every failure a command reports is one line on stderr, `amber COMMAND: error: MESSAGE`,
where the message names what is wrong (a file, a flag, a store) and what to do: usage
errors (argparse's included) exit 2, an unreachable replay or shadow target
(`TargetUnreachable`) 3, every other error 1. An error amber did not expect is
one line too, naming its class and where it was raised, never its message (which may hold
unsanitized content); `AMBER_DEBUG=1` prints the traceback as well.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from typing import TYPE_CHECKING
from typing import NoReturn

from amber import __version__
from amber.errors import AmberError
from amber.errors import TargetUnreachable
from amber.errors import UsageError

if TYPE_CHECKING:  # the commands import the tools' dependencies (rich...): main() checks
    from amber.cli._common import Command

__all__ = ["main"]

DEBUG_ENV = "AMBER_DEBUG"

_EXTRAS = {"psycopg": ("PostgreSQL", "postgres")}
"""Optional drivers: the package, what needs it and the extra of amber that installs it."""

_TOOLS = frozenset(
    {"sqlalchemy", "zstandard", "rich", "mitmproxy", "httptools", "uvloop", "pytest"}
)
"""What the `amber` commands need beyond the test runtime (`pip install amber` installs only
the runtime that generated tests import; the commands come with `amber[cli]`). Each command
imports what it needs when it runs (`capture` and flow files: mitmproxy; `replay`: httptools,
uvloop...), so a command that does not need a package starts without it; the parser itself
needs rich (the tables) only."""

EPILOG = f"""\
environment:
  AMBER_STORE   store URL (sqlite:///PATH or postgresql://USER@HOST/DB)
  AMBER_CONFIG  path of amber.yaml
  AMBER_KEY     pseudonym key (capture and import); make one with
                python3 -c 'import secrets; print(secrets.token_hex(32))'
  {DEBUG_ENV}   set to 1 to print the traceback of an error along with its line

exit status: 0 success, 1 error (replay, shadow: a difference or regression),
  2 usage error, 3 a replay or shadow target unreachable, 130 interrupted.
Errors are one line on stderr: amber COMMAND: error: MESSAGE.
Every command explains its flags: amber COMMAND --help.
"""


def _commands() -> list[Command]:
    from amber.cli import _auditlog
    from amber.cli import _capture
    from amber.cli import _demo
    from amber.cli import _fixtures
    from amber.cli import _gentest
    from amber.cli import _ls
    from amber.cli import _replay
    from amber.cli import _scan
    from amber.cli import _shadow
    from amber.cli import _show
    from amber.cli import _shrink
    from amber.cli import _stats
    from amber.cli import _transfer

    return [
        _ls.COMMAND,
        _show.COMMAND,
        _transfer.EXPORT,
        _transfer.IMPORT,
        _stats.COMMAND,
        _transfer.MIGRATE,
        _capture.CAPTURE,
        _capture.ADDON_PATH,
        _scan.COMMAND,
        _replay.REPLAY,
        _replay.RUNS,
        _shadow.COMMAND,
        _gentest.COMMAND,
        _fixtures.COMMAND,
        _shrink.COMMAND,
        _demo.COMMAND,
        _auditlog.COMMAND,
    ]


class _ArgumentsRejected(Exception):
    """argparse rejected the command line; `main` prints it as a usage error."""


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose errors reach `main` (argparse would print the usage block
    and exit), so they print as one line with the same prefix as every other error."""

    def error(self, message: str) -> NoReturn:
        raise _ArgumentsRejected(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="amber",
        description="Capture sanitized production HTTP traffic, replay it, and turn failing "
        "requests into pytest regression tests.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"amber {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for cmd in _commands():
        p = sub.add_parser(
            cmd.name,
            help=cmd.help,
            description=cmd.description or cmd.help,
            epilog=cmd.epilog or None,
        )
        cmd.register(p)
        p.set_defaults(_run=cmd.run)
    return parser


def _command_of(argv: Sequence[str]) -> str | None:
    """The subcommand `argv` names, read before parsing so that even a rejected command
    line gets its command's prefix: the first word that is not an option (amber's own
    options take no value), when it is a command."""
    word = next((a for a in argv if not a.startswith("-")), None)
    return word if word in {cmd.name for cmd in _commands()} else None


class _LogLine(logging.Formatter):
    """`amber COMMAND: warning: message`: a log record as one line with the errors'
    prefix (an exception attached to a record is left out, as in the error lines)."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def format(self, record: logging.LogRecord) -> str:
        return f"{self.prefix}: {record.levelname.lower()}: {record.getMessage()}"


def _setup_logging(command: str, prefix: str, verbose: bool) -> None:
    level = logging.DEBUG if verbose else logging.WARNING
    if command != "capture":  # mitmproxy brings its own log handler
        handler = logging.StreamHandler()
        handler.setFormatter(_LogLine(prefix))
        logging.basicConfig(level=level, handlers=[handler])
        # Libraries lower the root logger's level; our handler keeps its own.
        for h in logging.getLogger().handlers:
            h.setLevel(level)


def _unexpected(e: BaseException) -> str:
    """The line for an error amber did not expect: its class and the innermost place it
    was raised, not its message (it may quote unsanitized input)."""
    frames = traceback.extract_tb(e.__traceback__)
    where = ""
    if frames:
        parts = frames[-1].filename.replace(os.sep, "/").split("/")
        where = f" at {'/'.join(parts[-2:])}:{frames[-1].lineno}"
    return (
        f"unexpected {type(e).__name__}{where} (a bug in amber: please report it); "
        f"run again with {DEBUG_ENV}=1 to see the traceback"
    )


def _failure(e: BaseException) -> tuple[str, int]:
    """The message and exit status of an error that ended a command."""
    if isinstance(e, UsageError):
        return str(e), 2
    if isinstance(e, TargetUnreachable):
        return str(e), 3
    if isinstance(e, AmberError):
        return str(e), 1
    if isinstance(e, ModuleNotFoundError) and _tool(e) is not None:
        return _needs(f"this command needs {_tool(e)}"), 1
    if isinstance(e, ModuleNotFoundError) and e.name in _EXTRAS:
        what, extra = _EXTRAS[e.name]
        return (
            f"{what} needs the {e.name} package, which is not installed: "
            f"pip install 'amber[{extra}]'"
        ), 1
    if isinstance(e, OSError) and e.filename is not None:
        # a file the command was given or had to write, e.g. a full disk
        what = e.strerror or type(e).__name__
        return f"{e.filename}: {what}; check the path, its permissions and free space", 1
    return _unexpected(e), 1


def _tool(e: ModuleNotFoundError) -> str | None:
    """The package of `_TOOLS` whose import failed, or None."""
    package = (e.name or "").partition(".")[0]
    return package if package in _TOOLS else None


def _needs(what: str) -> str:
    return f"{what}, which is not installed in this environment: pip install 'amber[cli]'"


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = build_parser()
    except ModuleNotFoundError as e:
        package = _tool(e)
        if package is None:
            raise
        print(f"amber: error: {_needs(f'the amber command needs {package}')}", file=sys.stderr)
        return 1
    argv = list(sys.argv[1:] if argv is None else argv)
    command = _command_of(argv)
    prefix = f"amber {command}" if command else "amber"
    try:
        args = parser.parse_args(argv)
    except _ArgumentsRejected as e:
        print(f"{prefix}: error: {e}; see `{prefix} --help`", file=sys.stderr)
        return 2
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    args.argv = ["amber", *argv]  # the command line as given, for the audit log
    _setup_logging(args.command, prefix, args.verbose)
    try:
        return int(args._run(args))
    except KeyboardInterrupt:
        print(f"{prefix}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as e:
        if os.environ.get(DEBUG_ENV):
            traceback.print_exc()
        message, status = _failure(e)
        # one line even when a message quotes a library's multi-line text
        line = "; ".join(part.strip() for part in message.splitlines() if part.strip())
        print(f"{prefix}: error: {line}", file=sys.stderr)
        return status
