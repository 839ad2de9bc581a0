"""`CaptureAddon` without a proxy and without processes: mitmproxy's test context, hooks
called directly, and either a fake writer or the in-thread `Writer` on a SQLite store under
tmp_path (`amber_writer=thread`). The writer process, the production default, is tested
through the addon in `test_process.py`."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from mitmproxy import exceptions
from mitmproxy import http
from mitmproxy.test import taddons
from mitmproxy.test import tflow
from mitmproxy.test import tutils

from amber._config import CAPTURE_KEYS
from amber._store import Store
from amber.capture import addon as addon_mod
from amber.capture._stats import CaptureStats
from amber.capture._stream import StreamCopy
from amber.capture._writer import RawFlow
from amber.capture._writer import Writer
from amber.capture.addon import CaptureAddon
from amber.capture.addon import WriterSettings

KEY = "addon-unit-test-key-0123456789abcdef"


class FakeWriter:
    """Stands in for the writer (a `CaptureWriter`): records what the hooks submit."""

    def __init__(self, settings: WriterSettings, stats: CaptureStats) -> None:
        self.settings = settings
        self.stats = stats
        self.raws: list[RawFlow] = []
        self.started = False
        self.stopped = False

    def start(self) -> None:
        self.started = True

    def submit(self, raw: RawFlow) -> bool:
        self.raws.append(raw)
        return True

    def flush(self, timeout: float = 10.0) -> bool:
        return True

    def stop(self, timeout: float = 30.0) -> None:
        self.stopped = True


class FakeFactory:
    """A `WriterFactory` that builds `FakeWriter`s and keeps every one, in order."""

    def __init__(self) -> None:
        self.made: list[FakeWriter] = []

    def __call__(self, settings: WriterSettings, stats: CaptureStats) -> FakeWriter:
        self.made.append(FakeWriter(settings, stats))
        return self.made[-1]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for var in ("AMBER_STORE", "AMBER_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AMBER_KEY", KEY)
    return tmp_path


@contextlib.contextmanager
def addon_context(addon: CaptureAddon) -> Iterator[taddons.context]:
    """`taddons.context`, with the writer stopped and the context's event loop closed after."""
    tctx = taddons.context(addon)
    try:
        with tctx:
            try:
                yield tctx
            finally:
                addon.done()  # inside the context: mitmproxy 12 logs through its loop
    finally:
        if not tctx.master.event_loop.is_closed():
            tctx.master.event_loop.close()


@pytest.fixture
def ctx(env: Path) -> Iterator[tuple[CaptureAddon, taddons.context]]:
    """The addon loaded into a test context and running (as once the proxy listens),
    recording through an in-thread `Writer` into a SQLite store under tmp_path."""
    addon = CaptureAddon()
    with addon_context(addon) as tctx:
        tctx.configure(addon, amber_writer="thread", amber_store=f"sqlite:///{env / 'store.db'}")
        addon.running()
        yield addon, tctx


@pytest.fixture
def factory() -> FakeFactory:
    return FakeFactory()


@pytest.fixture
def fake(
    env: Path, factory: FakeFactory
) -> Iterator[tuple[CaptureAddon, taddons.context, FakeWriter]]:
    """The addon in a test context with a recording fake for its writer (nothing opened)."""
    addon = CaptureAddon(writer_factory=factory)
    with addon_context(addon) as tctx:
        tctx.configure(addon, amber_store=f"sqlite:///{env / 'store.db'}")
        addon.running()
        [writer] = factory.made
        yield addon, tctx, writer


def flow(
    path: str = "/users/42/orders",
    *,
    method: str = "GET",
    host: str = "api.example.com",
    status: int | None = 200,
    headers: tuple[tuple[bytes, bytes], ...] = (),
    resp_headers: tuple[tuple[bytes, bytes], ...] = ((b"content-type", b"application/json"),),
    error: bool = False,
) -> http.HTTPFlow:
    req = tutils.treq(
        method=method.encode(),
        host=host,
        path=path.encode(),
        headers=http.Headers(headers),
        content=b"",
    )
    resp: Any = False
    if status is not None:
        resp = tutils.tresp(
            status_code=status, headers=http.Headers(resp_headers), content=b'{"ok": true}'
        )
    return tflow.tflow(req=req, resp=resp, err=error)


