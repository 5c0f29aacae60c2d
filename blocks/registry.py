"""Who pushes CI's images to a container registry: a host, a user and a password or token."""

from __future__ import annotations

from prefect.blocks.core import Block
from pydantic import Field, SecretStr

from fluxgate.ci import RegistryCredentials

__all__ = ["ContainerRegistry"]


class ContainerRegistry(Block):
    """The registry the CI flow pushes to, and the login it uses. The password is stored encrypted
    by Prefect and shown as `**********`; anyone with access to the Prefect API can read it back."""

    _block_type_name = "fluxgate container registry"
    _block_type_slug = "fluxgate-container-registry"
    _description = "A container registry login for the CI flow's image pushes."

    registry: str = Field(description="registry host, e.g. ghcr.io, docker.io or localhost:5000")
    username: str = Field(description="user (or the token's owner) that may push")
    password: SecretStr = Field(description="password or access token")

    def credentials(self) -> RegistryCredentials:
        return RegistryCredentials(registry=self.registry, username=self.username, password=self.password)
