"""The sanitizer: nothing secret or personal reaches disk.

```python
>>> from amber.sanitize import SanitizeConfig, Sanitizer
>>> sanitizer = Sanitizer(SanitizeConfig.from_mapping(yaml_doc.get("sanitize") or {}),
...                       Pseudonymizer(load_key()))
>>> clean = sanitizer.sanitize(exchange)
```

Secrets become fixed markers (`[REDACTED:<rule>]`); identifying values become keyed,
deterministic pseudonyms. See docs/sanitization.md for the rules and the `sanitize:` schema.
"""

from __future__ import annotations

from ._cells import CellSanitizer
from ._config import DEFAULT_MAX_DECODED_BODY
from ._config import SanitizeConfig
from ._keys import KeyClassifier
from ._sanitizer import Sanitizer
from ._scan import Finding
from ._scan import scan_bytes
from ._target import TargetSanitizer
from ._values import DETECTOR_NAMES
from ._values import CustomRule

__all__ = [
    "DEFAULT_MAX_DECODED_BODY",
    "DETECTOR_NAMES",
    "CellSanitizer",
    "CustomRule",
    "Finding",
    "KeyClassifier",
    "SanitizeConfig",
    "Sanitizer",
    "TargetSanitizer",
    "scan_bytes",
]