def paths(writer: FakeWriter) -> list[str]:
    return [r.path.decode() for r in writer.raws]


# -- recording through the real writer -----------------------------------------------------


def test_response_and_error_are_stored(
    ctx: tuple[CaptureAddon, taddons.context], env: Path
) -> None:
    addon, _ = ctx
    assert isinstance(addon.writer, Writer)
    addon.response(flow("/a"))
    addon.error(flow("/b", status=None, error=True))
    assert addon.writer is not None
    assert addon.writer.flush()
    addon.done()
    with Store.open(f"sqlite:///{env / 'store.db'}", create=False) as store:
        exchanges = {ex.request.path: ex for ex in store.iter_exchanges()}
    assert set(exchanges) == {"/a", "/b"}
    assert exchanges["/b"].response is None and exchanges["/b"].error
    assert addon.stats.stored == 2 and addon.stats.seen == 2


def test_websocket_flows_are_not_recorded(
    fake: tuple[CaptureAddon, taddons.context, FakeWriter],
) -> None:
    addon, _, writer = fake
    addon.response(tflow.twebsocketflow())
    upgrade = flow("/ws", status=101)
    addon.response(upgrade)
    addon.error(tflow.twebsocketflow(err=True))
    assert writer.raws == []
    assert addon.stats.hook_errors == 0


def test_replayed_flows_are_not_recorded(
    fake: tuple[CaptureAddon, taddons.context, FakeWriter],
) -> None:
    addon, _, writer = fake
    f = flow()
    f.is_replay = "request"
    addon.response(f)
    assert writer.raws == []


# -- filters -------------------------------------------------------------------------------


def test_host_filters(fake: tuple[CaptureAddon, taddons.context, FakeWriter]) -> None:
    addon, tctx, writer = fake
    tctx.configure(
        addon, amber_include_hosts=["*.example.com"], amber_exclude_hosts=["internal.example.com"]
    )
    addon.response(flow("/1", host="api.example.com"))
    addon.response(flow("/2", host="internal.example.com"))
    addon.response(flow("/3", host="other.org"))
    addon.response(flow("/4", host="API.EXAMPLE.COM"))
    assert paths(writer) == ["/1", "/4"]
    assert addon.stats.filtered == 2


def test_path_globs_and_route_templates(
    fake: tuple[CaptureAddon, taddons.context, FakeWriter],
) -> None:
    addon, tctx, writer = fake
    tctx.configure(
        addon,
        amber_include_paths=["/api/*", "/users/{id}/orders"],
        amber_exclude_paths=["/api/health"],
    )
    for p in (
        "/api/items?x=1",
        "/api/health",
        "/users/42/orders",
        "/users/me/orders",
        "/other",
        "/api/health?verbose=1",
    ):
        addon.response(flow(p))
    # a {placeholder} matches any one segment, as in amber.yaml's route patterns
    assert paths(writer) == ["/api/items?x=1", "/users/42/orders", "/users/me/orders"]


def test_named_route_templates_match(
    fake: tuple[CaptureAddon, taddons.context, FakeWriter],
) -> None:
    addon, tctx, writer = fake
    tctx.configure(addon, amber_exclude_paths=["/users/{user_id}/orders"])
    addon.response(flow("/users/42/orders"))
    assert writer.raws == []


def test_method_and_content_type_filters(
    fake: tuple[CaptureAddon, taddons.context, FakeWriter],
) -> None:
    addon, tctx, writer = fake
    tctx.configure(addon, amber_methods=["post", "PUT"], amber_content_types=["application/json"])
    addon.response(flow("/get", method="GET"))
    addon.response(flow("/post", method="POST"))
    addon.response(flow("/put-html", method="PUT", resp_headers=((b"content-type", b"text/html"),)))
    addon.response(
        flow(
            "/put-json",
            method="PUT",
            resp_headers=((b"Content-Type", b"Application/JSON; charset=utf-8"),),
        )
    )
    # no response yet (an upstream error): the content type cannot exclude it
    addon.error(flow("/post-error", method="POST", status=None, error=True))
    assert paths(writer) == ["/post", "/put-json", "/post-error"]


def test_mitmproxy_filter_expression(
    fake: tuple[CaptureAddon, taddons.context, FakeWriter],
) -> None:
    addon, tctx, writer = fake
    tctx.configure(addon, amber_filter="~d api.example.com & !~u /health")
    addon.response(flow("/health"))
    addon.response(flow("/orders"))
    addon.response(flow("/orders", host="other.org"))
    assert paths(writer) == ["/orders"]
    assert writer.raws[0].host == "api.example.com"


