"""Where the connector listens and the keys its senders sign with (for setup helpers and docs)."""

from __future__ import annotations

from prefect.blocks.core import Block
from pydantic import Field, SecretStr

__all__ = ["ConnectorSettings"]


class ConnectorSettings(Block):
    """The connector's public URL and its webhook keys: the GitHub webhook secret and the Flux
    `generic-hmac` Provider's token. Flows use the URL for links; setup uses the keys."""

    _block_type_name = "fluxgate connector settings"
    _block_type_slug = "fluxgate-connector-settings"
    _description = "The fluxgate connector: URL and webhook keys."

    url: str = Field(description="e.g. https://fluxgate.example.com")
    webhook_secret: SecretStr | None = Field(None, description="GitHub webhook secret")
    flux_hmac_key: SecretStr | None = Field(None, description="Flux generic-hmac Provider token")
