"""amber.capture: record sanitized exchanges from mitmproxy.

- `CaptureAddon`: the mitmproxy addon (`mitmdump -s "$(amber addon-path)"`).
- `Writer`: the bounded queue and writer thread behind the addon.
"""

from __future__ import annotations

from amber.capture._writer import CaptureStats
from amber.capture._writer import RawFlow
from amber.capture._writer import Writer

__all__ = ["CaptureStats", "RawFlow", "Writer"]
