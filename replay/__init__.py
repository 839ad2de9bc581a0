"""amber.replay: send stored requests to any build and compare beyond the noise.

- `Replayer`, `Target`, `Outcome`: the replay engine (pacing, sessions, auth);
- `FastTransport`: the lean HTTP/1.1 transport behind it (also a regular httpx transport);
- `compare_responses`, `Comparison`, `Difference`: explainable response comparison;
- `NoiseRules`, `NoiseFile`: ignore rules and learned noise (reviewable YAML);
- `ShadowRunner`, `ShadowAccumulator`, `ShadowReport`: shadow comparison, Diffy-style;
- `replay_exchanges`, `shadow_exchanges`: the use cases (`amber replay`, `amber shadow`):
  settings in (`ReplaySettings`, `ShadowRunSettings`, `Selection`, `SendOptions`, `Safety`),
  progress to a `RunEvents`, a summary out; `resolve_target` reads targets from amber.yaml;
- `render_terminal`, `render_html`, `report_json`: shadow reports.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING
from typing import Any

from amber.errors import AuthError
from amber.errors import TargetUnreachable
from amber.replay._auth import Auth
from amber.replay._compare import Comparison
from amber.replay._compare import Difference
from amber.replay._compare import compare_responses
from amber.replay._compare import diff_json
from amber.replay._compare import generalize
from amber.replay._noise import DEFAULT_VOLATILE_HEADERS
from amber.replay._noise import NoiseFile
from amber.replay._noise import NoiseRules

if TYPE_CHECKING:  # the names below load on first use: see __getattr__
    from amber.replay._report import render_html
    from amber.replay._report import render_terminal
    from amber.replay._report import report_json
    from amber.replay._run import ReplaySettings
    from amber.replay._run import ReplaySummary
    from amber.replay._run import RunEvents
    from amber.replay._run import Selection
    from amber.replay._run import SendOptions
    from amber.replay._run import replay_exchanges
    from amber.replay._run import result_cleaner
    from amber.replay._runner import Outcome
    from amber.replay._runner import Replayer
    from amber.replay._runner import RequestParts
    from amber.replay._runner import Target
    from amber.replay._session import SessionState
    from amber.replay._shadow import FailOn
    from amber.replay._shadow import ShadowAccumulator
    from amber.replay._shadow import ShadowReport
    from amber.replay._shadow import ShadowSettings
    from amber.replay._shadow import parse_fail_on
    from amber.replay._shadow_run import ShadowRunner
    from amber.replay._shadow_run import ShadowRunSettings
    from amber.replay._shadow_run import ShadowSummary
    from amber.replay._shadow_run import Triple
    from amber.replay._shadow_run import shadow_exchanges
    from amber.replay._targets import Safety
    from amber.replay._targets import resolve_target
    from amber.replay._targets import unsafe_methods
    from amber.replay._transport import FastTransport

# The engine's names import the store, rich and httptools; a generated test imports
# amber.replay only for its comparison and noise rules, which the light runtime
# (`pip install amber`, no extras) can load: the rest loads when first used.
_LAZY = {
    "render_html": "amber.replay._report",
    "render_terminal": "amber.replay._report",
    "report_json": "amber.replay._report",
    "ReplaySettings": "amber.replay._run",
    "ReplaySummary": "amber.replay._run",
    "RunEvents": "amber.replay._run",
    "Selection": "amber.replay._run",
    "SendOptions": "amber.replay._run",
    "replay_exchanges": "amber.replay._run",
    "result_cleaner": "amber.replay._run",
    "Outcome": "amber.replay._runner",
    "Replayer": "amber.replay._runner",
    "RequestParts": "amber.replay._runner",
    "Target": "amber.replay._runner",
    "SessionState": "amber.replay._session",
    "FailOn": "amber.replay._shadow",
    "ShadowAccumulator": "amber.replay._shadow",
    "ShadowReport": "amber.replay._shadow",
    "ShadowSettings": "amber.replay._shadow",
    "parse_fail_on": "amber.replay._shadow",
    "ShadowRunner": "amber.replay._shadow_run",
    "ShadowRunSettings": "amber.replay._shadow_run",
    "ShadowSummary": "amber.replay._shadow_run",
    "Triple": "amber.replay._shadow_run",
    "shadow_exchanges": "amber.replay._shadow_run",
    "Safety": "amber.replay._targets",
    "resolve_target": "amber.replay._targets",
    "unsafe_methods": "amber.replay._targets",
    "FastTransport": "amber.replay._transport",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_VOLATILE_HEADERS",
    "Auth",
    "AuthError",
    "Comparison",
    "Difference",
    "FailOn",
    "FastTransport",
    "NoiseFile",
    "NoiseRules",
    "Outcome",
    "ReplaySettings",
    "ReplaySummary",
    "Replayer",
    "RequestParts",
    "RunEvents",
    "Safety",
    "Selection",
    "SendOptions",
    "SessionState",
    "TargetUnreachable",
    "ShadowAccumulator",
    "ShadowReport",
    "ShadowRunSettings",
    "ShadowRunner",
    "ShadowSettings",
    "ShadowSummary",
    "Target",
    "Triple",
    "compare_responses",
    "diff_json",
    "generalize",
    "parse_fail_on",
    "render_html",
    "render_terminal",
    "replay_exchanges",
    "report_json",
    "resolve_target",
    "result_cleaner",
    "shadow_exchanges",
    "unsafe_methods",
]