# -- sampling --------------------------------------------------------------------------------


def test_always_keep_under_sample_rate_zero(
    fake: tuple[CaptureAddon, taddons.context, FakeWriter],
) -> None:
    addon, tctx, writer = fake
    tctx.configure(addon, amber_sample_rate="0")
    addon.response(flow("/ordinary"))
    addon.response(flow("/server-error", status=503))
    addon.response(flow("/client-error", status=404))
    addon.error(flow("/upstream-down", status=None, error=True))
    addon.response(flow("/flagged", headers=((b"X-Amber-Capture", b"1"),)))
    addon.response(flow("/flagged-lower", headers=((b"x-amber-capture", b"yes"),)))
    assert paths(writer) == ["/server-error", "/upstream-down", "/flagged", "/flagged-lower"]
    assert addon.stats.sampled_out == 2


def test_custom_always_header(fake: tuple[CaptureAddon, taddons.context, FakeWriter]) -> None:
    addon, tctx, writer = fake
    tctx.configure(addon, amber_sample_rate="0", amber_always_header="X-Debug-Me")
    addon.response(flow("/old", headers=((b"X-Amber-Capture", b"1"),)))
    addon.response(flow("/new", headers=((b"x-debug-me", b"1"),)))
    assert paths(writer) == ["/new"]


def test_filters_win_over_always_keep(
    fake: tuple[CaptureAddon, taddons.context, FakeWriter],
) -> None:
    addon, tctx, writer = fake
    tctx.configure(addon, amber_sample_rate="0", amber_exclude_paths=["/health"])
    addon.response(flow("/health", status=500))
    assert writer.raws == []


@pytest.mark.parametrize("spec", ["header:X-User-Id", "cookie:session"])
def test_consistent_sampling_per_key(
    fake: tuple[CaptureAddon, taddons.context, FakeWriter], spec: str
) -> None:
    addon, tctx, writer = fake
    tctx.configure(addon, amber_sample_rate="0.5", amber_sample_key=spec)
    kind, _, name = spec.partition(":")
    users = [f"user-{i}" for i in range(200)]
    for rnd in range(3):
        for u in users:
            if kind == "header":
                hdrs = ((name.encode(), u.encode()),)
            else:
                hdrs = ((b"cookie", f"theme=dark; {name}={u}".encode()),)
            addon.response(flow(f"/{u}/{rnd}", headers=hdrs))
    kept: dict[str, set[int]] = {}
    for p in paths(writer):
        _, u, rnd = p.split("/")
        kept.setdefault(u, set()).add(int(rnd))
    # every user is either always kept or never: all 3 rounds or none
    assert all(rounds == {0, 1, 2} for rounds in kept.values())
    # and the rate holds (deterministic: the hash of fixed user ids)
    assert 60 <= len(kept) <= 140
    assert addon.stats.sampled_out == 3 * (200 - len(kept))


def test_sample_rate_one_keeps_all(fake: tuple[CaptureAddon, taddons.context, FakeWriter]) -> None:
    addon, tctx, writer = fake
    tctx.configure(addon, amber_sample_rate="1", amber_sample_key="header:X-User-Id")
    for i in range(20):
        addon.response(flow(f"/{i}", headers=((b"x-user-id", str(i).encode()),)))
    assert len(writer.raws) == 20


# -- options ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "opts",
    [
        {"amber_sample_rate": "1.5"},
        {"amber_sample_rate": "-0.1"},
        {"amber_sample_key": "query:user"},
        {"amber_sample_key": "header:"},
        {"amber_filter": "~d ("},
        {"amber_max_body_size": "-1"},
        {"amber_queue_size": "0"},
        {"amber_store": "ftp://example.invalid/store"},
        {"amber_store": "postgresql://nobody@127.0.0.1:1/amber"},
    ],
)
def test_invalid_options_raise_options_error(
    ctx: tuple[CaptureAddon, taddons.context], opts: dict[str, Any]
) -> None:
    addon, tctx = ctx
    with pytest.raises(exceptions.OptionsError):
        tctx.configure(addon, **opts)


