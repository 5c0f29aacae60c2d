"""What a waiting stage is resumed with (`contract.Wait.input`): the connector sends these shapes,
the flow reads them back through Prefect's RunInput subclasses of the same models."""

from __future__ import annotations

from pydantic import BaseModel

from fluxgate.stage.result import CheckResult

__all__ = ["DispatchedRun", "FluxResult", "MergeResult", "SoakResult", "VerifyResult"]


class MergeResult(BaseModel):
    merged: bool
    merge_sha: str | None = None
    merged_by: str | None = None
    pr_url: str


class FluxResult(BaseModel):
    healthy: bool
    revision: str | None = None
    clusters: list[str] = []
    message: str


class SoakResult(BaseModel):
    """The soak ended: healthy when no Flux failure came in the meantime."""

    healthy: bool
    message: str


class DispatchedRun(BaseModel):
    """A verification workflow run the stage started and waits for."""

    repo: str
    run_id: int
    name: str
    url: str


class VerifyResult(BaseModel):
    """The stage's verification workflows finished (or ran out of time): one result per run."""

    checks: list[CheckResult]
