"""`amber gen-test`: a captured exchange becomes a readable pytest regression test.

For each exchange, one file `test_<method>_<route>_<id>.py` with one test:

- a captured **server error** (the bug), or any exchange with an expectation, asserts the
  response is what a working build gives (`assert_fixed`): a 2xx or 3xx by default, or the
  route's `testing.expect` entry in amber.yaml (status, JSON fields, texts, line or row
  counts, a predicate), `--expect-status` and `--expect-json` over it;
- a request whose credentials the capture masked holds placeholders for the test identity
  (`testing.identity`), and its docstring and marker say what it needs;
- a captured **good response** asserts status and body equal to the recording minus noise
  paths; the expected response is `__snapshots__/<stem>.json` next to the test, re-recorded
  with `pytest --amber-update`.

The request is embedded as a literal (already sanitized at capture: markers stay markers,
masked credentials become placeholders). Its database fixture, when extracted,
sits in `fixtures/<stem>.yaml` and is loaded by the `amber_client` fixture before the request.
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import os
import re
import shlex
import textwrap
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amber._config import Config
from amber._identity import needs_sentence
from amber._model import Exchange
from amber._urls import hide_passwords
from amber.errors import UsageError
from amber.replay import NoiseRules
from amber.testing._credentials import Credentials
from amber.testing._expect import EXPECT_KEYS
from amber.testing._expect import expectation_for
from amber.testing._snapshot import dumps_snapshot
from amber.testing._snapshot import make_snapshot

__all__ = [
    "MAX_EXPECT_DEPTH",
    "MAX_JSON_DEPTH",
    "GenSpec",
    "GeneratedTest",
    "command_line",
    "config_defaults",
    "expectation_for",
    "render_test",
    "snapshot_of",
    "stem_of",
    "write_test",
]


MAX_JSON_DEPTH = 500
"""The deepest JSON body a generated snapshot test compares. The test parses and compares
bodies recursively, within Python's recursion limit (1,000 frames unless raised) and under
pytest's own frames: measured, a 950-deep array passes and a 970-deep one fails with
`RecursionError`, so half the limit leaves room for deeper stacks (plugins, xdist)."""

MAX_EXPECT_DEPTH = 100
"""The deepest `--expect-json` value: it is written into the test as a Python literal, and
Python's parser refuses a line with more than 200 nested brackets."""

