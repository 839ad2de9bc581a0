"""What the benchmarks read about other processes from Linux's /proc."""

from __future__ import annotations

import os
from pathlib import Path


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of `pid` so far (0.0 where /proc has none)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child_pids(pid: int) -> list[int]:
    """The direct children of `pid` (empty where /proc has none)."""
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def descendant_pids(pid: int) -> list[int]:
    """Every process below `pid`: amber's writer is forked by a fork server, the proxy's
    child, so it is a grandchild."""
    out: list[int] = []
    stack = child_pids(pid)
    while stack:
        p = stack.pop()
        out.append(p)
        stack += child_pids(p)
    return out
