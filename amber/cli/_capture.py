"""`amber capture` (mitmproxy with the capture addon) and `amber addon-path`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from amber.cli._common import Command
from amber.cli._common import UsageError
from amber.cli._common import add_store_args


def entry_file() -> str:
    import amber.capture

    return str(Path(amber.capture.__file__).with_name("mitmproxy_entry.py"))


# flag -> the addon option it sets, and how argparse reads it. The values are checked by the
# addon, the one place that checks them whatever sets them (a flag, --set or amber.yaml).
_OPTION_FLAGS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    (
        "--filter",
        "amber_filter",
        {
            "metavar": "EXPR",
            "help": "only consider flows matching this mitmproxy filter "
            "expression, e.g. '~d api.example.com & !~u /health'",
        },
    ),
    (
        "--include-path",
        "amber_include_paths",
        {
            "action": "append",
            "metavar": "GLOB",
            "help": "record only these paths (globs or route templates); repeatable",
        },
    ),
    (
        "--exclude-path",
        "amber_exclude_paths",
        {
            "action": "append",
            "metavar": "GLOB",
            "help": "never record these paths (globs or route templates); repeatable",
        },
    ),
    (
        "--include-host",
        "amber_include_hosts",
        {"action": "append", "metavar": "GLOB", "help": "record only these hosts; repeatable"},
    ),
    (
        "--exclude-host",
        "amber_exclude_hosts",
        {"action": "append", "metavar": "GLOB", "help": "never record these hosts; repeatable"},
    ),
    (
        "--method",
        "amber_methods",
        {
            "action": "append",
            "metavar": "METHOD",
            "help": "record only these HTTP methods; repeatable (default: all)",
        },
    ),
    (
        "--content-type",
        "amber_content_types",
        {
            "action": "append",
            "metavar": "PREFIX",
            "help": "record only responses whose content type starts with PREFIX; repeatable",
        },
    ),
    (
        "--sample-rate",
        "amber_sample_rate",
        {
            "metavar": "RATE",
            "help": "keep this fraction (0 to 1) of ordinary exchanges (errors "
            "and requests with the always-capture header are always kept); default 1",
        },
    ),
    (
        "--sample-key",
        "amber_sample_key",
        {
            "metavar": "header:NAME|cookie:NAME",
            "help": "sample consistently per user or session by this header or cookie",
        },
    ),
    (
        "--always-header",
        "amber_always_header",
        {
            "metavar": "NAME",
            "help": "requests carrying this header are always kept (default X-Amber-Capture)",
        },
    ),
    (
        "--max-body-size",
        "amber_max_body_size",
        {"metavar": "BYTES", "help": "truncate (and flag) bodies above BYTES (default 1 MiB)"},
    ),
    (
        "--queue-size",
        "amber_queue_size",
        {"metavar": "N", "help": "exchanges held while the writer catches up (default 10000)"},
    ),
    (
        "--queue-bytes",
        "amber_queue_bytes",
        {
            "metavar": "BYTES",
            "help": "bytes of bodies held while the writer catches up (default 256 MiB)",
        },
    ),
    (
        "--writer",
        "amber_writer",
        {
            "metavar": "process|thread",
            "help": "sanitize and store in a child process (default) or a thread of the proxy",
        },
    ),
    (
        "--status-file",
        "amber_status_file",
        {
            "metavar": "PATH",
            "help": "keep capture's counters in this file, in Prometheus' text "
            "format (for node_exporter's textfile collector: name it *.prom)",
        },
    ),
    (
        "--status-interval",
        "amber_status_interval",
        {
            "metavar": "SECONDS",
            "help": "log a summary line this often (default 60; 0: only at exit and on SIGUSR1)",
        },
    ),
)
# options set by the shared --store and --config flags
_STORE_FLAGS = (("store", "amber_store"), ("config", "amber_config"))


def register_capture(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--upstream",
        metavar="URL",
        help="reverse proxy in front of this service, e.g. http://127.0.0.1:8000 "
        "(the usual mode; clients talk to --listen instead of the service)",
    )
    p.add_argument(
        "--mode",
        metavar="MODE",
        help="'regular' for an explicit HTTP/HTTPS proxy (TLS through mitmproxy's CA), or "
        "'upstream:URL' to chain to another proxy; default: reverse when --upstream is given",
    )
    p.add_argument(
        "--listen",
        metavar="HOST:PORT",
        default="127.0.0.1:8080",
        help="address to accept clients on (default 127.0.0.1:8080)",
    )
    p.add_argument(
        "--rewrite-host",
        action="store_true",
        help="reverse mode: send the upstream's own Host header instead of the client's "
        "(by default the client's Host is forwarded and recorded)",
    )
    for flag, option, kwargs in _OPTION_FLAGS:
        p.add_argument(flag, dest=option, **kwargs)
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="OPTION=VALUE",
        help="any mitmproxy or amber_* option, passed through to mitmproxy (an amber_* option "
        "given here and by its flag is an error)",
    )
    p.add_argument(
        "--verbose-proxy",
        action="store_true",
        help="let mitmproxy print its own connection log (never flow contents)",
    )
    add_store_args(p)


def mitmdump_args(args: argparse.Namespace) -> list[str]:
    """The mitmdump command line equivalent to `args`: `-s ENTRY` and then the flags."""
    return ["-s", entry_file(), *proxy_args(args)]


def proxy_args(args: argparse.Namespace) -> list[str]:
    """mitmproxy's flags for `args` (the addon itself is not among them)."""
    host, _, port = args.listen.rpartition(":")
    if not port.isdigit():
        raise UsageError(f"--listen {args.listen!r}: expected HOST:PORT")
    out = ["--listen-host", host or "127.0.0.1", "--listen-port", port]
    if args.upstream and args.mode and args.mode != "reverse":
        raise UsageError("--upstream is the reverse-proxy target; don't combine it with --mode")
    if args.upstream:
        if "://" not in args.upstream:
            raise UsageError(
                f"--upstream {args.upstream!r}: expected a URL such as http://127.0.0.1:8000"
            )
        out += ["--mode", f"reverse:{args.upstream}"]
        # connect upstream per request: with the service down the client gets a 502 and the
        # failure is recorded, instead of a reset connection before any request is read
        out += ["--set", "connection_strategy=lazy"]
        if not args.rewrite_host:
            out += ["--set", "keep_host_header=true"]
    elif args.mode:
        if args.mode != "regular" and not args.mode.startswith("upstream:"):
            raise UsageError("--mode must be 'regular' or 'upstream:URL' (or give --upstream)")
        out += ["--mode", args.mode]
    else:
        raise UsageError("give --upstream URL (reverse proxy) or --mode regular|upstream:URL")
    # mitmdump prints every flow by default: that would put unsanitized URLs in the log.
    out += ["--set", "flow_detail=0"]
    if not args.verbose_proxy:
        out += ["--set", "termlog_verbosity=warn"]
    given = {spec.partition("=")[0] for spec in args.set}
    pairs = [*_STORE_FLAGS, *((option, option) for _, option, _ in _OPTION_FLAGS)]
    for dest, option in pairs:
        value = getattr(args, dest)
        if value is None:
            continue
        if option in given:
            raise UsageError(f"{option} is given by its flag and by --set; give it once")
        for v in value if isinstance(value, list) else [value]:
            out += ["--set", f"{option}={v}"]
    for s in args.set:
        out += ["--set", s]
    return out


