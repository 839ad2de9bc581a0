"""`CaptureAddon`: records sanitized exchanges from mitmproxy into an amber store.

Load it into any mitmproxy with `mitmdump -s "$(amber addon-path)" --set amber_store=URL`,
or run `amber capture`, which does the same with sensible defaults.

The hooks run on mitmproxy's event loop, so they only decide (filters, sampling) and copy
references into a `RawFlow`; the writer does the rest. Any exception inside amber is
logged and counted, and the flow passes through untouched.

Shaped like mitmproxy's own addons (`mitmproxy/addons/save.py`): `load` declares the
options, and `configure` parses and checks each option only when it is among those updated.
The writer (a child process by default) is built from a few options, its `WriterSettings`;
it is replaced only when those settings change, so changing a filter or the sample rate at
run time never restarts it. A `WriterFactory` builds it (`open_writer` unless the addon is
given another), which lets tests drive the addon without processes.
"""

from __future__ import annotations

import fnmatch
import hashlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Literal

from mitmproxy import ctx
from mitmproxy import exceptions
from mitmproxy import flowfilter
from mitmproxy import http

from amber._config import Config
from amber._config import find_config
from amber._config import resolve_store_url
from amber._ingest import DEFAULT_BODY_CAP
from amber._ingest import Pipeline
from amber._pseudonym import load_key
from amber._routes import RoutePattern
from amber._store import Store
from amber._urls import hide_password
from amber.capture._options import BY_NAME
from amber.capture._options import NOT_IN_YAML
from amber.capture._options import OPTIONS
from amber.capture._options import parse_count
from amber.capture._options import parse_filter
from amber.capture._options import parse_rate
from amber.capture._options import parse_sample_key
from amber.capture._options import path_patterns
from amber.capture._process import ProcessWriter
from amber.capture._stats import CaptureStats
from amber.capture._status import StatusReporter
from amber.capture._stream import StreamCopy
from amber.capture._stream import should_stream
from amber.capture._writer import CaptureWriter
from amber.capture._writer import RawFlow
from amber.capture._writer import Writer
from amber.errors import AmberError

__all__ = ["CaptureAddon", "WriterFactory", "WriterSettings", "open_writer"]

log = logging.getLogger("amber.capture")

# the options a writer is built from: only a change to one of them can replace it
_WRITER_OPTIONS = frozenset(
    {
        "amber_store",
        "amber_config",
        "amber_max_body_size",
        "amber_queue_size",
        "amber_queue_bytes",
        "amber_writer",
    }
)


@dataclass(frozen=True)
class WriterSettings:
    """What a capture writer is built from. The addon keeps its writer while these stay equal
    (the same values set again, or another option changing), and replaces it otherwise."""

    mode: Literal["process", "thread"]  # option amber_writer
    store_url: str
    config: Config
    key: bytes = field(repr=False)  # the pseudonym key never shows in a log or a traceback
    body_cap: int
    max_items: int
    max_bytes: int


WriterFactory = Callable[[WriterSettings, CaptureStats], CaptureWriter]
"""Builds a writer (not started) that counts into the given stats; raises `AmberError` when
the settings cannot be used."""


def open_writer(settings: WriterSettings, stats: CaptureStats) -> CaptureWriter:
    """The writer `settings` describe, not started yet: a `ProcessWriter`, or a `Writer`
    thread that owns its store when the mode is "thread".

    The sanitizer rules and the store are checked here, before the addon stops the writer
    this one replaces, so a bad value leaves recording as it was.

    *Raises:* `AmberError` (`ConfigError`, `StoreError`) when either cannot be used.
    """
    pipeline = Pipeline.from_config(settings.config, settings.key, body_cap=settings.body_cap)
    store = Store.open(settings.store_url)
    if settings.mode == "thread":
        return Writer(
            store,
            pipeline,
            max_items=settings.max_items,
            max_bytes=settings.max_bytes,
            stats=stats,
            owns_store=True,
        )
    store.close()  # validated here; the writer process opens its own
    return ProcessWriter(
        settings.store_url,
        settings.config.path,
        settings.key,
        settings.body_cap,
        max_items=settings.max_items,
        max_bytes=settings.max_bytes,
        stats=stats,
    )


def _addr(peer: Any) -> str | None:
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return None


