"""A stage run as fluxgate reads it back from the orchestrator: plain data, no Prefect object.

`fluxgate.prefect_api` turns Prefect's flow runs into `StageRun`s at the boundary, so the CLI, the
connector and the demo read state, pause key, tags and request through one typed model.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from fluxgate.stage.contract import PauseKey, StageTags
from fluxgate.stage.naming import StageRequest

__all__ = ["FINAL_STATES", "RunState", "StageRun"]


class RunState(StrEnum):
    """Prefect's state types (the closed set; a state's *name* may say more, e.g. Suspended)."""

    SCHEDULED = "SCHEDULED"
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    CANCELLING = "CANCELLING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    CRASHED = "CRASHED"


FINAL_STATES = frozenset({RunState.COMPLETED, RunState.FAILED, RunState.CANCELLED, RunState.CRASHED})


class StageRun(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: UUID
    name: str
    state: RunState | None
    state_name: str | None = None
    message: str | None = None
    pause_key: str | None = None
    suspended_at: frozenset[str] = frozenset()  # every pause key the run has suspended at so far
    state_since: datetime | None = None
    tags: tuple[str, ...] = ()
    parameters: dict[str, Any] = {}
    run_time: timedelta = timedelta(0)
    created: datetime | None = None

    @property
    def stage(self) -> StageTags | None:
        return StageTags.from_tags(self.tags)

    @property
    def request(self) -> StageRequest:
        return StageRequest.model_validate(self.parameters["request"])

    @property
    def renders_by_commit(self) -> bool:
        """Whether the run's request pins its sources (runs made before sources were pinned name a
        checkout path instead: they can be shown, not repeated or rolled back to)."""
        try:
            StageRequest.model_validate(self.parameters["request"])
        except (KeyError, ValueError):
            return False
        return True

    @property
    def waiting_at(self) -> PauseKey | None:
        """The wait a paused run is suspended at; None when it is not paused at one of fluxgate's."""
        return PauseKey.parse(self.pause_key) if self.state == RunState.PAUSED else None

    @property
    def ended(self) -> bool:
        return self.state in FINAL_STATES

    def describe(self) -> str:
        """Where the run waits, or how it ended and why, in one phrase."""
        if self.state is None:
            return "unknown"
        if self.state == RunState.PAUSED:
            return f"waiting ({self.pause_key})"
        name = self.state_name or self.state.value.title()
        return name + (f": {self.message}" if self.message else "")