def run_capture(args: argparse.Namespace) -> int:
    from amber._config import find_config
    from amber._pseudonym import load_key

    # fail before starting the proxy when the key is missing or amber.yaml is invalid
    load_key()
    if not any(spec.startswith("amber_config=") for spec in args.set):
        find_config(args.config)
    argv = proxy_args(args)
    if args.mode == "regular" or (args.mode or "").startswith("upstream:"):
        confdir = Path(os.path.expanduser("~/.mitmproxy"))
        print(
            f"amber capture: clients must trust mitmproxy's CA for HTTPS: "
            f"{confdir / 'mitmproxy-ca-cert.pem'}",
            file=sys.stderr,
        )
    return run_proxy(argv)  # the addon goes into the master, not through `-s`


def run_proxy(argv: list[str]) -> int:
    """mitmdump's main loop with the capture addon built in and without mitmdump's flow
    printer; "listening" is printed once the proxy accepts connections and records.

    Every addon costs every hook of every flow a lookup: a `-s` script is three nodes in
    mitmproxy's addon tree (loader, script, module) and the flow printer one more, each
    visited about 25 times per request. Registering `CaptureAddon` in the master directly
    and leaving the printer out (amber never prints flows: they are unsanitized) keeps that
    overhead to the one addon that does work. The flags are mitmdump's.

    A start-up failure (a rejected option, an address in use, an unusable store) exits 1
    with one line `amber capture: error: ...` per error.
    """
    from mitmproxy.tools import cmdline
    from mitmproxy.tools.main import run

    from amber.capture.addon import CaptureAddon

    addon = CaptureAddon()
    # mitmproxy reports a rejected option as f"{sys.argv[0]}: {error}"
    with _program_name("amber capture: error"):
        run(_master_class(addon), cmdline.mitmdump, argv, lambda _: {})  # errors: sys.exit(1)
    return 1 if addon.failed else 0


