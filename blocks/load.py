"""Loading blocks by name, with environment variables as the quick-start fallback.

`fluxgate-manifests` (a ManifestsRepository) is looked up first; without it, GitHub access comes
from `FLUXGATE_GITHUB__*` variables (as for the connector). Neither: one line saying how to set
either up.
"""

from __future__ import annotations

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from blocks.manifests import ManifestsRepository
from fluxgate.errors import ConfigError
from fluxgate.github import GitHubSettings

__all__ = ["MANIFESTS_BLOCK", "github_settings", "manifests_block"]

MANIFESTS_BLOCK = "fluxgate-manifests"


class _FromEnvironment(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FLUXGATE_", env_nested_delimiter="__", extra="ignore")

    github: GitHubSettings | None = None


def manifests_block(name: str = MANIFESTS_BLOCK) -> ManifestsRepository | None:
    try:
        block = ManifestsRepository.load(name)
    except ValueError:  # Prefect's way of saying "no block document with that name"
        return None
    assert isinstance(block, ManifestsRepository)
    return block


def github_settings(block_name: str = MANIFESTS_BLOCK) -> GitHubSettings:
    block = manifests_block(block_name)
    if block is not None:
        return block.github.settings()
    try:
        found = _FromEnvironment().github
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"FLUXGATE_GITHUB__{field.upper()}: {first['msg']}") from None
    if found is None:
        raise ConfigError(
            f"no GitHub credentials: create the {block_name!r} block (`prefect block register -m blocks`, "
            "then a 'fluxgate manifests repository' block in the UI) or set FLUXGATE_GITHUB__TOKEN"
        )
    return found