class CaptureAddon:
    """Filter, sample and queue every finished HTTP exchange for sanitizing and storage.

    **Parameters:**
    - `writer_factory`: builds the writer from its settings; `open_writer` (a child process,
      or a thread with `amber_writer=thread`) unless a test supplies its own.
    """

    def __init__(self, writer_factory: WriterFactory = open_writer) -> None:
        self.stats = CaptureStats()
        self.status = StatusReporter(self.stats)  # summary lines and the status file
        self.writer: CaptureWriter | None = None
        self._writer_factory = writer_factory
        self._settings: WriterSettings | None = None  # what the running writer was built from
        self._config: Config | None = None  # amber.yaml, read again when amber_config changes
        self.filter: flowfilter.TFilter | None = None
        self.include_paths: tuple[str | RoutePattern, ...] = ()
        self.exclude_paths: tuple[str | RoutePattern, ...] = ()
        self.include_hosts: tuple[str, ...] = ()
        self.exclude_hosts: tuple[str, ...] = ()
        self.methods: frozenset[str] = frozenset()
        self.content_types: tuple[str, ...] = ()
        self.rate = 1.0
        self.sample_key: tuple[str, str] | None = None
        self.always_header = b"x-amber-capture"
        self.body_cap = DEFAULT_BODY_CAP  # the running writer's, for the copies of streams
        self.failed: str | None = None
        self._running = False  # set by `running`: from then on configure (re)builds the writer

    # -- options --------------------------------------------------------------------------

    def load(self, loader: Any) -> None:
        for option in OPTIONS:
            loader.add_option(option.name, option.typespec, option.unset, option.help)

    def running(self) -> None:
        """Start recording, now that the proxy listens: resolve every option (added to a
        master directly, as by `amber capture`, the addon was configured only with those given
        on the command line), then open the store and start the writer. If that fails, stop
        the proxy saying why.

        No store is opened before this point: mitmproxy configures the addon while it starts,
        and when an option is rejected it rolls the options back and configures again with
        the old values (the defaults at start-up); opening a store then would create one the
        user never named.
        """
        if self._running:
            return
        self._running = True
        try:
            self.configure(set(BY_NAME))
        except exceptions.OptionsError as e:
            self.failed = str(e)
            log.error("amber: cannot record: %s", e)
            ctx.master.shutdown()
            return
        self.status.start()  # summary lines (period, SIGUSR1) and the status file

    def configure(self, updated: set[str]) -> None:
        """Apply the options in `updated`, each parsed and checked only when it is there; a
        new amber.yaml (amber_config changed, or the first call) applies to every option.

        The writer is (re)built only once the proxy is running (see `running`); until then
        its settings are only checked.

        *Raises:* `OptionsError` saying which option or amber.yaml key is wrong and what it
        expects; mitmproxy then puts the previous values back and configures again with them.
        """
        config = self._config
        if "amber_config" in updated or config is None:
            config = self._config = self._read_config()
            updated = updated | set(BY_NAME)  # amber.yaml may give any option its value
        self._configure_selection(updated)
        self._configure_sampling(updated)
        if updated & _STATUS_OPTIONS:
            self.status.configure(
                str(self._value("amber_status_file")[0]),
                parse_count(
                    *self._value("amber_status_interval"),
                    low=0,
                    what="seconds between summary lines",
                ),
            )
        if updated & _WRITER_OPTIONS:
            settings = self._writer_settings(config)
            if self._running:
                self._configure_writer(settings)

    def _read_config(self) -> Config:
        try:
            return find_config(ctx.options.amber_config or None)
        except AmberError as e:
            raise exceptions.OptionsError(str(e)) from e

    def _value(self, name: str) -> tuple[Any, str]:
        """The value of option `name` in effect, and where it comes from (for messages): the
        option when given, else amber.yaml's `capture:` key, else the built-in default."""
        option = BY_NAME[name]
        value = getattr(ctx.options, name)
        if value != option.unset:
            return value, name
        config = self._config
        if config is not None and name not in NOT_IN_YAML and option.key in config.capture:
            key = f"capture.{option.key}"
            return config.capture[option.key], f"{config.path}:{config.line_of(key)}: {key}"
        return option.default, name

    def _configure_selection(self, updated: set[str]) -> None:
        if "amber_filter" in updated:
            self.filter = parse_filter(*self._value("amber_filter"))
        if "amber_include_paths" in updated:
            self.include_paths = path_patterns(*self._value("amber_include_paths"))
        if "amber_exclude_paths" in updated:
            self.exclude_paths = path_patterns(*self._value("amber_exclude_paths"))
        if "amber_include_hosts" in updated:
            self.include_hosts = tuple(h.lower() for h in self._value("amber_include_hosts")[0])
        if "amber_exclude_hosts" in updated:
            self.exclude_hosts = tuple(h.lower() for h in self._value("amber_exclude_hosts")[0])
        if "amber_methods" in updated:
            self.methods = frozenset(m.upper() for m in self._value("amber_methods")[0])
        if "amber_content_types" in updated:
            self.content_types = tuple(c.lower() for c in self._value("amber_content_types")[0])

    def _configure_sampling(self, updated: set[str]) -> None:
        if "amber_sample_rate" in updated:
            self.rate = parse_rate(*self._value("amber_sample_rate"))
        if "amber_sample_key" in updated:
            self.sample_key = parse_sample_key(*self._value("amber_sample_key"))
        if "amber_always_header" in updated:
            self.always_header = str(self._value("amber_always_header")[0]).lower().encode()

    def _configure_writer(self, settings: WriterSettings) -> None:
        """Replace the writer when the settings it is built from changed: the new one is built
        (and its store checked) first, then the old one stops, then the new one starts."""
        if self.writer is not None and settings == self._settings:
            return
        try:
            writer = self._writer_factory(settings, self.stats)
        except AmberError as e:
            raise exceptions.OptionsError(str(e)) from e
        self._stop_writer()
        try:
            writer.start()
        except RuntimeError as e:
            raise exceptions.OptionsError(str(e)) from e
        self.writer, self._settings = writer, settings
        self.body_cap = settings.body_cap
        log.info("amber: recording to %s", hide_password(settings.store_url))

    def _writer_settings(self, config: Config) -> WriterSettings:
        """The writer's settings from the options and `config`, checked; nothing is opened."""
        body_cap = parse_count(
            *self._value("amber_max_body_size"), low=0, what="decoded bytes kept of each body"
        )
        max_items = parse_count(
            *self._value("amber_queue_size"),
            low=1,
            what="exchanges held while the writer catches up",
        )
        max_bytes = parse_count(
            *self._value("amber_queue_bytes"),
            low=1,
            what="bytes of bodies held while the writer catches up",
        )
        mode, where = self._value("amber_writer")
        if mode not in ("process", "thread"):
            raise exceptions.OptionsError(f"{where}: expected 'process' or 'thread', got {mode!r}")
        try:
            key = load_key()
        except AmberError as e:
            raise exceptions.OptionsError(str(e)) from e
        return WriterSettings(
            mode=mode,
            store_url=resolve_store_url(ctx.options.amber_store or None, config),
            config=config,
            key=key,
            body_cap=body_cap,
            max_items=max_items,
            max_bytes=max_bytes,
        )

    def _stop_writer(self) -> None:
        if self.writer is not None:
            self.writer.stop()
            self.writer = None
            self._settings = None

    # -- decisions ------------------------------------------------------------------------

    def _path_matches(
        self, method: str, path: str, patterns: tuple[str | RoutePattern, ...]
    ) -> bool:
        for p in patterns:
            if isinstance(p, RoutePattern):
                if p.match(method, path) is not None:
                    return True
            elif fnmatch.fnmatchcase(path, p):
                return True
        return False

    def _wanted(self, flow: http.HTTPFlow) -> bool:
        req = flow.request
        if self.methods and req.method.upper() not in self.methods:
            return False
        if self.include_hosts or self.exclude_hosts:
            host = req.pretty_host.lower()
            if self.include_hosts and not any(
                fnmatch.fnmatchcase(host, h) for h in self.include_hosts
            ):
                return False
            if self.exclude_hosts and any(fnmatch.fnmatchcase(host, h) for h in self.exclude_hosts):
                return False
        if self.include_paths or self.exclude_paths:
            path = req.path.split("?", 1)[0]
            method = req.method
            if self.include_paths and not self._path_matches(method, path, self.include_paths):
                return False
            if self.exclude_paths and self._path_matches(method, path, self.exclude_paths):
                return False
        if self.content_types and flow.response is not None:
            ctype = flow.response.headers.get("content-type", "").lower()
            if not ctype.startswith(self.content_types):
                return False
        return self.filter is None or bool(self.filter(flow))

    def _must_keep(self, flow: http.HTTPFlow) -> bool:
        if flow.error is not None or flow.response is None:
            return True
        if flow.response.status_code >= 500:
            return True
        return any(k.lower() == self.always_header for k, _ in flow.request.headers.fields)

    def _sampled_in(self, flow: http.HTTPFlow) -> bool:
        if self.rate >= 1.0:
            return True
        if self.rate <= 0.0:
            return False
        if self.sample_key is not None:
            kind, name = self.sample_key
            if kind == "header":
                value = flow.request.headers.get(name)
            else:
                value = flow.request.cookies.get(name)
            if value:
                digest = hashlib.blake2b(
                    value.encode("utf-8", "surrogateescape"), digest_size=8
                ).digest()
                return int.from_bytes(digest, "big") / 2**64 < self.rate
        return random.random() < self.rate

    # -- hooks ----------------------------------------------------------------------------

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        """Stream event streams, NDJSON streams and bodies over the cap to the client as they
        arrive (mitmproxy would first buffer them whole), through a `StreamCopy` that keeps
        the part amber records. A stream another addon set up is left alone (recorded
        without its body, flagged truncated); mitmproxy's own plain streaming
        (`stream_large_bodies`) gets the copy, which passes the same bytes."""
        try:
            resp = flow.response
            if resp is None or (resp.stream and resp.stream is not True):
                return
            limit = self.body_cap or DEFAULT_BODY_CAP
            if resp.stream is True or should_stream(resp.headers, limit):
                resp.stream = StreamCopy(limit)
        except Exception as e:  # never let amber break a proxied exchange
            # not a drop: the response is buffered as without amber and recorded as usual
            log.error(
                "amber: the response headers hook failed (%s); the response is not streamed",
                type(e).__name__,
            )

    def response(self, flow: http.HTTPFlow) -> None:
        self._record(flow, complete=True)

    def error(self, flow: http.HTTPFlow) -> None:
        self._record(flow, complete=False)

    def _record(self, flow: http.HTTPFlow, *, complete: bool) -> None:
        try:
            if flow.websocket is not None or flow.is_replay:
                return
            if flow.response is not None and flow.response.status_code == 101:
                return
            # every exchange seen is counted once, where it ends (see CaptureStats)
            if not self._wanted(flow):
                self.stats.count("filtered")
                return
            if not self._must_keep(flow) and not self._sampled_in(flow):
                self.stats.count("sampled_out")
                return
            writer = self.writer
            if writer is None:
                self.stats.count("no_writer")
                return
            writer.submit(_raw(flow, complete=complete))  # counts it: in flight or dropped
        except Exception as e:  # never let amber break a proxied exchange
            self.stats.count("hook_failed")
            self.stats.note("hook_errors")
            log.error(
                "amber: capture hook failed (%s); the flow passed through untouched",
                type(e).__name__,
            )

    def done(self) -> None:
        self._stop_writer()  # writes everything buffered, so the summary is complete
        if self.failed is None:  # a start that failed said why; it recorded nothing
            log.warning("amber: %s", self.stats.summary())
        self.status.stop()  # the status file gets the final counts