def test_invalid_config_file_raises_options_error(
    ctx: tuple[CaptureAddon, taddons.context], env: Path
) -> None:
    addon, tctx = ctx
    (env / "bad.yaml").write_text("sanitize: [not, a, mapping\n")
    with pytest.raises(exceptions.OptionsError):
        tctx.configure(addon, amber_config=str(env / "bad.yaml"))


def test_missing_key_raises_options_error(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AMBER_KEY")
    addon = CaptureAddon()
    with addon_context(addon) as tctx, pytest.raises(exceptions.OptionsError, match="AMBER_KEY"):
        tctx.configure(addon, amber_store=f"sqlite:///{env / 'store.db'}")
    assert addon.writer is None
    assert not (env / "store.db").exists()


# -- every option from every entry: option > amber.yaml > default ---------------------------

# option -> (a value for amber.yaml, another given as the option (as --set gives it), how the
# addon holds the value in effect)
EVERY_OPTION: dict[str, tuple[object, object, Callable[[CaptureAddon, FakeWriter], object]]] = {
    "amber_filter": (
        "~d yaml.example",
        "~d option.example",
        lambda a, w: (a._wanted(flow(host="yaml.example")), a._wanted(flow(host="option.example"))),
    ),
    "amber_include_paths": (["/yaml/*"], ["/option/*"], lambda a, w: a.include_paths),
    "amber_exclude_paths": (["/yaml"], ["/option", "/users/{id}"], lambda a, w: a.exclude_paths),
    "amber_include_hosts": (["Yaml.example"], ["option.example"], lambda a, w: a.include_hosts),
    "amber_exclude_hosts": (["yaml.example"], ["Option.example"], lambda a, w: a.exclude_hosts),
    "amber_methods": (["get"], ["post", "PUT"], lambda a, w: a.methods),
    "amber_content_types": (["Text/HTML"], ["application/json"], lambda a, w: a.content_types),
    "amber_sample_rate": (0.25, "0.75", lambda a, w: a.rate),
    "amber_sample_key": ("cookie:sid", "header:X-User", lambda a, w: a.sample_key),
    "amber_always_header": ("X-Yaml", "X-Option", lambda a, w: a.always_header),
    "amber_max_body_size": (100, "200", lambda a, w: (w.settings.body_cap, a.body_cap)),
    "amber_queue_size": (5, "6", lambda a, w: w.settings.max_items),
    "amber_queue_bytes": (4096, "8192", lambda a, w: w.settings.max_bytes),
    "amber_writer": ("thread", "process", lambda a, w: w.settings.mode),
    "amber_status_file": ("yaml.prom", "option.prom", lambda a, w: a.status.path),
    "amber_status_interval": (30, "45", lambda a, w: a.status.interval),
}


def test_every_option_is_in_the_table_and_amber_yaml() -> None:
    addon = CaptureAddon()
    with addon_context(addon) as tctx:
        names = {k for k in tctx.options.keys() if k.startswith("amber_")}  # noqa: SIM118
    assert names - {"amber_store", "amber_config"} == set(EVERY_OPTION)
    assert {n.removeprefix("amber_") for n in EVERY_OPTION} == set(CAPTURE_KEYS)


@pytest.mark.parametrize("option", sorted(EVERY_OPTION))
def test_option_beats_amber_yaml_beats_default(
    env: Path,
    factory: FakeFactory,
    option: str,
) -> None:
    yaml_value, option_value, held = EVERY_OPTION[option]
    key = option.removeprefix("amber_")
    addon = CaptureAddon(writer_factory=factory)
    with addon_context(addon) as tctx:
        addon.running()  # defaults only: no amber.yaml yet
        default = held(addon, factory.made[-1])
        (env / "amber.yaml").write_text(yaml.safe_dump({"capture": {key: yaml_value}}))
        tctx.configure(addon, amber_config=str(env / "amber.yaml"))
        from_yaml = held(addon, factory.made[-1])
        tctx.options.set(
            *(
                f"{option}={v}"
                for v in (option_value if isinstance(option_value, list) else [option_value])
            )
        )
        from_option = held(addon, factory.made[-1])
        tctx.options.set(f"{option}=" if isinstance(option_value, str) else option)
        back_to_yaml = held(addon, factory.made[-1])
    assert from_yaml != default and from_option != from_yaml
    assert back_to_yaml == from_yaml  # an empty option means "not given"


def test_set_parses_every_option_from_text(
    fake: tuple[CaptureAddon, taddons.context, FakeWriter], factory: FakeFactory
) -> None:
    """What `--set` and `amber capture`'s flags do: mitmproxy parses text into each option's
    type; a float option cannot be parsed, so the sample rate is a string checked here."""
    addon, tctx, _ = fake
    tctx.options.set(
        "amber_sample_rate=0.3",
        "amber_max_body_size=100",
        "amber_queue_size=5",
        "amber_queue_bytes=4096",
        "amber_writer=thread",
        "amber_exclude_paths=/a",
        "amber_exclude_paths=/b",
    )
    assert addon.rate == 0.3 and addon.exclude_paths == ("/a", "/b")
    settings = factory.made[-1].settings
    assert (settings.body_cap, settings.max_items, settings.max_bytes, settings.mode) == (
        100,
        5,
        4096,
        "thread",
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("amber_sample_rate=0.3.1", "amber_sample_rate: expected a number between 0 and 1"),
        ("amber_sample_rate=nan", "amber_sample_rate: expected a number between 0 and 1"),
        ("amber_sample_rate=2", "got '2'"),
        ("amber_max_body_size=1k", "amber_max_body_size: expected a whole number, 0 or more"),
        ("amber_queue_size=0", "amber_queue_size: expected a whole number, 1 or more"),
        ("amber_queue_bytes=-5", "amber_queue_bytes: expected a whole number, 1 or more"),
        ("amber_writer=fork", "amber_writer: expected 'process' or 'thread', got 'fork'"),
    ],
)
def test_a_bad_value_names_the_option(
    fake: tuple[CaptureAddon, taddons.context, FakeWriter],
    spec: str,
    message: str,
) -> None:
    addon, tctx, writer = fake
    with pytest.raises(exceptions.OptionsError, match=re.escape(message)):
        tctx.options.set(spec)
    assert addon.rate == 1.0 and addon.writer is writer and not writer.stopped


