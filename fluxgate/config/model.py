"""The pipeline configuration (`fluxgate.yaml`) as validated pydantic models.

It lives in the code repository beside the templates it points at. Every relative path in it is
relative to the file's own folder; `PipelineConfig.root` resolves them.
"""

from __future__ import annotations

import re
import subprocess
from datetime import timedelta
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from fluxgate.config.checks import Check, WorkflowCheck
from fluxgate.config.fields import DNS_LABEL, REPO_SLUG, Duration, LocatedError, parse_duration
from fluxgate.config.fields import StrictModel as _Model
from fluxgate.errors import ConfigError

__all__ = [
    "Approval",
    "Cluster",
    "Component",
    "ConfigSource",
    "Environment",
    "KubernetesSettings",
    "LocatedError",
    "ManifestsRepo",
    "PipelineConfig",
    "Templates",
    "parse_duration",
]

def _relative_path(value: str) -> str:
    """A path inside the repository: relative, no `..`, so nothing can point outside it."""
    posix = PurePosixPath(value)
    if posix.is_absolute() or ".." in posix.parts:
        raise ValueError(f"{value!r} must be a relative path inside the repository (no '..')")
    return str(posix)


RelPath = Annotated[str, BeforeValidator(lambda v: _relative_path(v) if isinstance(v, str) else v)]


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class Component(_Model):
    """A buildable part of the app: where its source lives and which image it becomes."""

    paths: Annotated[list[RelPath], BeforeValidator(_as_list), Field(min_length=1, alias="path")]
    image: str = Field(description="image repository without tag, e.g. ghcr.io/acme/web")
    dockerfile: RelPath | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("image")
    @classmethod
    def _no_tag(cls, value: str) -> str:
        last = value.rsplit("/", 1)[-1]
        if "@" in value or ":" in last:
            raise ValueError(f"{value!r} must be a repository without tag or digest")
        return value

    @property
    def dockerfile_path(self) -> str:
        return self.dockerfile or f"{self.paths[0]}/Dockerfile"


TemplateArg = Literal["app", "version", "env", "images", "values"]


class Templates(_Model):
    """How the generic manifests are produced before environment overlays are applied."""

    engine: Literal["jsonnet", "yaml", "kustomize", "helm"]
    path: RelPath
    library_paths: list[RelPath] = Field(default_factory=list)
    tlas: list[TemplateArg] = Field(default_factory=list)
    release_name: str | None = None


class ManifestsRepo(_Model):
    """The repository Flux reconciles, and how rendered objects are laid out in it."""

    repo: Annotated[str, Field(pattern=REPO_SLUG)]
    branch: str = "main"
    layout: str = "{namespace}/{kind}-{name}.yaml"
    hld: RelPath | None = None

    @field_validator("layout")
    @classmethod
    def _layout_fields(cls, value: str) -> str:
        fields = set(re.findall(r"{(\w+)}", value))
        unknown = fields - {"namespace", "kind", "name", "group"}
        if unknown:
            raise ValueError(f"unknown placeholder {{{sorted(unknown)[0]}}} in layout")
        if not {"kind", "name"} <= fields:
            raise ValueError("layout must contain {kind} and {name} so every object gets its own file")
        _relative_path(value)
        return value


class Cluster(_Model):
    """A cluster of an environment and the Flux objects whose health gates the stage."""

    name: Annotated[str, Field(pattern=DNS_LABEL)]
    kustomizations: list[str] = Field(default_factory=list)
    helm_releases: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _watches_something(self) -> Cluster:
        if not self.kustomizations and not self.helm_releases:
            raise ValueError("name at least one Flux Kustomization or HelmRelease to watch")
        return self


class ConfigSource(_Model):
    """Where an environment's values and overlay snippets live: the code repo or a config repo."""

    repo: Annotated[str | None, Field(pattern=REPO_SLUG)] = None
    ref: str | None = None
    path: RelPath
    values: RelPath = "values.yaml"
    overlays: RelPath = "overlays"


