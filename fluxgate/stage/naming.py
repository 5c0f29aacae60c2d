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
    "automerge_tag",
    "due_tag",
    "pause_key",
    "pr_tag",
    "sha_tag",
    "stage_tags",
    "workflow_runs_of",
    "workflows_tag",
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


def stage_tags(app: str, version: str, env: str) -> list[str]:
    return [f"fluxgate.release:{app}@{version}", f"fluxgate.env:{env}"]


def pr_tag(repo: str, number: int) -> str:
    return f"fluxgate.pr:{repo}#{number}"


def sha_tag(sha: str) -> str:
    return f"fluxgate.sha:{sha}"


def automerge_tag(method: str, head_sha: str) -> str:
    """An auto-approved PR GitHub would not merge yet (required checks pending): the connector merges it."""
    return f"fluxgate.automerge:{method}:{head_sha}"


def workflows_tag(runs: list[tuple[str, int]]) -> str:
    """The verification workflow runs a stage waits for: `fluxgate.workflows:acme/app#12,acme/app#13`."""
    return "fluxgate.workflows:" + ",".join(f"{repo}#{run_id}" for repo, run_id in runs)


def workflow_runs_of(value: str) -> list[tuple[str, int]]:
    """The (repo, run id) pairs of a `fluxgate.workflows` tag's value; malformed parts are skipped."""
    pairs = (part.rpartition("#") for part in value.split(",") if part)
    return [(repo, int(number)) for repo, _, number in pairs if repo and number.isdigit()]


def due_tag(epoch: float) -> str:
    return f"fluxgate.due:{int(epoch)}"


def pause_key(wait: str, attempt: int) -> str:
    """`await-flux`, then `await-flux-2`, ... for later attempts of the same wait."""
    return wait if attempt <= 1 else f"{wait}-{attempt}"