def _master_class(addon: Any) -> Any:
    """mitmdump's master with `addon` (a `CaptureAddon`) built in, amber's start-up check in
    place of mitmdump's, and the "listening" line printed from its `running`: mitmproxy
    calls it after the proxy servers are up, and the addon's own `running` has started the
    writer by the time it returns."""
    from mitmproxy.addons import errorcheck
    from mitmproxy.tools import dump
    from mitmproxy.utils import human

    class StartupCheck(errorcheck.ErrorCheck):
        """mitmdump's start-up check (exit 1 once an error was logged while starting),
        reporting each error as one line. Until start-up is over, the terminal log holds
        errors back (`hold_back`), so none is printed twice or over several lines."""

        name = "errorcheck"  # the name mitmproxy's master looks the check up by

        def __init__(self) -> None:
            super().__init__()
            self.starting = True

        def hold_back(self, record: logging.LogRecord) -> bool:
            return not (self.starting and record.levelno >= logging.ERROR)

        async def shutdown_if_errored(self) -> None:
            await asyncio.sleep(0)  # as mitmproxy's check: let pending log records arrive
            if self.logger.has_errored:
                for record in self.logger.has_errored:
                    print(
                        f"amber capture: error: {startup_error(record.getMessage())}",
                        file=sys.stderr,
                    )
                sys.exit(1)

        def finish(self) -> None:
            self.starting = False
            super().finish()  # type: ignore[no-untyped-call]

    class AmberMaster(dump.DumpMaster):
        def __init__(self, options: Any, **kwargs: Any) -> None:
            super().__init__(options, with_dumper=False, **kwargs)
            addons: Any = self.addons  # mitmproxy's AddonManager is untyped
            mitmdump_check = addons.get("errorcheck")
            mitmdump_check.finish()
            addons.remove(mitmdump_check)
            self.startup = StartupCheck()
            addons.add(self.startup)
            addons.get("termlog").logger.addFilter(self.startup.hold_back)
            addons.add(addon)

        async def running(self) -> None:
            await super().running()
            if addon.failed is None and not self.startup.logger.has_errored:
                addons: Any = self.addons
                addrs = addons.get("proxyserver").listen_addrs()
                print(
                    f"amber capture: listening on "
                    f"{', '.join(human.format_address(a) for a in addrs)}; Ctrl-C stops "
                    "after writing everything buffered",
                    file=sys.stderr,
                    flush=True,
                )

    return AmberMaster


def startup_error(message: str) -> str:
    """One line for an error logged while the proxy starts: mitmproxy's first line without
    its errno prefix, with what to do when the listening address is taken."""
    lines = message.strip().splitlines() or ["unknown error"]
    line = re.sub(r"^\[Errno \d+\] ", "", lines[0]).removeprefix("amber: ")
    if "failed to listen on" in line:
        line += "; stop what holds it or choose another address with --listen HOST:PORT"
    return line


@contextmanager
def _program_name(name: str) -> Iterator[None]:
    old = sys.argv[0]
    sys.argv[0] = name
    try:
        yield
    finally:
        sys.argv[0] = old


def run_addon_path(args: argparse.Namespace) -> int:
    print(entry_file())
    return 0


CAPTURE = Command(
    "capture",
    "run a capturing proxy (mitmproxy with amber's addon)",
    register_capture,
    run_capture,
    description="Run mitmproxy with amber's capture addon: a reverse proxy in front of a "
    "service (--upstream), or a regular or chained proxy (--mode). Every exchange is "
    "filtered, sampled and sanitized before it is written to the store. Needs AMBER_KEY.",
)
ADDON_PATH = Command(
    "addon-path",
    "print the addon file for mitmdump -s",
    lambda p: None,
    run_addon_path,
    description="Print the entry file for existing mitmproxy setups: "
    'mitmdump -s "$(amber addon-path)" --set amber_store=URL',
)
