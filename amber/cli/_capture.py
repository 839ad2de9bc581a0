"""`amber capture` (mitmproxy with the capture addon) and `amber addon-path`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from amber.cli._common import Command
from amber.cli._common import UsageError
from amber.cli._common import add_store_args


def entry_file() -> str:
    import amber.capture

    return str(Path(amber.capture.__file__).with_name("mitmproxy_entry.py"))


def register_capture(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--upstream", metavar="URL",
        help="reverse proxy in front of this service, e.g. http://127.0.0.1:8000 "
        "(the usual mode; clients talk to --listen instead of the service)",
    )
    p.add_argument(
        "--mode", metavar="MODE",
        help="'regular' for an explicit HTTP/HTTPS proxy (TLS through mitmproxy's CA), or "
        "'upstream:URL' to chain to another proxy; default: reverse when --upstream is given",
    )
    p.add_argument(
        "--listen", metavar="HOST:PORT", default="127.0.0.1:8080",
        help="address to accept clients on (default 127.0.0.1:8080)",
    )
    p.add_argument(
        "--rewrite-host", action="store_true",
        help="reverse mode: send the upstream's own Host header instead of the client's "
        "(by default the client's Host is forwarded and recorded)",
    )
    p.add_argument(
        "--sample-rate", type=float, metavar="RATE",
        help="keep this fraction of ordinary exchanges (errors and X-Amber-Capture "
        "requests are always kept); default 1",
    )
    p.add_argument(
        "--sample-key", metavar="header:NAME|cookie:NAME",
        help="sample consistently per user or session by this header or cookie",
    )
    p.add_argument(
        "--filter", metavar="EXPR",
        help="only consider flows matching this mitmproxy filter expression",
    )
    p.add_argument("--exclude-path", action="append", metavar="GLOB",
                   help="never record these paths (globs or route templates); repeatable")
    p.add_argument("--include-path", action="append", metavar="GLOB",
                   help="record only these paths (globs or route templates); repeatable")
    p.add_argument("--max-body-size", type=int, metavar="BYTES",
                   help="truncate (and flag) bodies above BYTES (default 1 MiB)")
    p.add_argument(
        "--set", action="append", default=[], metavar="OPTION=VALUE",
        help="any other mitmproxy or amber_* option, passed through to mitmdump",
    )
    p.add_argument("--verbose-proxy", action="store_true",
                   help="let mitmproxy print its own connection log (never flow contents)")
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
            raise UsageError(f"--upstream {args.upstream!r}: expected a URL such as "
                             "http://127.0.0.1:8000")
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
    pairs = {
        "amber_store": args.store, "amber_config": args.config,
        "amber_sample_rate": args.sample_rate, "amber_sample_key": args.sample_key,
        "amber_filter": args.filter, "amber_max_body_size": args.max_body_size,
    }
    for k, v in pairs.items():
        if v is not None:
            out += ["--set", f"{k}={v}"]
    for glob in args.exclude_path or ():
        out += ["--set", f"amber_exclude_paths={glob}"]
    for glob in args.include_path or ():
        out += ["--set", f"amber_include_paths={glob}"]
    for s in args.set:
        out += ["--set", s]
    return out


def run_capture(args: argparse.Namespace) -> int:
    from amber._pseudonym import load_key

    load_key()  # fail before starting the proxy when the key is missing
    argv = proxy_args(args)
    if args.mode == "regular" or (args.mode or "").startswith("upstream:"):
        confdir = Path(os.path.expanduser("~/.mitmproxy"))
        print(f"amber capture: clients must trust mitmproxy's CA for HTTPS: "
              f"{confdir / 'mitmproxy-ca-cert.pem'}", file=sys.stderr)
    print(f"amber capture: listening on {args.listen}; Ctrl-C stops after writing "
          "everything buffered", file=sys.stderr)
    return run_proxy(argv)  # the addon goes into the master, not through `-s`


def run_proxy(argv: list[str]) -> int:
    """mitmdump's main loop with the capture addon built in and without mitmdump's flow
    printer.

    Every addon costs every hook of every flow a lookup: a `-s` script is three nodes in
    mitmproxy's addon tree (loader, script, module) and the flow printer one more, each
    visited about 25 times per request. Registering `CaptureAddon` in the master directly
    and leaving the printer out (amber never prints flows: they are unsanitized) keeps that
    overhead to the one addon that does work. The flags are mitmdump's.
    """
    from mitmproxy.tools import cmdline
    from mitmproxy.tools import dump
    from mitmproxy.tools.main import run

    from amber.capture.addon import CaptureAddon

    addon = CaptureAddon()

    class AmberMaster(dump.DumpMaster):
        def __init__(self, options: Any, **kwargs: Any) -> None:
            super().__init__(options, with_dumper=False, **kwargs)
            self.addons.add(addon)  # type: ignore[no-untyped-call]

    run(AmberMaster, cmdline.mitmdump, argv, lambda _: {})  # start-up errors: sys.exit(1)
    return 1 if addon.failed else 0


def run_addon_path(args: argparse.Namespace) -> int:
    print(entry_file())
    return 0


CAPTURE = Command(
    "capture", "run a capturing proxy (mitmproxy with amber's addon)", register_capture,
    run_capture,
    description="Run mitmproxy with amber's capture addon: a reverse proxy in front of a "
    "service (--upstream), or a regular or chained proxy (--mode). Every exchange is "
    "filtered, sampled and sanitized before it is written to the store. Needs AMBER_KEY.",
)
ADDON_PATH = Command(
    "addon-path", "print the addon file for mitmdump -s", lambda p: None, run_addon_path,
    description='Print the entry file for existing mitmproxy setups: '
    'mitmdump -s "$(amber addon-path)" --set amber_store=URL',
)