def test_a_bad_amber_yaml_value_names_file_line_and_key(
    fake: tuple[CaptureAddon, taddons.context, FakeWriter],
    env: Path,
) -> None:
    """amber.yaml's own check takes types and ranges; a filter or a route template is checked
    by the addon, which names the file and line as well."""
    addon, tctx, _ = fake
    config = env / "capture.yaml"
    config.write_text("capture:\n  exclude_paths: [/ok]\n  filter: '~d ('\n")
    with pytest.raises(exceptions.OptionsError, match=re.escape(f"{config}:3: capture.filter")):
        tctx.configure(addon, amber_config=str(config))
    config.write_text("capture:\n  sample_rat: 0.3\n")
    with pytest.raises(
        exceptions.OptionsError, match=re.escape(f"{config}:2: capture.sample_rat: unknown key")
    ):
        tctx.configure(addon, amber_config=str(config))


# -- no store is opened before the proxy runs, nor by an option rollback ----------------------


def test_nothing_is_opened_until_running(env: Path, factory: FakeFactory) -> None:
    addon = CaptureAddon(writer_factory=factory)
    with addon_context(addon) as tctx:
        tctx.configure(addon, amber_store=f"sqlite:///{env / 'store.db'}", amber_queue_size="5")
        assert factory.made == [] and addon.writer is None
        addon.running()
        [writer] = factory.made
        assert writer.started and writer.settings.max_items == 5


def test_a_rolled_back_option_never_opens_the_default_store(env: Path) -> None:
    """mitmproxy answers a rejected option by configuring again with the previous values:
    at start-up, the defaults. Then nothing may be opened, least of all the default store
    (.amber/store.db in the current directory), which the user did not name."""
    addon = CaptureAddon()
    unreachable = "postgresql://nobody@127.0.0.1:1/amber"
    with addon_context(addon) as tctx:
        with pytest.raises(exceptions.OptionsError):
            tctx.options.set(f"amber_store={unreachable}", "amber_sample_rate=2")
        tctx.options.set(f"amber_store={unreachable}", "amber_writer=thread")
        addon.running()  # the proxy listens: now the store is opened, and fails
        assert addon.failed is not None and "cannot open store" in addon.failed
        assert addon.writer is None
    assert not (env / ".amber").exists()
    assert list(env.iterdir()) == []


