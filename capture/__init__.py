"""amber.capture: record sanitized exchanges from mitmproxy.

- `CaptureAddon` (in `amber.capture.addon`, which imports mitmproxy): the mitmproxy addon
  (`mitmdump -s "$(amber addon-path)"`).
- `Writer`: the bounded queue and writer thread behind the addon; `CaptureWriter`, the
  interface the addon needs of a writer (the thread, or the default writer process).
"""

from __future__ import annotations

from amber.capture._stats import CaptureStats
from amber.capture._writer import CaptureWriter
from amber.capture._writer import RawFlow
from amber.capture._writer import Writer

__all__ = ["CaptureStats", "CaptureWriter", "RawFlow", "Writer"]
