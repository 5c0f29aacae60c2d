"""Prefect blocks: GitHub credentials, manifests repository, container registry and connector settings.

Registered with `prefect block register -m blocks`; flows and the CLI load them by name
(`fluxgate-manifests`, `fluxgate-registry`), and fall back to `FLUXGATE_GITHUB__*` environment variables.
"""

from blocks.connector import ConnectorSettings
from blocks.github import GitHubCredentials
from blocks.load import (
    MANIFESTS_BLOCK,
    REGISTRY_BLOCK,
    github_settings,
    manifests_block,
    registry_credentials,
)
from blocks.manifests import ManifestsRepository
from blocks.registry import ContainerRegistry

__all__ = [
    "MANIFESTS_BLOCK",
    "REGISTRY_BLOCK",
    "ConnectorSettings",
    "ContainerRegistry",
    "GitHubCredentials",
    "ManifestsRepository",
    "github_settings",
    "manifests_block",
    "registry_credentials",
]
