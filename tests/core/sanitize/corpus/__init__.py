"""An adversarial corpus for the sanitizer: planted secrets, look-alikes, and their measurement.

`secrets` holds the planted secrets and personal values by class, `lookalikes` the ordinary
values that must survive, `carriers` the places traffic carries them (headers, URLs, JSON,
forms, multipart, XML, HTML, CSV, YAML, .env, NDJSON, SSE) and the placement encodings,
`formats` renders random field lists in each body format for the property tests, and `measure`
runs the cases through a `Sanitizer` and counts leaks and over-redactions.
`tests/core/sanitize/test_corpus.py` holds the ratchet; `benchmarks/bench_sanitizer_recall.py`
prints the table.
"""

from __future__ import annotations

from .measure import Case
from .measure import Report
from .measure import cases
from .measure import forms
from .measure import leaked
from .measure import lookalike_cases
from .measure import run
from .measure import table
from .measure import truncation_cases
from .secrets import Planted
from .secrets import planted

__all__ = [
    "Case",
    "Planted",
    "Report",
    "cases",
    "forms",
    "leaked",
    "lookalike_cases",
    "planted",
    "run",
    "table",
    "truncation_cases",
]
