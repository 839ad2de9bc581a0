"""`amber show ID`: one exchange in full, bodies pretty-printed by content type.

The store is opened read-only. `--json` gives every value exactly (a raw non-UTF-8 byte kept
by `surrogateescape` as a `\\udce9` escape, which Python's json reads back as the same
string); the text view shows such a byte as `\\xe9`.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from urllib.parse import parse_qsl

import orjson

from amber._model import Exchange
from amber._model import Headers
from amber._model import Request
from amber._model import Response
from amber._model import dumps_json
from amber._model import printable
from amber.cli._common import Command
from amber.cli._common import add_store_args
from amber.cli._common import format_time
from amber.cli._common import open_from_args

MAX_TEXT = 64 * 1024


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", metavar="ID", help="amber id (or a unique prefix) or request id")
    p.add_argument(
        "--json",
        action="store_true",
        help='the whole exchange as one JSON object, "type": "exchange" (docs/cli.md)',
    )
    p.add_argument(
        "--full", action="store_true", help=f"print text bodies beyond {MAX_TEXT // 1024} KiB"
    )
    add_store_args(p)


def render_body(msg: Request | Response, *, full: bool = False) -> str:
    """A body for humans: JSON indented, forms as fields, text as is, binary as size+hash."""
    body = msg.body
    if not body:
        return "(empty body)"
    ctype = (msg.content_type or "").lower()
    if msg.is_binary:
        digest = hashlib.sha256(body).hexdigest()
        return f"(binary body: {len(body)} bytes, {ctype or 'no content-type'}, sha256 {digest})"
    if "json" in ctype or body[:1] in (b"{", b"["):
        try:
            return orjson.dumps(orjson.loads(body), option=orjson.OPT_INDENT_2).decode()
        except orjson.JSONDecodeError:
            pass
    if "x-www-form-urlencoded" in ctype:
        pairs = parse_qsl(msg.text, keep_blank_values=True)
        if pairs:
            return "\n".join(f"{k} = {v}" for k, v in pairs)
    text = msg.text
    if len(text) > MAX_TEXT and not full:
        return text[:MAX_TEXT] + f"\n... ({len(text) - MAX_TEXT} more characters; use --full)"
    return text


def _headers(h: Headers) -> str:
    return "\n".join(f"{k}: {v}" for k, v in h)


def render(ex: Exchange, *, full: bool = False) -> str:
    req, resp = ex.request, ex.response
    lines = [
        f"exchange    {ex.id}",
        f"request id  {ex.request_id or '-'}",
        f"captured    {format_time(req.timestamp_start)}",
        f"route       {req.method} {ex.route}",
        f"upstream    {req.scheme}://{req.host}:{req.port}"
        + (f"  (Host: {req.host_header})" if req.host_header else ""),
        f"client      {ex.client_addr or '-'}",
    ]
    if ex.duration_ms is not None:
        lines.append(f"duration    {ex.duration_ms:.1f} ms")
    if ex.tags:
        lines.append(f"tags        {', '.join(ex.tags)}")
    if ex.truncated:
        lines.append("truncated   yes: a body was capped at capture; replays may differ")
    if ex.redactions:
        rules: dict[str, int] = {}
        for r in ex.redactions:
            rules[r.rule] = rules.get(r.rule, 0) + 1
        summary = ", ".join(f"{k} x{v}" for k, v in sorted(rules.items()))
        lines.append(f"redactions  {len(ex.redactions)} ({summary})")
    enc = f"  (was {req.content_encoding})" if req.content_encoding else ""
    lines += [
        "",
        f"> {req.method} {req.target} {req.http_version}",
        _headers(req.headers),
        "",
        render_body(req, full=full) + enc,
    ]
    if resp is not None:
        enc = f"  (was {resp.content_encoding})" if resp.content_encoding else ""
        lines += [
            "",
            f"< {resp.http_version} {resp.status} {resp.reason}",
            _headers(resp.headers),
            "",
            render_body(resp, full=full) + enc,
        ]
    else:
        lines += ["", f"< no response: {ex.error or 'unknown error'}"]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    _config, store = open_from_args(args, read_only=True)
    with store:
        matches = store.lookup(args.id)
        if not matches:
            store.get(args.id)  # raises NotFound with the hint
        ex = matches[0]
        if args.json:
            doc = {"type": "exchange", **ex.to_dict()}
            sys.stdout.write(dumps_json(doc, indent=True, newline=True).decode())
        else:
            sys.stdout.write(printable(render(ex, full=args.full)))
        if len(matches) > 1:
            others = ", ".join(printable(m.id) for m in matches[1:6])
            print(
                f"note: {len(matches)} exchanges carry request id {args.id!r}; showing the "
                f"latest. Others: {others}",
                file=sys.stderr,
            )
    return 0


COMMAND = Command(
    "show",
    "show one exchange in full",
    register,
    run,
    description="Show one exchange: metadata, headers and bodies.",
)
