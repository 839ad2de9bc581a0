"""The capture addon's options: one `Option` per option, and the parsers that check a value
wherever it comes from (`--set`, an `amber capture` flag, amber.yaml's `capture:` section).

Every option is a string or a list of strings for mitmproxy: its `--set` cannot parse a float
option, and parsing numbers here names the option (or amber.yaml's file, line and key) in the
message of a bad value. A parser raises `OptionsError`, which mitmproxy answers by putting the
previous values back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mitmproxy import exceptions
from mitmproxy import flowfilter

from amber._ingest import DEFAULT_BODY_CAP
from amber._routes import RoutePattern
from amber.errors import AmberError

__all__ = [
    "BY_NAME",
    "NOT_IN_YAML",
    "OPTIONS",
    "Option",
    "parse_count",
    "parse_filter",
    "parse_rate",
    "parse_sample_key",
    "path_patterns",
]


@dataclass(frozen=True)
class Option:
    """One option of the capture addon. Its mitmproxy default is `unset` (empty: not given),
    so the addon can tell a value given on the command line, with `--set` or in mitmproxy's
    config.yaml, from one it should take from amber.yaml's `capture:` section (key `name`
    without `amber_`), and use `default` when neither gives one: option > amber.yaml >
    default, for every option."""

    name: str
    typespec: Any  # str or Sequence[str]; numbers are strings parsed here (see parse_count)
    default: Any
    help: str

    @property
    def key(self) -> str:
        return self.name.removeprefix("amber_")

    @property
    def unset(self) -> str | list[str]:
        return "" if self.typespec is str else []


_YAML = "Empty: amber.yaml's capture.{key}, else {default}."
OPTIONS: tuple[Option, ...] = (
    Option(
        "amber_filter",
        str,
        "",
        "Only consider flows matching this mitmproxy filter expression, e.g. "
        "'~d api.example.com & !~u /health'. Empty: amber.yaml's capture.filter, else all.",
    ),
    Option(
        "amber_include_paths",
        Sequence[str],
        (),
        "Record only paths matching one of these globs or route templates. "
        "Empty: amber.yaml's capture.include_paths, else all.",
    ),
    Option(
        "amber_exclude_paths",
        Sequence[str],
        (),
        "Never record paths matching these globs or route templates (e.g. /health). "
        "Empty: amber.yaml's capture.exclude_paths, else none.",
    ),
    Option(
        "amber_include_hosts",
        Sequence[str],
        (),
        "Record only these hosts (globs). Empty: amber.yaml's capture.include_hosts, else all.",
    ),
    Option(
        "amber_exclude_hosts",
        Sequence[str],
        (),
        "Never record these hosts (globs). Empty: amber.yaml's capture.exclude_hosts, else none.",
    ),
    Option(
        "amber_methods",
        Sequence[str],
        (),
        "Record only these HTTP methods. Empty: amber.yaml's capture.methods, else all.",
    ),
    Option(
        "amber_content_types",
        Sequence[str],
        (),
        "Record only responses whose content type starts with one of these. "
        "Empty: amber.yaml's capture.content_types, else all.",
    ),
    Option(
        "amber_sample_rate",
        str,
        1.0,
        "Fraction of ordinary exchanges to keep, 0 to 1 (e.g. 0.3). Server errors, upstream "
        "errors and requests carrying the always-capture header are always kept. "
        + _YAML.format(key="sample_rate", default="1"),
    ),
    Option(
        "amber_sample_key",
        str,
        "",
        "Sample consistently per user or session: 'header:X-User-Id' or 'cookie:session'. "
        "Empty: amber.yaml's capture.sample_key, else per exchange.",
    ),
    Option(
        "amber_always_header",
        str,
        "X-Amber-Capture",
        "Requests carrying this header are always recorded, whatever the sampling. "
        + _YAML.format(key="always_header", default="X-Amber-Capture"),
    ),
    Option(
        "amber_store",
        str,
        "",
        "Store URL (sqlite:///PATH or postgresql://USER@HOST/DB). Empty: $AMBER_STORE, "
        "else amber.yaml's store, else sqlite:///.amber/store.db.",
    ),
    Option(
        "amber_config",
        str,
        "",
        "Path of amber.yaml (sanitizer rules, routes, capture settings). "
        "Empty: $AMBER_CONFIG, else ./amber.yaml.",
    ),
    Option(
        "amber_max_body_size",
        str,
        DEFAULT_BODY_CAP,
        "Bodies above this many decoded bytes are truncated to it and flagged. "
        + _YAML.format(key="max_body_size", default="1 MiB"),
    ),
    Option(
        "amber_queue_size",
        str,
        10_000,
        "Exchanges held in memory while the writer catches up; more are dropped and counted. "
        + _YAML.format(key="queue_size", default="10000"),
    ),
    Option(
        "amber_queue_bytes",
        str,
        256 * 1024 * 1024,
        "Bytes of bodies held in memory while the writer catches up. "
        + _YAML.format(key="queue_bytes", default="256 MiB"),
    ),
    Option(
        "amber_writer",
        str,
        "process",
        "Where sanitizing and storing run: 'process' (a child process, so the proxy's "
        "event loop never waits for it) or 'thread' (in mitmproxy's process). "
        + _YAML.format(key="writer", default="process"),
    ),
    Option(
        "amber_status_file",
        str,
        "",
        "Rewrite this file with capture's counters every few seconds and at exit, in "
        "Prometheus' text format (for node_exporter's textfile collector: name it *.prom). "
        "Empty: amber.yaml's capture.status_file, else none.",
    ),
    Option(
        "amber_status_interval",
        str,
        60,
        "Log a summary line every this many seconds (0: only at exit and on SIGUSR1). "
        + _YAML.format(key="status_interval", default="60"),
    ),
)
BY_NAME = {option.name: option for option in OPTIONS}
# amber_store and amber_config have their own fallbacks ($AMBER_STORE, amber.yaml's store...)
NOT_IN_YAML = frozenset({"amber_store", "amber_config"})


def parse_filter(spec: str, where: str) -> flowfilter.TFilter | None:
    try:
        return flowfilter.parse(spec) if spec else None
    except ValueError as e:
        raise exceptions.OptionsError(
            f"{where}: {e}; write a mitmproxy filter expression, e.g. "
            "'~d api.example.com & !~u /health'"
        ) from e


def path_patterns(specs: Sequence[str], where: str) -> tuple[str | RoutePattern, ...]:
    """Globs stay globs; specs with `{name}` are route templates (any parameter names)."""
    out: list[str | RoutePattern] = []
    for spec in specs:
        if "{" in spec:
            try:
                out.append(RoutePattern.parse(spec))
            except AmberError as e:
                raise exceptions.OptionsError(f"{where}: {e}") from e
        else:
            out.append(spec)
    return tuple(out)


def parse_rate(value: str | float, where: str) -> float:
    """A sampling rate: a number from amber.yaml, or the option's text (mitmproxy's `--set`
    cannot parse a float option, so the option is a string)."""
    try:
        rate = float(value)
    except ValueError:
        rate = -1.0
    if not 0.0 <= rate <= 1.0:  # also rejects nan
        raise exceptions.OptionsError(
            f"{where}: expected a number between 0 and 1 (the fraction of ordinary exchanges "
            f"kept, e.g. 0.3), got {value!r}"
        )
    return rate


def parse_sample_key(spec: str, where: str) -> tuple[str, str] | None:
    spec = spec.strip()
    if not spec:
        return None
    kind, _, name = spec.partition(":")
    if kind not in ("header", "cookie") or not name:
        raise exceptions.OptionsError(
            f"{where}: expected 'header:NAME' or 'cookie:NAME' (or nothing), got {spec!r}"
        )
    return kind, name.lower() if kind == "header" else name


def parse_count(value: str | int, where: str, *, low: int, what: str) -> int:
    """A whole number of at least `low`: an integer from amber.yaml, or the option's text
    (a string option, so that a bad value is reported with the option's name)."""
    try:
        count = int(value)
    except ValueError:
        count = low - 1
    if count < low:
        raise exceptions.OptionsError(
            f"{where}: expected a whole number, {low} or more ({what}), got {value!r}"
        )
    return count