_STATUS_OPTIONS = frozenset({"amber_status_file", "amber_status_interval"})


def _raw(flow: http.HTTPFlow, *, complete: bool = True) -> RawFlow:
    # raw attributes, not mitmproxy's decoding properties: this runs on the proxy's loop for
    # every flow, and the writer process decodes
    req = flow.request
    resp = flow.response
    data = req.data
    resp_body = resp.data.content if resp is not None else None
    cut = False
    if resp is not None and isinstance(resp.stream, StreamCopy):
        resp_body, cut = resp.stream.body(complete=complete)
    return RawFlow(
        started=data.timestamp_start,
        req_end=data.timestamp_end,
        client=_addr(flow.client_conn.peername),
        method=data.method,
        scheme=data.scheme,
        host=data.host,
        port=data.port,
        path=data.path,
        http_version=data.http_version,
        req_headers=data.headers.fields,
        req_body=data.content,
        authority=data.authority,
        status=resp.data.status_code if resp is not None else None,
        reason=resp.data.reason if resp is not None else b"",
        resp_version=resp.data.http_version if resp is not None else b"",
        resp_headers=resp.headers.fields if resp is not None else (),
        resp_body=resp_body,
        resp_start=resp.data.timestamp_start if resp is not None else None,
        resp_end=resp.data.timestamp_end if resp is not None else None,
        error=flow.error.msg if flow.error is not None else None,
        tags=(),
        resp_cut=cut,
    )
