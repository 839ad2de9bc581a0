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
from collections.abc import Sequence
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
from amber.capture._process import ProcessWriter
from amber.capture._stats import CaptureStats
from amber.capture._writer import CaptureWriter
from amber.capture._writer import RawFlow
from amber.capture._writer import Writer
from amber.errors import AmberError

__all__ = ["CaptureAddon", "WriterFactory", "WriterSettings", "open_writer"]

log = logging.getLogger("amber.capture")

# the options a writer is built from: only a change to one of them can replace it
_WRITER_OPTIONS = frozenset({
    "amber_store", "amber_config", "amber_max_body_size", "amber_queue_size",
    "amber_queue_bytes", "amber_writer",
})


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
        return Writer(store, pipeline, max_items=settings.max_items,
                      max_bytes=settings.max_bytes, stats=stats, owns_store=True)
    store.close()  # validated here; the writer process opens its own
    return ProcessWriter(
        settings.store_url, settings.config.path, settings.key, settings.body_cap,
        max_items=settings.max_items, max_bytes=settings.max_bytes, stats=stats,
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
        self.failed: str | None = None

    # -- options --------------------------------------------------------------------------

    def load(self, loader: Any) -> None:
        _add_selection_options(loader)
        _add_writer_options(loader)

    def running(self) -> None:
        # Loaded as a script, the addon is configured with every option; added to a master
        # directly (`amber capture`), only with those given on the command line. Either way
        # the writer must run: apply the rest now, or stop the proxy saying why.
        if self.writer is not None:
            return
        try:
            names = ctx.options.keys()  # an OptManager, not a dict
            self.configure({k for k in names if k.startswith("amber_")})
        except exceptions.OptionsError as e:
            self.failed = str(e)
            log.error("amber: cannot record: %s", e)
            ctx.master.shutdown()

    def configure(self, updated: set[str]) -> None:
        """Apply the options in `updated`, each parsed and checked only when it is there.

        *Raises:* `OptionsError` saying which option is wrong and what it expects; mitmproxy
        then puts the previous values back and configures again with them.
        """
        self._configure_selection(updated)
        self._configure_sampling(updated)
        if updated & _WRITER_OPTIONS:
            self._configure_writer(updated)

    def _configure_selection(self, updated: set[str]) -> None:
        opts = ctx.options
        if "amber_filter" in updated:
            try:
                self.filter = flowfilter.parse(opts.amber_filter) if opts.amber_filter else None
            except ValueError as e:
                raise exceptions.OptionsError(
                    f"amber_filter: {e}; write a mitmproxy filter expression, e.g. "
                    "'~d api.example.com & !~u /health'"
                ) from e
        if "amber_include_paths" in updated:
            self.include_paths = _path_patterns("amber_include_paths", opts.amber_include_paths)
        if "amber_exclude_paths" in updated:
            self.exclude_paths = _path_patterns("amber_exclude_paths", opts.amber_exclude_paths)
        if "amber_include_hosts" in updated:
            self.include_hosts = tuple(h.lower() for h in opts.amber_include_hosts)
        if "amber_exclude_hosts" in updated:
            self.exclude_hosts = tuple(h.lower() for h in opts.amber_exclude_hosts)
        if "amber_methods" in updated:
            self.methods = frozenset(m.upper() for m in opts.amber_methods)
        if "amber_content_types" in updated:
            self.content_types = tuple(c.lower() for c in opts.amber_content_types)

    def _configure_sampling(self, updated: set[str]) -> None:
        opts = ctx.options
        if "amber_sample_rate" in updated:
            if not 0.0 <= opts.amber_sample_rate <= 1.0:
                raise exceptions.OptionsError(
                    "amber_sample_rate must be between 0 and 1 (the fraction of ordinary "
                    f"exchanges kept), got {opts.amber_sample_rate}"
                )
            self.rate = opts.amber_sample_rate
        if "amber_sample_key" in updated:
            spec = opts.amber_sample_key.strip()
            if spec:
                kind, _, name = spec.partition(":")
                if kind not in ("header", "cookie") or not name:
                    raise exceptions.OptionsError(
                        "amber_sample_key must be 'header:NAME' or 'cookie:NAME' (or empty), "
                        f"got {spec!r}"
                    )
                self.sample_key = (kind, name.lower() if kind == "header" else name)
            else:
                self.sample_key = None
        if "amber_always_header" in updated:
            self.always_header = opts.amber_always_header.lower().encode()

    def _configure_writer(self, updated: set[str]) -> None:
        """Replace the writer when the settings it is built from changed: the new one is built
        (and its store checked) first, then the old one stops, then the new one starts."""
        settings = self._writer_settings(updated)
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
        log.info("amber: recording to %s", hide_password(settings.store_url))

    def _writer_settings(self, updated: set[str]) -> WriterSettings:
        """The writer's settings from the options; those in `updated` are checked first."""
        opts = ctx.options
        if "amber_max_body_size" in updated and opts.amber_max_body_size < 0:
            raise exceptions.OptionsError(
                "amber_max_body_size must be 0 or more (decoded bytes kept of each body), "
                f"got {opts.amber_max_body_size}"
            )
        if "amber_queue_size" in updated and opts.amber_queue_size < 1:
            raise exceptions.OptionsError(
                "amber_queue_size must be 1 or more (exchanges held while the writer catches "
                f"up), got {opts.amber_queue_size}"
            )
        try:
            if "amber_config" in updated or self._config is None:
                self._config = find_config(opts.amber_config or None)
            key = load_key()
        except AmberError as e:
            raise exceptions.OptionsError(str(e)) from e
        return WriterSettings(
            mode=opts.amber_writer,
            store_url=resolve_store_url(opts.amber_store or None, self._config),
            config=self._config,
            key=key,
            body_cap=opts.amber_max_body_size,
            max_items=opts.amber_queue_size,
            max_bytes=opts.amber_queue_bytes,
        )

    def _stop_writer(self) -> None:
        if self.writer is not None:
            self.writer.stop()
            self.writer = None
            self._settings = None

    # -- decisions ------------------------------------------------------------------------

    def _path_matches(self, method: str, path: str,
                      patterns: tuple[str | RoutePattern, ...]) -> bool:
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
            if self.include_hosts and not any(fnmatch.fnmatchcase(host, h)
                                              for h in self.include_hosts):
                return False
            if self.exclude_hosts and any(fnmatch.fnmatchcase(host, h)
                                          for h in self.exclude_hosts):
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
                digest = hashlib.blake2b(value.encode("utf-8", "surrogateescape"),
                                         digest_size=8).digest()
                return int.from_bytes(digest, "big") / 2**64 < self.rate
        return random.random() < self.rate

    # -- hooks ----------------------------------------------------------------------------

    def response(self, flow: http.HTTPFlow) -> None:
        self._record(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        self._record(flow)

    def _record(self, flow: http.HTTPFlow) -> None:
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
            writer.submit(_raw(flow))  # counts it: in flight or dropped
        except Exception as e:  # never let amber break a proxied exchange
            self.stats.count("hook_failed")
            self.stats.note("hook_errors")
            log.error("amber: capture hook failed (%s); the flow passed through untouched",
                      type(e).__name__)

    def done(self) -> None:
        self._stop_writer()  # writes everything buffered, so the summary is complete
        log.warning("amber: %s", self.stats.summary())


def _add_selection_options(loader: Any) -> None:
    """The options that decide which flows are recorded (filters and sampling)."""
    loader.add_option(
        "amber_filter", str, "",
        "Only consider flows matching this mitmproxy filter expression, e.g. "
        "'~d api.example.com & !~u /health'.",
    )
    loader.add_option(
        "amber_include_paths", Sequence[str], [],
        "Record only paths matching one of these globs or route templates.",
    )
    loader.add_option(
        "amber_exclude_paths", Sequence[str], [],
        "Never record paths matching these globs or route templates (e.g. /health).",
    )
    loader.add_option(
        "amber_include_hosts", Sequence[str], [], "Record only these hosts (globs)."
    )
    loader.add_option(
        "amber_exclude_hosts", Sequence[str], [], "Never record these hosts (globs)."
    )
    loader.add_option(
        "amber_methods", Sequence[str], [], "Record only these HTTP methods (empty: all)."
    )
    loader.add_option(
        "amber_content_types", Sequence[str], [],
        "Record only responses whose content type starts with one of these (empty: all).",
    )
    loader.add_option(
        "amber_sample_rate", float, 1.0,
        "Fraction of ordinary exchanges to keep (0..1). Server errors, upstream errors "
        "and requests carrying the always-capture header are always kept.",
    )
    loader.add_option(
        "amber_sample_key", str, "",
        "Sample consistently per user or session: 'header:X-User-Id' or 'cookie:session'.",
    )
    loader.add_option(
        "amber_always_header", str, "X-Amber-Capture",
        "Requests carrying this header are always recorded, whatever the sampling.",
    )


def _add_writer_options(loader: Any) -> None:
    """The options the writer is built from (`_WRITER_OPTIONS`)."""
    loader.add_option(
        "amber_store", str, "",
        "Store URL (sqlite:///PATH or postgresql://USER@HOST/DB). Empty: $AMBER_STORE, "
        "else amber.yaml, else sqlite:///.amber/store.db.",
    )
    loader.add_option(
        "amber_config", str, "",
        "Path of amber.yaml (sanitizer rules, routes). Empty: $AMBER_CONFIG or ./amber.yaml.",
    )
    loader.add_option(
        "amber_max_body_size", int, DEFAULT_BODY_CAP,
        "Bodies above this many decoded bytes are truncated to it and flagged.",
    )
    loader.add_option(
        "amber_queue_size", int, 10_000,
        "Exchanges held in memory while the writer catches up; more are dropped and counted.",
    )
    loader.add_option(
        "amber_queue_bytes", int, 256 * 1024 * 1024,
        "Bytes of bodies held in memory while the writer catches up.",
    )
    loader.add_option(
        "amber_writer", str, "process",
        "Where sanitizing and storing run: 'process' (a child process, so the proxy's "
        "event loop never waits for it) or 'thread' (in mitmproxy's process).",
        choices=["process", "thread"],
    )


def _path_patterns(option: str, specs: Sequence[str]) -> tuple[str | RoutePattern, ...]:
    """Globs stay globs; specs with `{name}` are route templates (any parameter names)."""
    out: list[str | RoutePattern] = []
    for spec in specs:
        if "{" in spec:
            try:
                out.append(RoutePattern.parse(spec))
            except AmberError as e:
                raise exceptions.OptionsError(f"{option}: {e}") from e
        else:
            out.append(spec)
    return tuple(out)


def _raw(flow: http.HTTPFlow) -> RawFlow:
    # raw attributes, not mitmproxy's decoding properties: this runs on the proxy's loop for
    # every flow, and the writer process decodes
    req = flow.request
    resp = flow.response
    data = req.data
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
        resp_body=resp.data.content if resp is not None else None,
        resp_start=resp.data.timestamp_start if resp is not None else None,
        resp_end=resp.data.timestamp_end if resp is not None else None,
        error=flow.error.msg if flow.error is not None else None,
        tags=(),
    )
