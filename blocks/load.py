"""Loading blocks by name, with environment variables as the quick-start fallback.

`fluxgate-manifests` (a ManifestsRepository) is looked up first; without it, GitHub access comes
from `FLUXGATE_GITHUB__*` variables (as for the connector). Neither: one line saying how to set
either up. `fluxgate-registry` (a ContainerRegistry) is optional: without it CI pushes with the
Docker engine's own login.
"""

from __future__ import annotations

from blocks.manifests import ManifestsRepository
from blocks.registry import ContainerRegistry
from fluxgate.ci import RegistryCredentials
from fluxgate.errors import SettingsError
from fluxgate.github import GitHubSettings, settings_from_environment

__all__ = ["MANIFESTS_BLOCK", "REGISTRY_BLOCK", "github_settings", "manifests_block", "registry_credentials"]

MANIFESTS_BLOCK = "fluxgate-manifests"
REGISTRY_BLOCK = "fluxgate-registry"


def manifests_block(name: str = MANIFESTS_BLOCK) -> ManifestsRepository | None:
    try:
        block = ManifestsRepository.load(name)
    except ValueError:  # Prefect's way of saying "no block document with that name"
        return None
    assert isinstance(block, ManifestsRepository)
    return block


def registry_credentials(name: str = REGISTRY_BLOCK) -> list[RegistryCredentials]:
    """The registry login of the `name` block, or none (the engine's own login) without one."""
    try:
        block = ContainerRegistry.load(name)
    except ValueError:  # no block document with that name
        return []
    assert isinstance(block, ContainerRegistry)
    return [block.credentials()]


def github_settings(block_name: str = MANIFESTS_BLOCK) -> GitHubSettings:
    block = manifests_block(block_name)
    if block is not None:
        return block.github.settings()
    found = settings_from_environment()
    if found is None:
        raise SettingsError(
            f"no GitHub credentials: create the {block_name!r} block (`prefect block register -m blocks`, "
            "then a 'fluxgate manifests repository' block in the UI) or set FLUXGATE_GITHUB__TOKEN"
        )
    return found
