"""What a stage run is: the `deploy-stage` flow and deployment, and the request (its one parameter)
that names the release and the environment. How a run is tagged and keyed is `contract`."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from fluxgate.release import Release, Source, is_commit, is_repo

__all__ = ["DEPLOYMENT_NAME", "FLOW_NAME", "StageRequest"]

FLOW_NAME = "deploy-stage"
DEPLOYMENT_NAME = f"{FLOW_NAME}/{FLOW_NAME}"


class StageRequest(BaseModel):
    """One release into one environment: the parameters of a `deploy-stage` run.

    Everything the stage renders is pinned here by commit: the code repository's (`source`, where
    `fluxgate.yaml` and the templates are) and each config repository's the environment reads
    (`configs`, pinned when the stage is created). A retry, a promotion days later or a rollback
    renders the same bytes; nothing on the worker's disk is read but fluxgate's git cache.
    """

    app: str
    version: str
    env: str
    images: dict[str, str] = Field(description="component -> full image reference")
    source: Source = Field(description="the code repository and commit the release was built from")
    configs: dict[str, str] = Field(
        default_factory=dict, description="config repository -> the commit this environment renders"
    )
    force: bool = Field(False, description="deploy again even when the environment already runs it")
    rollback_from: str | None = Field(
        default=None, description="a rollback: the version this stage takes back (its PR says so)"
    )

    @field_validator("configs")
    @classmethod
    def _commits(cls, value: dict[str, str]) -> dict[str, str]:
        for repo, commit in value.items():
            if not is_repo(repo):
                raise ValueError(f"configs: {repo!r} is not a repository (owner/name)")
            if not is_commit(commit):
                raise ValueError(f"configs[{repo}]: {commit!r} is not a full commit sha")
        return value

    @classmethod
    def of(
        cls, release: Release, env: str, force: bool = False, configs: dict[str, str] | None = None
    ) -> StageRequest:
        if release.source is None:
            raise ValueError(f"{release.name} names no source commit")  # a bug, not a user error
        return cls(
            app=release.app,
            version=release.version,
            env=env,
            images=release.images,
            source=release.source,
            configs=configs or {},
            force=force,
        )

    @property
    def release(self) -> Release:
        return Release(app=self.app, version=self.version, images=self.images, source=self.source)

    @property
    def label(self) -> str:
        """The release as people call it: `shop@1.4.2`, and the config commit when a config
        repository is pinned (the same version with new config is a new release)."""
        if not self.configs:
            return f"{self.app}@{self.version}"
        shorts = ",".join(commit[:7] for _repo, commit in sorted(self.configs.items()))
        return f"{self.app}@{self.version} (config {shorts})"

    def same_release(self, other: StageRequest) -> bool:
        """Whether `other` delivers exactly this: version, images, code commit and config commits."""
        return (
            self.version == other.version
            and self.images == other.images
            and self.source.commit == other.source.commit
            and self.configs == other.configs
        )

    def sources(self) -> list[str]:
        """Where every rendered byte comes from, one line each (PR body, artifact, status)."""
        lines = [f"code {self.source.repo}@{self.source.commit} ({self.source.path})"]
        lines += [f"config {repo}@{commit}" for repo, commit in sorted(self.configs.items())]
        if self.source.digest:
            lines.append(f"templates {self.source.digest}")
        return lines

    @property
    def run_name(self) -> str:
        name = f"{self.label} -> {self.env}"
        return f"{name} (rollback from {self.rollback_from})" if self.rollback_from else name

    def to(self, env: str) -> StageRequest:
        """The same release, promoted to `env`: the same code commit; `env` pins its own config."""
        return self.model_copy(update={"env": env, "force": False, "rollback_from": None, "configs": {}})