class Approval(_Model):
    """Whether the manifests PR merges itself once checks pass, or waits for a review."""

    mode: Literal["auto", "review"] = "review"
    reviewers: list[str] = Field(default_factory=list)
    team_reviewers: list[str] = Field(default_factory=list)
    merge_method: Literal["merge", "squash", "rebase"] = "merge"


def _approval_shorthand(value: Any) -> Any:
    return {"mode": value} if isinstance(value, str) else value


class Environment(_Model):
    """One stage of the promotion order, with everything needed to render and gate it."""

    name: Annotated[str, Field(pattern=DNS_LABEL)]
    folder: RelPath | None = None
    branch: str | None = None
    namespace: Annotated[str | None, Field(pattern=DNS_LABEL)] = None
    clusters: Annotated[list[Cluster], Field(min_length=1)]
    config: ConfigSource | None = None
    approval: Annotated[Approval, BeforeValidator(_approval_shorthand)] = Approval()
    verification: list[Check] = Field(default_factory=list)
    flux_timeout: Duration = Field(
        default=timedelta(minutes=30), description="how long a stage waits for Flux before it fails"
    )
    soak: Duration = timedelta(0)
    auto_promote: bool = True
    rollback_on_failure: bool = Field(
        default=False,
        description="when Flux or verification fails here, open the PR that restores the last verified "
        "release, and hold automatic promotion into this environment until `fluxgate release-hold`",
    )
    repository_dispatch: bool = Field(
        default=False,
        description="send fluxgate.sync-succeeded / fluxgate.sync-failed to code_repo when Flux finishes",
    )

    @property
    def manifests_folder(self) -> str:
        return self.folder if self.folder is not None else self.name

    @model_validator(mode="after")
    def _unique_clusters(self) -> Environment:
        names = [c.name for c in self.clusters]
        dup = next((n for n in names if names.count(n) > 1), None)
        if dup:
            raise ValueError(f"cluster {dup!r} is listed twice")
        return self


class Triggers(_Model):
    """What in the code repo (`code_repo`) starts a release's first stage, through the connector."""

    workflow: str | None = Field(
        default=None,
        description="CI workflow (its name, or file name such as ci.yml) whose successful run on "
        "`branch` releases that commit; images are tagged with the short commit sha",
    )
    branch: str = "main"
    release: bool = Field(default=False, description="a published GitHub Release releases its tag")
    dispatch: bool = Field(
        default=True, description="repository_dispatch `fluxgate.deploy` with version and images"
    )


class KubernetesSettings(_Model):
    """Which Kubernetes API the rendered objects are validated against."""

    version: str | None = Field(default=None, description="e.g. '1.31'; default: newest known")
    strict: bool = Field(default=True, description="reject fields the schema does not know")
    missing_schemas: Literal["skip", "error"] = "skip"
    schema_dirs: list[RelPath] = Field(default_factory=list)


