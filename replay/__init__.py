"""amber.replay: send stored requests to any build and compare beyond the noise.

- `Replayer`, `Target`, `Outcome`: the replay engine (pacing, sessions, auth);
- `FastTransport`: the lean HTTP/1.1 transport behind it (also a regular httpx transport);
- `compare_responses`, `Comparison`, `Difference`: explainable response comparison;
- `NoiseRules`, `NoiseFile`: ignore rules and learned noise (reviewable YAML);
- `ShadowRunner`, `ShadowAccumulator`, `ShadowReport`: shadow comparison, Diffy-style;
- `render_terminal`, `render_html`, `report_json`: shadow reports.
"""

from __future__ import annotations

from amber.errors import AuthError
from amber.replay._auth import Auth
from amber.replay._compare import Comparison
from amber.replay._compare import Difference
from amber.replay._compare import compare_responses
from amber.replay._compare import diff_json
from amber.replay._compare import generalize
from amber.replay._noise import DEFAULT_VOLATILE_HEADERS
from amber.replay._noise import NoiseFile
from amber.replay._noise import NoiseRules
from amber.replay._report import render_html
from amber.replay._report import render_terminal
from amber.replay._report import report_json
from amber.replay._runner import Outcome
from amber.replay._runner import Replayer
from amber.replay._runner import Target
from amber.replay._session import SessionState
from amber.replay._shadow import FailOn
from amber.replay._shadow import ShadowAccumulator
from amber.replay._shadow import ShadowReport
from amber.replay._shadow import ShadowSettings
from amber.replay._shadow import parse_fail_on
from amber.replay._shadow_run import ShadowRunner
from amber.replay._shadow_run import Triple
from amber.replay._transport import FastTransport

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
    "Replayer",
    "SessionState",
    "ShadowAccumulator",
    "ShadowReport",
    "ShadowRunner",
    "ShadowSettings",
    "Target",
    "Triple",
    "compare_responses",
    "diff_json",
    "generalize",
    "parse_fail_on",
    "render_html",
    "render_terminal",
    "report_json",
]
