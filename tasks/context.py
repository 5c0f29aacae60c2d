"""What every stage task needs: the sources it renders, the manifests target and a GitHub gateway
(from blocks)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from blocks import github_settings, manifests_block
from fluxgate.config import PipelineConfig
from fluxgate.github import GitHubGateway
from fluxgate.stage import StageRequest, StageSources, load_sources

__all__ = ["config_of", "gateway", "manifests_target", "sources_of"]


def sources_of(request: StageRequest) -> StageSources:
    """The config and config repositories at the request's commits (fetched once per machine)."""
    return load_sources(gateway(), request)


def config_of(request: StageRequest) -> PipelineConfig:
    return sources_of(request).config


def manifests_target(config: PipelineConfig) -> tuple[str, str]:
    """(repo, branch) Flux applies: the block's override, else `fluxgate.yaml`'s."""
    block = manifests_block()
    repo = (block.repo if block else None) or config.manifests.repo
    branch = (block.branch if block else None) or config.manifests.branch
    return repo, branch


def gateway() -> GitHubGateway:
    return GitHubGateway(github_settings(), cache=Path(tempfile.gettempdir()) / "fluxgate-git")