_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def json_depth(data: bytes) -> int:
    """How deep the arrays and objects of the JSON text `data` nest, counted on the
    brackets outside strings without parsing (a parser recurses that deep before it
    finds out anything else): 0 for text that does not start as an array or an object."""
    if data.lstrip()[:1] not in (b"[", b"{"):
        return 0
    brackets = _JSON_STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    return max(itertools.accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _value_depth(value: Any) -> int:
    """How deep the lists and dicts of a JSON value nest (iteratively: it may be deep)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in item)
    return deepest


@dataclass(frozen=True)
class GenSpec:
    """What the user asked for one exchange.

    A spec whose test could not be valid Python or could not compare faithfully is refused
    when it is made, before anything is written: a snapshot test of a response whose JSON
    nests deeper than `MAX_JSON_DEPTH`, or an `expect_json` deeper than
    `MAX_EXPECT_DEPTH`. *Raises:* `UsageError` saying what to do instead.
    """

    exchange: Exchange
    command: str
    app: str | None = None
    base_url: str | None = None
    db_env: str | None = None
    fixture: str | None = None  # path relative to the test file
    expect_status: int | None = None
    expect_json: Any = None
    noise: NoiseRules | None = None
    expect: Mapping[str, Any] | None = None
    """What a working build answers (`testing.expect` in amber.yaml: status, json, contains,
    not_contains, lines, rows, predicate); None: the route's entry of the amber.yaml found
    from the current directory, if any."""
    identity_fields: Mapping[str, str] | None = None
    """`testing.identity.fields`; None: from the amber.yaml found, if any."""

    def __post_init__(self) -> None:
        ex = self.exchange
        if self.expect is None or self.identity_fields is None:
            expect, fields = _from_config(ex)
            if self.expect is None:
                object.__setattr__(self, "expect", expect)
            if self.identity_fields is None:
                object.__setattr__(self, "identity_fields", fields)
        depth = _value_depth(self.expect_json)
        if depth > MAX_EXPECT_DEPTH:
            raise UsageError(
                f"--expect-json nests {depth} levels deep; a generated test holds at most "
                f"{MAX_EXPECT_DEPTH} (it is written as a Python literal): expect a part of "
                "the body by editing the generated test instead"
            )
        if self.snapshot and ex.response is not None:
            depth = json_depth(ex.response.body)
            if depth > MAX_JSON_DEPTH:
                raise UsageError(
                    f"exchange {ex.id}: its response body nests JSON {depth} levels deep, "
                    f"more than a generated snapshot test compares ({MAX_JSON_DEPTH}); pass "
                    f"--expect-status {ex.response.status} for a test of its status, or "
                    "write this test by hand"
                )

    @property
    def snapshot(self) -> bool:
        """Whether the test compares the response with a snapshot: a captured good
        response, when the user does not say what it should have been instead."""
        ex = self.exchange
        return (
            ex.response is not None
            and ex.response.status < 500
            and ex.error is None
            and self.expect_status is None
            and self.expect_json is None
            and not self.expect
        )


def _from_config(ex: Exchange) -> tuple[dict[str, Any], dict[str, str]]:
    """`config_defaults` of the amber.yaml found from the current directory."""
    from amber._config import find_config

    found = config_defaults(find_config(), ex)
    return found["expect"], found["identity_fields"]


def config_defaults(config: Config, ex: Exchange) -> dict[str, Any]:
    """`GenSpec` keyword arguments from a loaded config: the route's `testing.expect`
    entry (`expect`) and `testing.identity.fields` (`identity_fields`); `amber gen-test`
    passes them for the config its `--config` names (`GenSpec(..., **config_defaults(
    config, ex))`). *Raises:* `ConfigError` with file and line for a bad entry."""
    from amber._identity import identity_from_config

    identity = identity_from_config(config)
    fields = dict(identity.fields) if identity is not None else {}
    entries = config.section("testing").get("expect") or []
    expect = config.with_key("testing.expect", lambda: expectation_for(entries, ex))
    return {"expect": expect, "identity_fields": fields}


@dataclass(frozen=True)
class GeneratedTest:
    path: Path
    snapshot: Path | None


def _slug(text: str, limit: int = 40) -> str:
    s = re.sub(r"[^a-zA-Z0-9]+", "_", text).strip("_").lower()
    return (s or "root")[:limit].rstrip("_")


def stem_of(ex: Exchange) -> str:
    return (
        f"test_{_slug(ex.request.method)}_{_slug(ex.route or ex.request.path)}_{ex.id[-8:].lower()}"
    )


def credentials_of(ex: Exchange, fields: dict[str, str] | None = None) -> Credentials:
    creds = Credentials(dict(fields or {}), [])
    _request_literal(ex, creds)
    return creds


def _request_literal(ex: Exchange, creds: Credentials | None = None) -> dict[str, Any]:
    req = ex.request
    creds = creds if creds is not None else Credentials({}, [])
    headers: list[list[str]] = []
    for k, v in req.headers:
        new = creds.header(k, v)
        if new is not None:
            headers.append([k, new])
    body: Any = None
    if req.body:
        try:
            body = req.body.decode("utf-8")
        except UnicodeDecodeError:
            body = {"base64": base64.b64encode(req.body).decode("ascii")}
        else:
            ct = (req.header("content-type") or "").lower()
            if "x-www-form-urlencoded" in ct:
                body = creds.pairs(body)
            elif "json" in ct:
                body = creds.json_text(body)
    return {
        "method": req.method,
        "path": req.path,
        "query": creds.pairs(req.query) if req.query else req.query,
        "headers": headers,
        "body": body,
    }


def snapshot_of(ex: Exchange) -> dict[str, Any]:
    """The recorded response as a reviewable JSON snapshot."""
    resp = ex.response
    assert resp is not None
    return make_snapshot(resp.status, resp.header("content-type") or "", resp.body)


def _noise_literal(rules: NoiseRules | None) -> dict[str, Any]:
    if rules is None:
        return {}
    out: dict[str, Any] = {}
    if rules.ignore_paths:
        out["ignore_paths"] = sorted(rules.ignore_paths)
    if rules.ignore_order:
        out["ignore_order"] = sorted(rules.ignore_order)
    patterns = [{"path": p, "regex": rx.pattern} for p, rx in rules.value_patterns]
    if patterns:
        out["value_patterns"] = patterns
    return out


LINE_LENGTH = 88
"""Generated files are `ruff format`- and `ruff check`-clean with ruff's defaults (and black's):
lines of at most 88 characters, double quotes, one element per line with a trailing comma
where a literal does not fit, long strings split into implicitly concatenated parts."""

_INDENT = "    "


def _str(s: str) -> str:
    """A string literal as ruff format writes it: double quotes unless the text holds more
    double than single quotes, escapes as `repr` makes them."""
    r = repr(s)
    body = r[1:-1].replace("\\'", "'") if r[0] == "'" else r[1:-1].replace('\\"', '"')
    if body.count('"') > body.count("'"):
        return "'" + body.replace("'", "\\'") + "'"
    return '"' + body.replace('"', '\\"') + '"'


def _chunks(s: str, width: int) -> list[str]:
    """`s` as literals of at most `width` characters each (quotes included), split between
    characters so that an escape is never cut; at least one character per literal."""
    out: list[str] = []
    start = 0
    while start < len(s):
        end = start + 1
        while end < len(s) and len(_str(s[start : end + 1])) <= width:
            end += 1
        # prefer to end a part after a space or punctuation when one is near
        cut = max(s.rfind(" ", start, end), s.rfind(",", start, end), s.rfind("&", start, end))
        if end < len(s) and cut > start + (end - start) // 2:
            end = cut + 1
        out.append(_str(s[start:end]))
        start = end
    return out or [_str("")]


def _inline(value: Any) -> str:
    """`value` (JSON-like) as one line of Python, as ruff format writes it."""
    if isinstance(value, str):
        return _str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_str(str(k))}: {_inline(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    return repr(value)


def _expr(value: Any, indent: int, used: int, tail: int = 0) -> str:
    """`value` as a Python expression starting at column `used` of a line indented by
    `indent` levels, followed by `tail` characters on its last line: on that line when it
    fits, else exploded (one element per line, trailing comma: ruff format keeps that), a
    long string as parenthesized parts."""
    one = _inline(value)
    if used + len(one) + tail <= LINE_LENGTH:
        return one
    pad = _INDENT * (indent + 1)
    end = _INDENT * indent
    if isinstance(value, str):
        parts = _chunks(value, LINE_LENGTH - len(pad))
        return "(\n" + "".join(f"{pad}{p}\n" for p in parts) + f"{end})"
    if isinstance(value, dict) and value:
        lines = []
        for k, v in value.items():
            key = f"{_str(str(k))}: "
            lines.append(f"{pad}{key}{_expr(v, indent + 1, len(pad) + len(key), 1)},")
        return "{\n" + "\n".join(lines) + f"\n{end}}}"
    if isinstance(value, list | tuple) and value:
        lines = [f"{pad}{_expr(v, indent + 1, len(pad), 1)}," for v in value]
        return "[\n" + "\n".join(lines) + f"\n{end}]"
    return one


def _call(prefix: str, args: Sequence[str], indent: int = 0, tail: int = 0) -> str:
    """`prefix(args...)` on one line when it fits, else one argument per line with a
    trailing comma (ruff format keeps that exploded)."""
    pad = _INDENT * indent
    one = f"{pad}{prefix}({', '.join(args)})"
    if len(one) + tail <= LINE_LENGTH:
        return one
    inner = _INDENT * (indent + 1)
    return f"{pad}{prefix}(\n" + "".join(f"{inner}{a},\n" for a in args) + f"{pad})"


def _kwarg(name: str, value: Any, indent: int) -> str:
    used = len(_INDENT * indent) + len(name) + 1
    return f"{name}={_expr(value, indent, used, 1)}"


def _doc_line(text: str) -> str:
    """Text for a line of the raw docstring: characters that are not printable written as
    escapes (the raw string shows them as such), no trailing blanks, no `\"\"\"`."""
    shown = "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)
    return shown.rstrip().replace('"""', '""\\"')


