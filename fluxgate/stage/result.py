"""What one post-deploy check reports, whatever its kind: read by the flow, the Prefect table and
the GitHub Check Run summary (`checks_markdown`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["CheckResult"]


class CheckResult(BaseModel):
    """One check's outcome; `detail` is one short line, and no text in it holds a secret's value."""

    name: str
    passed: bool
    detail: str
    attempts: int
    kind: Literal["http", "container", "workflow"] = "http"
    duration: float = Field(default=0.0, description="seconds from the first attempt to the verdict")
    log_tail: list[str] = Field(default_factory=list, description="a container's last log lines")
