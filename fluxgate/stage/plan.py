"""Where a release goes after an environment is deployed, healthy, verified and soaked."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from fluxgate.config import PipelineConfig

__all__ = ["NextStep", "next_step"]


class NextStep(BaseModel):
    kind: Literal["promote", "manual", "last"]
    env: str | None = None
    message: str


def next_step(config: PipelineConfig, env: str, version: str) -> NextStep:
    """Promote automatically, leave the exact command to promote by hand, or stop at the last stage."""
    following = config.next_environment(env)
    release = f"{config.app}@{version}"
    if following is None:
        return NextStep(kind="last", message=f"{release} is live in {env}, the last environment")
    if not config.environment(env).auto_promote:
        command = f"fluxgate promote {release} --to {following.name}"
        return NextStep(kind="manual", env=following.name, message=f"promote by hand: {command}")
    return NextStep(kind="promote", env=following.name, message=f"promoting {release} to {following.name}")