def test_a_rejected_store_at_run_time_keeps_the_writer_and_opens_nothing_else(
    ctx: tuple[CaptureAddon, taddons.context],
    env: Path,
) -> None:
    addon, tctx = ctx
    writer = addon.writer
    with pytest.raises(exceptions.OptionsError, match="cannot open store"):
        tctx.options.set("amber_store=postgresql://nobody@127.0.0.1:1/amber")
    assert addon.writer is writer and tctx.options.amber_store.startswith("sqlite:///")
    assert sorted(p.name for p in env.iterdir() if not p.name.startswith("store.db")) == []


# -- the writer: replaced only when what it is built from changes ------------------------------


def test_filter_and_sampling_options_keep_the_writer(
    fake: tuple[CaptureAddon, taddons.context, FakeWriter],
    factory: FakeFactory,
) -> None:
    addon, tctx, writer = fake
    tctx.configure(
        addon,
        amber_filter="~d api.example.com",
        amber_sample_rate="0.5",
        amber_sample_key="header:X-User-Id",
        amber_include_paths=["/api/*"],
        amber_exclude_hosts=["internal.*"],
        amber_methods=["GET"],
        amber_content_types=["application/json"],
        amber_always_header="X-Keep",
    )
    assert factory.made == [writer] and writer.started and not writer.stopped
    assert addon.writer is writer


def test_the_same_writer_options_again_keep_the_writer(
    fake: tuple[CaptureAddon, taddons.context, FakeWriter],
    factory: FakeFactory,
    env: Path,
) -> None:
    addon, tctx, writer = fake
    tctx.configure(
        addon,
        amber_store=f"sqlite:///{env / 'store.db'}",
        amber_writer="process",
        amber_queue_size="10000",
    )
    assert factory.made == [writer] and not writer.stopped


@pytest.mark.parametrize(
    ("option", "value", "field", "expected"),
    [
        ("amber_store", "sqlite:///other.db", "store_url", "sqlite:///other.db"),
        ("amber_writer", "thread", "mode", "thread"),
        ("amber_queue_size", "5", "max_items", 5),
        ("amber_queue_bytes", "4096", "max_bytes", 4096),
        ("amber_max_body_size", "100", "body_cap", 100),
    ],
)
def test_a_changed_writer_option_replaces_the_writer(
    fake: tuple[CaptureAddon, taddons.context, FakeWriter],
    factory: FakeFactory,
    option: str,
    value: object,
    field: str,
    expected: object,
) -> None:
    addon, tctx, old = fake
    tctx.configure(addon, **{option: value})
    [_, new] = factory.made
    assert old.stopped and new.started and not new.stopped
    assert addon.writer is new
    assert getattr(new.settings, field) == expected
    assert new.stats is addon.stats  # the counters carry on across writers


def test_the_store_is_logged_without_its_password(
    fake: tuple[CaptureAddon, taddons.context, FakeWriter],
    caplog: pytest.LogCaptureFixture,
) -> None:
    addon, tctx, _ = fake
    with caplog.at_level(logging.INFO, logger="amber.capture"):
        tctx.configure(addon, amber_store="postgresql://amber:Pw-Not-Logged@db.internal/amber")
    assert "recording to postgresql://amber:***@db.internal/amber" in caplog.text
    assert "Pw-Not-Logged" not in caplog.text


def test_amber_yaml_is_read_when_amber_config_changes_only(
    fake: tuple[CaptureAddon, taddons.context, FakeWriter],
    factory: FakeFactory,
    env: Path,
) -> None:
    addon, tctx, _ = fake
    config = env / "amber.yaml"
    config.write_text("store: sqlite:///from-config.db\n")
    tctx.configure(addon, amber_config=str(config))
    assert factory.made[-1].settings.store_url == f"sqlite:///{env / 'store.db'}"  # option wins
    assert factory.made[-1].settings.config.path == str(config)
    config.write_text("sanitize: [not, a, mapping\n")
    tctx.configure(addon, amber_queue_size="7")  # the writer is rebuilt from the parsed config
    assert factory.made[-1].settings.max_items == 7
    with pytest.raises(exceptions.OptionsError, match="amber.yaml"):
        tctx.configure(addon, amber_config=str(config))


