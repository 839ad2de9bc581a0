"""Replay and shadow runs kept in the store, so they can be listed and compared later."""

from __future__ import annotations

import time
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa

from amber._model import new_id
from amber._store import Store
from amber._store import run_results
from amber._store import runs
from amber.errors import NotFound

__all__ = ["RunInfo", "RunLog", "RunResult"]


@dataclass(frozen=True, slots=True)
class RunResult:
    """What happened to one exchange in a run."""

    exchange_id: str
    sent_at: float
    status: int | None
    latency_ms: float | None
    ok: bool
    error: str | None = None
    detail: dict[str, Any] | None = None  # differences (sanitized), method, path, ...


@dataclass(frozen=True, slots=True)
class RunInfo:
    id: str
    kind: str
    started_at: float
    finished_at: float | None
    state: str
    target: str
    params: dict[str, Any]
    summary: dict[str, Any] | None


class RunLog:
    """Writes and reads runs through an open `Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def start(self, kind: str, target: str, params: dict[str, Any]) -> str:
        run_id = new_id()
        with self.store.engine.begin() as conn:
            conn.execute(runs.insert().values(
                id=run_id, kind=kind, started_at=time.time(), state="running", target=target,
                params=orjson.dumps(params, default=str),
            ))
        return run_id

    def add(self, run_id: str, results: Iterable[RunResult]) -> int:
        rows = [
            {
                "run_id": run_id, "exchange_id": r.exchange_id, "sent_at": r.sent_at,
                "status": r.status, "latency_ms": r.latency_ms, "ok": r.ok, "error": r.error,
                "detail": orjson.dumps(r.detail or {}, default=str),
            }
            for r in results
        ]
        if rows:
            with self.store.engine.begin() as conn:
                conn.execute(run_results.insert(), rows)
        return len(rows)

    def finish(self, run_id: str, state: str, summary: dict[str, Any]) -> None:
        with self.store.engine.begin() as conn:
            conn.execute(
                runs.update().where(runs.c.id == run_id).values(
                    state=state, finished_at=time.time(),
                    summary=orjson.dumps(summary, default=str),
                )
            )

    def _info(self, row: sa.Row[Any]) -> RunInfo:
        m = row._mapping
        return RunInfo(
            id=m["id"], kind=m["kind"], started_at=m["started_at"],
            finished_at=m["finished_at"], state=m["state"], target=m["target"],
            params=orjson.loads(m["params"]),
            summary=orjson.loads(m["summary"]) if m["summary"] else None,
        )

    def list(self, limit: int = 20) -> list[RunInfo]:
        with self.store.engine.connect() as conn:
            rows = conn.execute(
                sa.select(runs).order_by(runs.c.started_at.desc()).limit(limit)
            ).all()
        return [self._info(r) for r in rows]

    def get(self, run_id: str) -> RunInfo:
        with self.store.engine.connect() as conn:
            row = conn.execute(sa.select(runs).where(runs.c.id == run_id.upper())).first()
            if row is None:
                row = conn.execute(
                    sa.select(runs).where(runs.c.id.like(run_id.upper() + "%")).limit(2)
                ).first()
        if row is None:
            raise NotFound(f"no run {run_id!r}; list runs with `amber runs`")
        return self._info(row)

    def results(self, run_id: str, page: int = 500) -> Iterator[RunResult]:
        """Stream a run's results in the order they were recorded."""
        last = 0
        c = run_results.c
        while True:
            with self.store.engine.connect() as conn:
                rows = conn.execute(
                    sa.select(run_results).where(c.run_id == run_id, c.seq > last)
                    .order_by(c.seq).limit(page)
                ).all()
            if not rows:
                return
            for row in rows:
                m = row._mapping
                yield RunResult(
                    exchange_id=m["exchange_id"], sent_at=m["sent_at"], status=m["status"],
                    latency_ms=m["latency_ms"], ok=bool(m["ok"]), error=m["error"],
                    detail=orjson.loads(m["detail"]),
                )
            last = rows[-1]._mapping["seq"]
