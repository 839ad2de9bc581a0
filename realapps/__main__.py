"""``python -m realapps list`` / ``python -m realapps run APP [-n N] [--keep DIR]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from realapps._app import all_apps
from realapps._app import get_app
from realapps._run import CACHE
from realapps._run import HarnessError
from realapps._run import run_app


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m realapps", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="the corpus: one line per app")
    r = sub.add_parser("run", help="capture, gen-test and run the test on both releases")
    r.add_argument("apps", nargs="+", metavar="APP", help="app names (see list), or 'all'")
    r.add_argument("-n", type=int, default=3, help="runs per release (default 3)")
    r.add_argument("--cache", type=Path, default=CACHE, help=f"venv cache (default {CACHE})")
    r.add_argument("--keep", type=Path, help="work directory to keep (default: a temp dir)")
    args = p.parse_args(argv)
    if args.cmd == "list":
        for app in all_apps().values():
            status = f"xfail: {app.xfail}" if app.xfail else "reproduces"
            print(f"{app.name}\t{app.package} {app.buggy} -> {app.fixed}\t{app.framework}, "
                  f"{app.db_layer}, {app.failure}\t{status}")  # fmt: skip
        return 0
    names = list(all_apps()) if args.apps == ["all"] else args.apps
    ok = True
    for name in names:
        app = get_app(name)
        keep = args.keep / name if args.keep else None
        try:
            res = run_app(app, args.n, args.cache, keep)
        except HarnessError as e:
            print(f"== {name}: {e}")
            ok = False
            continue
        print(res.summary())
        if app.xfail:
            print(f"known: {app.xfail}")
        ok = ok and res.reproduced
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
