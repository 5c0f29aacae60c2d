"""GitHub credentials for the stage flow: a token, or a GitHub App (id, private key, installation)."""

from __future__ import annotations

from pathlib import Path

from prefect.blocks.core import Block
from pydantic import Field, SecretStr

from fluxgate.github import GitHubGateway, GitHubSettings

__all__ = ["GitHubCredentials"]


class GitHubCredentials(Block):
    """How fluxgate reaches GitHub (or GitHub Enterprise Server). Secrets are stored encrypted by
    Prefect and shown as `**********`; note that anyone with access to the Prefect API can read
    them back, so protect the server (`PREFECT_SERVER_API_AUTH_STRING`)."""

    _block_type_name = "fluxgate GitHub credentials"
    _block_type_slug = "fluxgate-github-credentials"
    _description = "A token or a GitHub App installation that can open PRs and post statuses."

    api_url: str = Field("https://api.github.com", description="REST base URL; GHES: https://HOST/api/v3")
    token: SecretStr | None = Field(None, description="Fine-grained or classic token")
    app_id: int | None = Field(None, description="GitHub App id, with private_key and installation_id")
    private_key: SecretStr | None = Field(None, description="GitHub App private key (PEM)")
    installation_id: int | None = Field(None, description="The App's installation on the org")
    min_write_interval: float = Field(1.0, ge=0, description="Seconds between mutating requests")

    def settings(self) -> GitHubSettings:
        return GitHubSettings.model_validate(
            {
                "api_url": self.api_url,
                "token": self.token,
                "app_id": self.app_id,
                "private_key": self.private_key,
                "installation_id": self.installation_id,
                "min_write_interval": self.min_write_interval,
            }
        )

    def get_client(self, cache: Path | None = None) -> GitHubGateway:
        return GitHubGateway(self.settings(), cache=cache)
