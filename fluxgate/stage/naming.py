"""What a stage run is: the `deploy-stage` flow and deployment, and the request (its one parameter)
that names the release and the environment. How a run is tagged and keyed is `contract`."""

from __future__ import annotations

from pydantic import BaseModel, Field

from fluxgate.release import Release

__all__ = ["DEPLOYMENT_NAME", "FLOW_NAME", "StageRequest"]

FLOW_NAME = "deploy-stage"
DEPLOYMENT_NAME = f"{FLOW_NAME}/{FLOW_NAME}"


class StageRequest(BaseModel):
    """One release into one environment: the parameters of a `deploy-stage` run."""

    app: str
    version: str
    env: str
    images: dict[str, str] = Field(description="component -> full image reference")
    config: str = Field(description="fluxgate.yaml as the worker sees it (a path in the code checkout)")
    force: bool = Field(False, description="deploy again even when the environment already runs it")
    rollback_from: str | None = Field(
        default=None, description="a rollback: the version this stage takes back (its PR says so)"
    )

    @classmethod
    def of(cls, release: Release, env: str, config: str, force: bool = False) -> StageRequest:
        return cls(
            app=release.app,
            version=release.version,
            env=env,
            images=release.images,
            config=config,
            force=force,
        )

    @property
    def release(self) -> Release:
        return Release(app=self.app, version=self.version, images=self.images)

    @property
    def run_name(self) -> str:
        name = f"{self.app}@{self.version} -> {self.env}"
        return f"{name} (rollback from {self.rollback_from})" if self.rollback_from else name

    def to(self, env: str) -> StageRequest:
        """The same release, promoted to `env`."""
        return self.model_copy(update={"env": env, "force": False, "rollback_from": None})