def _field(label: str, value: str) -> list[str]:
    """`label` and `value` as docstring lines, the value cut into lines that fit (aligned
    under its first character)."""
    pad = 14
    text = _doc_line(value)
    width = LINE_LENGTH - pad
    parts = [text[i : i + width] for i in range(0, len(text), width)] or [""]
    return [
        f"{label:<{pad}}{p}".rstrip() if i == 0 else (" " * pad + p).rstrip()
        for i, p in enumerate(parts)
    ]


def _command_lines(command: str, first: int) -> list[str]:
    """The shell command as lines of at most `LINE_LENGTH` characters (the first one after
    `first` characters), continued with a backslash: it pastes back into a shell."""
    try:
        words = shlex.split(command)
    except ValueError:
        return [command]
    lines: list[str] = []
    line = ""
    width = LINE_LENGTH - first
    for w in map(shlex.quote, words):
        if line and len(line) + 1 + len(w) + 2 > width:
            lines.append(line + " \\")
            line, width = "    " + w, LINE_LENGTH
        else:
            line = f"{line} {w}" if line else w
    lines.append(line)
    return lines


def render_test(spec: GenSpec, stem: str, test_dir: Path | None = None) -> str:
    """The test file's text. `test_dir`, the directory it is written to, lets the docstring
    say where the generating command runs from (it holds paths relative to that place)."""
    ex = spec.exchange
    req = ex.request
    status = ex.status
    captured = dt.datetime.fromtimestamp(req.timestamp_start, tz=dt.UTC)
    captured_iso = captured.isoformat(timespec="seconds")
    failed = ex.error is not None or status is None or status >= 500
    # a captured 4xx or wrong 200 is a bug too when the user says what it should have been
    bug = not spec.snapshot
    creds = Credentials(dict(spec.identity_fields or {}), [])
    literal = _request_literal(ex, creds)
    marker_kw: dict[str, Any] = {"exchange": ex.id, "captured_at": captured_iso}
    if creds.kinds:
        marker_kw["needs"] = list(creds.kinds)
    if creds.login:
        marker_kw["login"] = True
    if spec.fixture:
        marker_kw["fixture"] = spec.fixture
    for name in ("app", "base_url", "db_env"):
        value = getattr(spec, name)
        if value:
            marker_kw[name] = hide_passwords(value) if name == "base_url" else value
    what = (
        (
            f"failed in production with {status or 'no response'}"
            + (f" ({ex.error})" if ex.error else "")
        )
        if failed
        else f"answered {status}"
    )
    summary = textwrap.wrap(
        _doc_line(f"Regression test: {req.method} {ex.route or req.path} {what}."),
        LINE_LENGTH - len('r"""'),
        break_on_hyphens=False,
    )
    doc = [
        *summary,
        "",
        *_field("amber id:", ex.id),
        *_field("request id:", ex.request_id or "-"),
        *_field("captured at:", captured_iso),
        *_field("route:", f"{req.method} {ex.route or req.path}"),
    ]
    if creds.kinds or creds.login:
        wrapped = textwrap.wrap(
            _doc_line(needs_sentence(creds.kinds, creds.login)),
            LINE_LENGTH - 14,
            break_on_hyphens=False,
            break_long_words=False,
        )
        doc += [f"{'needs:':<14}{wrapped[0]}", *(" " * 14 + w for w in wrapped[1:])]
    command = _command_lines(spec.command, len("generated by: "))
    doc += [_doc_line(f"generated by: {command[0]}"), *map(_doc_line, command[1:])]
    if test_dir is not None:
        where = os.path.relpath(os.getcwd(), test_dir)
        doc.append(_doc_line(f"run it from:  {where} (relative to this file)"))
    names = ["assert_fixed"] if bug else ["assert_matches_recording"]
    lines = [
        'r"""' + "\n".join(doc) + '\n"""',
        "",
        "from __future__ import annotations",
        "",
        "import pytest",
        _import_line([*names, "request_kwargs"]),
        "",
        _call(
            "pytestmark = pytest.mark.amber",
            [_kwarg(k, v, 1) for k, v in marker_kw.items()],
        ),
        "",
        f"REQUEST = {_expr(literal, 0, len('REQUEST = '))}",
        "",
    ]
    if bug:
        lines += [
            "",
            _call(f"def {stem}", ["amber_client"], tail=1) + ":",
            "    response = amber_client.request(**request_kwargs(REQUEST))",
            _call(
                "assert_fixed",
                [
                    "response",
                    f"captured_status={status!r}",
                    f"exchange_id={_str(ex.id)}",
                    *_expect_args(spec),
                ],
                1,
            ),
        ]
        if spec.expect_json is not None:
            # `is` for the singletons (ruff's E711/E712)
            op = "is" if spec.expect_json is None or isinstance(spec.expect_json, bool) else "=="
            head = f"    assert response.json() {op} "
            lines.append(head + _expr(spec.expect_json, 1, len(head)))
    else:
        snapshot = f"__snapshots__/{stem}.json"
        lines += [
            f"SNAPSHOT = {_expr(snapshot, 0, len('SNAPSHOT = '))}",
            f"NOISE = {_expr(_noise_literal(spec.noise), 0, len('NOISE = '))}",
            "",
            "",
            _call(f"def {stem}", ["amber_client", "request"], tail=1) + ":",
            "    response = amber_client.request(**request_kwargs(REQUEST))",
            _call(
                "assert_matches_recording",
                ["response", "request.path.parent / SNAPSHOT", "noise=NOISE"],
                1,
            ),
        ]
    return "\n".join(lines) + "\n"


