"""The `amber` command line. `main(argv)` returns the exit status; nothing here calls exit."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from amber import __version__
from amber.cli._common import Command
from amber.errors import AmberError
from amber.errors import ConfigError
from amber.errors import UsageError

__all__ = ["main"]

EPILOG = """\
environment:
  AMBER_STORE   store URL (sqlite:///PATH or postgresql://USER@HOST/DB)
  AMBER_CONFIG  path of amber.yaml
  AMBER_KEY     pseudonym key (capture and import); make one with
                python3 -c 'import secrets; print(secrets.token_hex(32))'

exit status: 0 success, 1 error, 2 usage error, 130 interrupted.
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
    from amber.cli import _stats
    from amber.cli import _transfer

    return [_ls.COMMAND, _show.COMMAND, _transfer.EXPORT, _transfer.IMPORT, _stats.COMMAND,
            _transfer.MIGRATE, _capture.CAPTURE, _capture.ADDON_PATH, _scan.COMMAND,
            _replay.REPLAY, _replay.RUNS, _shadow.COMMAND,
            _gentest.COMMAND, _fixtures.COMMAND, _demo.COMMAND,
            _auditlog.COMMAND]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.description or cmd.help)
        cmd.register(p)
        p.set_defaults(_run=cmd.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = ["amber", *argv]  # the command line as given, for the audit log
    level = logging.DEBUG if args.verbose else logging.WARNING
    if args.command != "capture":  # mitmproxy brings its own log handler
        logging.basicConfig(level=level, format="amber: %(levelname)s: %(message)s")
        # Libraries lower the root logger's level; our handler keeps its own.
        for handler in logging.getLogger().handlers:
            handler.setLevel(level)
    logging.getLogger("faker").setLevel(logging.WARNING)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args))
    except UsageError as e:
        print(f"amber {args.command}: error: {e}", file=sys.stderr)
        return 2
    except ConfigError as e:
        print(f"amber: config error: {e}", file=sys.stderr)
        return 1
    except AmberError as e:
        print(f"amber: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("amber: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
