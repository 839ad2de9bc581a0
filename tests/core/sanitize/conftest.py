from __future__ import annotations

import pytest

from amber._pseudonym import Pseudonymizer
from amber.sanitize import SanitizeConfig
from amber.sanitize import Sanitizer

KEY = b"sanitizer-test-key-0123456789abcdef"


@pytest.fixture
def pseudo() -> Pseudonymizer:
    return Pseudonymizer(KEY)


@pytest.fixture
def sanitizer(pseudo: Pseudonymizer) -> Sanitizer:
    return Sanitizer(SanitizeConfig(), pseudo)
