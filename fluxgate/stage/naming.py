"""How stage runs are named, tagged and keyed, so the UI, the CLI and the connector find the same run.

Tags (DESIGN.md "Contracts"): `fluxgate.release:<app>@<version>`, `fluxgate.env:<env>`, then
`fluxgate.pr:<owner>/<repo>#<n>` once the PR exists and `fluxgate.sha:<merge sha>` once merged.
`fluxgate.due:<epoch seconds>` says when the current wait ends by itself (a soak's end, or the
Flux timeout); the connector resumes the run then. A second attempt at the same wait uses a new
pause key (`await-flux-2`): Prefect hands a used key's old input back instead of suspending.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from fluxgate.release import Release

__all__ = [
    "DEPLOYMENT_NAME",
    "FLOW_NAME",
    "StageRequest",
    "due_tag",
    "pause_key",
    "pr_tag",
    "sha_tag",
    "stage_tags",
]

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
        return f"{self.app}@{self.version} -> {self.env}"

    def to(self, env: str) -> StageRequest:
        """The same release, promoted to `env`."""
        return self.model_copy(update={"env": env, "force": False})


def stage_tags(app: str, version: str, env: str) -> list[str]:
    return [f"fluxgate.release:{app}@{version}", f"fluxgate.env:{env}"]


def pr_tag(repo: str, number: int) -> str:
    return f"fluxgate.pr:{repo}#{number}"


def sha_tag(sha: str) -> str:
    return f"fluxgate.sha:{sha}"


def due_tag(epoch: float) -> str:
    return f"fluxgate.due:{int(epoch)}"


def pause_key(wait: str, attempt: int) -> str:
    """`await-flux`, then `await-flux-2`, ... for later attempts of the same wait."""
    return wait if attempt <= 1 else f"{wait}-{attempt}"