def test_a_rejected_writer_option_leaves_the_running_writer(
    ctx: tuple[CaptureAddon, taddons.context],
    env: Path,
) -> None:
    addon, tctx = ctx
    writer = addon.writer
    (env / "bad.db").write_bytes(b"not a database" * 100)
    with pytest.raises(exceptions.OptionsError, match="not a readable amber store"):
        tctx.configure(addon, amber_store=f"sqlite:///{env / 'bad.db'}")
    assert addon.writer is writer  # checked before the old writer stopped, kept after
    addon.response(flow("/after"))
    assert writer is not None and writer.flush()
    assert addon.stats.stored == 1


def test_running_starts_the_writer_from_every_option(
    env: Path,
    factory: FakeFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`amber capture` adds the addon to its master with only the options it was given:
    `running` applies the rest (here none was given: the store comes from $AMBER_STORE)."""
    monkeypatch.setenv("AMBER_STORE", "sqlite:///env.db")
    addon = CaptureAddon(writer_factory=factory)
    with addon_context(addon):
        addon.running()
        addon.running()
        [writer] = factory.made
        assert writer.started and writer.settings.store_url == "sqlite:///env.db"
        assert writer.settings.mode == "process" and addon.failed is None
    assert writer.stopped


def test_running_with_an_unusable_option_stops_the_proxy(
    env: Path,
    factory: FakeFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AMBER_KEY")
    addon = CaptureAddon(writer_factory=factory)
    with addon_context(addon) as tctx:
        shutdowns: list[bool] = []
        monkeypatch.setattr(tctx.master, "shutdown", lambda: shutdowns.append(True))
        addon.running()
    assert addon.failed is not None and "AMBER_KEY" in addon.failed
    assert shutdowns == [True] and factory.made == []


# -- failures inside the hooks -----------------------------------------------------------------


@pytest.mark.parametrize("target", ["_wanted", "_raw", "submit"])
def test_internal_exception_leaves_flow_untouched(
    fake: tuple[CaptureAddon, taddons.context, FakeWriter],
    monkeypatch: pytest.MonkeyPatch,
    target: str,
) -> None:
    addon, _, writer = fake

    def boom(*a: object, **k: object) -> Any:
        raise RuntimeError("internal failure")

    if target == "_wanted":
        monkeypatch.setattr(addon, "_wanted", boom)
    elif target == "_raw":
        monkeypatch.setattr(addon_mod, "_raw", boom)
    else:
        monkeypatch.setattr(writer, "submit", boom)
    f = flow("/x", headers=((b"authorization", b"Bearer abc"),))
    before = f.get_state()
    addon.response(f)
    addon.error(f)
    assert f.get_state() == before
    assert addon.stats.hook_errors == 2
    assert writer.raws == []


def test_no_writer_counts_a_drop(fake: tuple[CaptureAddon, taddons.context, FakeWriter]) -> None:
    addon, _, _ = fake
    addon.writer = None
    addon.response(flow())
    assert addon.stats.dropped("no_writer") == 1 and addon.stats.hook_errors == 0


def test_raw_flow_copies_references_not_decoded_bodies(
    fake: tuple[CaptureAddon, taddons.context, FakeWriter],
) -> None:
    addon, _, writer = fake
    import gzip

    body = gzip.compress(b'{"password": "x"}')
    f = flow(
        "/gz?a=1",
        method="POST",
        resp_headers=((b"content-encoding", b"gzip"), (b"content-type", b"application/json")),
    )
    assert f.response is not None
    f.response.raw_content = body
    addon.response(f)
    [raw] = writer.raws
    assert raw.resp_body is body  # the wire bytes, not decoded, not copied
    assert raw.method == b"POST" and raw.path == b"/gz?a=1" and raw.status == 200


# -- streams: forwarded live, recorded up to the cap -------------------------------------------


def headers_flow(*resp_headers: tuple[bytes, bytes]) -> http.HTTPFlow:
    """A flow at the `responseheaders` hook: headers received, no body yet."""
    f = flow("/stream", resp_headers=resp_headers)
    assert f.response is not None
    f.response.data.content = None
    return f


@pytest.mark.parametrize(
    ("headers", "streamed"),
    [
        (((b"content-type", b"text/event-stream"),), True),
        (((b"content-type", b"application/json"), (b"content-length", b"101")), True),  # > cap
        (((b"content-type", b"application/json"), (b"content-length", b"100")), False),
    ],
)
def test_event_streams_and_bodies_over_the_cap_are_streamed(
    fake: tuple[CaptureAddon, taddons.context, FakeWriter],
    headers: tuple[tuple[bytes, bytes], ...],
    streamed: bool,
) -> None:
    addon, tctx, _ = fake
    tctx.configure(addon, amber_max_body_size="100")
    f = headers_flow(*headers)
    addon.responseheaders(f)
    assert f.response is not None
    assert isinstance(f.response.stream, StreamCopy) is streamed


def test_a_stream_set_by_another_addon_is_left_alone(
    fake: tuple[CaptureAddon, taddons.context, FakeWriter],
) -> None:
    addon, _, writer = fake

    def theirs(chunk: bytes) -> bytes:
        return chunk.upper()

    f = headers_flow((b"content-type", b"text/event-stream"))
    assert f.response is not None
    f.response.stream = theirs
    addon.responseheaders(f)
    assert f.response.stream is theirs
    addon.response(f)
    [raw] = writer.raws
    assert raw.resp_body is None  # amber has no copy: recorded without body, flagged truncated
    # mitmproxy's own plain streaming (stream_large_bodies) gets amber's copy instead
    f = headers_flow((b"content-type", b"application/octet-stream"))
    assert f.response is not None
    f.response.stream = True
    addon.responseheaders(f)
    assert isinstance(f.response.stream, StreamCopy)


def test_a_streamed_body_passes_unchanged_and_is_recorded_up_to_the_cap(
    fake: tuple[CaptureAddon, taddons.context, FakeWriter],
    factory: FakeFactory,
) -> None:
    addon, tctx, _ = fake
    tctx.configure(addon, amber_max_body_size="25")
    writer = factory.made[-1]  # a new body cap: a new writer
    events = [b"data: one\n\n", b"data: two\n\n", b"data: three\n\n", b""]  # b"": end
    complete = headers_flow((b"content-type", b"text/event-stream"))
    cut = headers_flow((b"content-type", b"text/event-stream"))
    for f, sent in ((complete, events[:2] + events[3:]), (cut, events)):
        addon.responseheaders(f)
        assert f.response is not None and callable(f.response.stream)
        assert [f.response.stream(chunk) for chunk in sent] == sent  # the same bytes
        addon.response(f)
    [whole, capped] = writer.raws
    assert whole.resp_body == b"data: one\n\ndata: two\n\n" and not whole.resp_cut
    assert capped.resp_body == b"data: one\n\ndata: two\n\ndat" and capped.resp_cut


def test_a_stream_broken_off_is_recorded_with_what_came_flagged_truncated(
    fake: tuple[CaptureAddon, taddons.context, FakeWriter],
) -> None:
    addon, _, writer = fake
    f = headers_flow((b"content-type", b"application/x-ndjson"))
    addon.responseheaders(f)
    assert f.response is not None and callable(f.response.stream)
    f.response.stream(b'{"n": 1}\n')
    f.error = flow(error=True).error  # the upstream went away mid-stream
    addon.error(f)
    [raw] = writer.raws
    assert raw.resp_body == b'{"n": 1}\n' and raw.resp_cut and raw.error


def test_a_failing_copy_never_alters_the_stream(
    fake: tuple[CaptureAddon, taddons.context, FakeWriter],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    addon, _, writer = fake
    f = headers_flow((b"content-type", b"text/event-stream"))
    addon.responseheaders(f)
    assert f.response is not None and callable(f.response.stream)
    stream = f.response.stream

    def boom(self: object, chunk: bytes) -> None:
        raise MemoryError

    monkeypatch.setattr(StreamCopy, "_keep", boom)
    chunks = [b"data: one\n\n", b""]
    assert [stream(c) for c in chunks] == chunks
    addon.response(f)
    [raw] = writer.raws
    assert raw.resp_body is None and raw.resp_cut  # recorded, without a body it cannot vouch for


def test_a_failing_responseheaders_hook_leaves_the_flow_buffered(
    fake: tuple[CaptureAddon, taddons.context, FakeWriter],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    addon, _, _ = fake

    def boom(*a: object) -> bool:
        raise RuntimeError("internal failure")

    monkeypatch.setattr(addon_mod, "should_stream", boom)
    f = headers_flow((b"content-type", b"text/event-stream"))
    before = f.get_state()
    addon.responseheaders(f)
    assert f.get_state() == before
    assert f.response is not None and f.response.stream is False
