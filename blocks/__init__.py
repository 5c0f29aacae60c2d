"""Prefect blocks: GitHub credentials, manifests repository and connector settings.

Registered with `prefect block register -m blocks`; flows and the CLI load them by name
(`fluxgate-manifests`), and fall back to `FLUXGATE_GITHUB__*` environment variables.
"""

from blocks.connector import ConnectorSettings
from blocks.github import GitHubCredentials
from blocks.load import MANIFESTS_BLOCK, github_settings, manifests_block
from blocks.manifests import ManifestsRepository

__all__ = [
    "MANIFESTS_BLOCK",
    "ConnectorSettings",
    "GitHubCredentials",
    "ManifestsRepository",
    "github_settings",
    "manifests_block",
]
