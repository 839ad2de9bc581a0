from __future__ import annotations

import sys

from amber.cli import main

sys.exit(main())