def _expect_args(spec: GenSpec) -> list[str]:
    """`assert_fixed`'s keyword arguments: `--expect-status` over the route's
    `testing.expect` entry (docs/testing.md)."""
    expect = dict(spec.expect or {})
    if spec.expect_status is not None:
        expect["status"] = spec.expect_status
    out = []
    for name in EXPECT_KEYS[1:]:
        if expect.get(name) is not None:
            out.append(_kwarg(name, expect[name], 2))
    return out


def _import_line(names: Sequence[str]) -> str:
    """`from amber.testing import ...` as ruff's isort writes it: amber is a third-party
    package in the application's repository, so it follows `import pytest` directly."""
    one = f"from amber.testing import {', '.join(names)}"
    if len(one) <= LINE_LENGTH:
        return one
    return "from amber.testing import (\n" + "".join(f"    {n},\n" for n in names) + ")"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as fp:
        fp.write(text)


def write_test(spec: GenSpec, out_dir: Path) -> GeneratedTest:
    """Write the test file (and its snapshot for good responses) under `out_dir`."""
    stem = stem_of(spec.exchange)
    path = out_dir / f"{stem}.py"
    _write(path, render_test(spec, stem, out_dir))
    snapshot = None
    if spec.snapshot:
        snapshot = out_dir / "__snapshots__" / f"{stem}.json"
        _write(snapshot, dumps_snapshot(snapshot_of(spec.exchange)))
    return GeneratedTest(path, snapshot)


def command_line(argv: Sequence[str], cwd: str | None = None) -> str:
    """The generating command for the docstring, shell-quoted so that it pastes back:
    passwords in URLs hidden, absolute paths made relative to `cwd` (the current directory
    by default; the docstring says where that is from the test file)."""
    here = cwd or os.getcwd()
    return shlex.join(_relative(hide_passwords(a), here) for a in argv)


def _relative(arg: str, cwd: str) -> str:
    """An absolute path (also after `--flag=` or in a `sqlite:///` URL) relative to `cwd`."""
    prefix = ""
    if arg.startswith("-") and "=" in arg:
        prefix, _, arg = arg.partition("=")
        prefix += "="
    if arg.startswith("sqlite:////"):
        return prefix + "sqlite:///" + os.path.relpath(arg[len("sqlite:///") :], cwd)
    if os.path.isabs(arg) and not arg.startswith("//"):
        return prefix + os.path.relpath(arg, cwd)
    return prefix + arg
