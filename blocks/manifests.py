"""The manifests repository the stage flow proposes changes to, and the credentials it uses."""

from __future__ import annotations

from prefect.blocks.core import Block
from pydantic import Field

from blocks.github import GitHubCredentials

__all__ = ["ManifestsRepository"]


class ManifestsRepository(Block):
    """Where rendered manifests go. `repo` and `branch` override `fluxgate.yaml` (a staging copy of
    the manifests repo, say); leave them empty to use the config's."""

    _block_type_name = "fluxgate manifests repository"
    _block_type_slug = "fluxgate-manifests-repository"
    _description = "The GitOps repository Flux applies, and the GitHub credentials for it."

    github: GitHubCredentials
    repo: str | None = Field(None, description="owner/name; default: manifests.repo of fluxgate.yaml")
    branch: str | None = Field(None, description="default: manifests.branch of fluxgate.yaml")