class PipelineConfig(_Model):
    """`fluxgate.yaml`: the app, its components, templates, manifests repo and environments."""

    app: Annotated[str, Field(pattern=DNS_LABEL)]
    components: Annotated[dict[str, Component], Field(min_length=1)]
    templates: Templates
    manifests: ManifestsRepo
    kubernetes: KubernetesSettings = KubernetesSettings()
    environments: Annotated[list[Environment], Field(min_length=1)]
    code_repo: Annotated[str | None, Field(pattern=REPO_SLUG)] = None  # where repository_dispatch goes
    triggers: Triggers = Triggers()

    _file: Path = PrivateAttr(default=Path("fluxgate.yaml"))
    _repo_root: Path | None = PrivateAttr(default=None)

    @field_validator("components")
    @classmethod
    def _component_names(cls, value: dict[str, Component]) -> dict[str, Component]:
        for name in value:
            if not re.match(DNS_LABEL, name):
                raise ValueError(f"component name {name!r} must be lower-case letters, digits, '-'")
        return value

    @model_validator(mode="before")
    @classmethod
    def _workflow_repo_defaults_to_code_repo(cls, data: Any) -> Any:
        """A workflow check without `repo` runs in code_repo: filled in before the checks validate."""
        code_repo = data.get("code_repo") if isinstance(data, dict) else None
        if not isinstance(code_repo, str) or not re.match(REPO_SLUG, code_repo):
            return data

        def filled(check: Any) -> Any:
            spec = check.get("workflow") if isinstance(check, dict) else None
            if isinstance(spec, dict) and spec.get("repo") is None:
                return {**check, "workflow": {**spec, "repo": code_repo}}
            return check

        environments = data.get("environments")
        if not isinstance(environments, list):
            return data
        return {
            **data,
            "environments": [
                {**env, "verification": [filled(c) for c in env["verification"]]}
                if isinstance(env, dict) and isinstance(env.get("verification"), list)
                else env
                for env in environments
            ],
        }

    @model_validator(mode="after")
    def _unique_environments(self) -> PipelineConfig:
        names: set[str] = set()
        seen: dict[tuple[str, str], str] = {}
        for index, env in enumerate(self.environments):
            if env.name in names:
                raise LocatedError(
                    f"environment {env.name!r} is defined twice", ("environments", index, "name")
                )
            names.add(env.name)
            target = (env.branch or self.manifests.branch, env.manifests_folder)
            if target in seen:
                field = "folder" if env.folder is not None else "name"
                raise LocatedError(
                    f"environments {seen[target]!r} and {env.name!r} write to the same folder "
                    f"{target[1]!r} of branch {target[0]!r}",
                    ("environments", index, field),
                )
            seen[target] = env.name
            for number, check in enumerate(env.verification):
                if isinstance(check, WorkflowCheck) and check.workflow.repo is None:
                    raise LocatedError(
                        f"workflow check {check.label!r} needs workflow.repo, or code_repo to be set",
                        ("environments", index, "verification", number, "workflow"),
                    )
            if env.repository_dispatch and self.code_repo is None:
                raise LocatedError(
                    f"environment {env.name!r} asks for repository_dispatch but code_repo is not set",
                    ("environments", index, "repository_dispatch"),
                )
        if (self.triggers.workflow or self.triggers.release) and self.code_repo is None:
            field = "workflow" if self.triggers.workflow else "release"
            raise LocatedError("triggers from the code repo need code_repo to be set", ("triggers", field))
        return self

    @property
    def file(self) -> Path:
        return self._file

    @property
    def root(self) -> Path:
        """The folder every relative path of the config is relative to."""
        return self._file.parent

    @property
    def repo_root(self) -> Path:
        """The repository the config is in (its git work tree, or the fetched commit's tree): what
        templates may read, a shared library beside the app's folder included, and nothing else."""
        if self._repo_root is None:
            try:
                top = subprocess.run(
                    ["git", "-C", str(self.root), "rev-parse", "--show-toplevel"],
                    capture_output=True, text=True, timeout=30, check=True,
                ).stdout.strip()  # fmt: skip
            except (OSError, subprocess.SubprocessError):
                top = ""
            self._repo_root = Path(top) if top else self.root
        return self._repo_root

    def within(self, repo_root: Path) -> PipelineConfig:
        """This config, read from a tree whose root is `repo_root` (a fetched commit)."""
        self._repo_root = repo_root
        return self

    def environment(self, name: str) -> Environment:
        for env in self.environments:
            if env.name == name:
                return env
        known = ", ".join(e.name for e in self.environments)
        raise ConfigError(f"unknown environment {name!r}: {self._file.name} defines {known}")

    def next_environment(self, name: str) -> Environment | None:
        """The environment promoted to after `name`, or None for the last one."""
        names = [e.name for e in self.environments]
        index = names.index(self.environment(name).name)
        return self.environments[index + 1] if index + 1 < len(names) else None

    def branch_of(self, env: Environment) -> str:
        return env.branch or self.manifests.branch
