"""amber.capture: record sanitized exchanges from mitmproxy.

- `CaptureAddon`: the mitmproxy addon (`mitmdump -s "$(amber addon-path)"`).
- `Pipeline`: decode, cap, sanitize and label an exchange before it is stored.
- `Writer`: the bounded queue and writer thread behind the addon.
"""

from __future__ import annotations

from amber.capture._pipeline import DEFAULT_BODY_CAP
from amber.capture._pipeline import Pipeline
from amber.capture._writer import CaptureStats
from amber.capture._writer import RawFlow
from amber.capture._writer import Writer

__all__ = ["DEFAULT_BODY_CAP", "CaptureStats", "Pipeline", "RawFlow", "Writer"]
