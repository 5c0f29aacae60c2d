"""What a waiting stage is resumed with (DESIGN.md "Run inputs"): the connector sends these shapes,
the flow reads them back through Prefect's RunInput subclasses of the same models."""

from __future__ import annotations

from pydantic import BaseModel

__all__ = ["FluxResult", "MergeResult", "SoakResult"]


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
