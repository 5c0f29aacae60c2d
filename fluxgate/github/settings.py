"""How fluxgate reaches GitHub: where (github.com or an Enterprise Server), as whom (a token or a
GitHub App installation), and how patiently (timeouts, retries, rate-limit waits)."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from fluxgate.errors import SettingsError

__all__ = ["GitHubSettings", "settings_from_environment"]


class GitHubSettings(BaseModel):
    """Connection settings; secrets are `SecretStr`: printing or logging settings shows `**********`."""

    api_url: str = Field("https://api.github.com", description="REST base URL; GHES: https://HOST/api/v3")
    git_url: str | None = Field(None, description="Base for clone URLs; default derived from api_url")
    token: SecretStr | None = Field(None, description="Personal or fine-grained access token")
    app_id: int | None = Field(None, description="GitHub App id (with private_key and installation_id)")
    private_key: SecretStr | None = Field(None, description="GitHub App private key, PEM")
    installation_id: int | None = None
    timeout: int = Field(15, ge=1, description="Seconds per HTTP request")
    retries: int = Field(5, ge=0, description="Retries of 5xx, 429 and secondary rate limits")
    backoff: float = Field(1.0, ge=0, description="Exponential backoff factor, seconds")
    max_wait: float = Field(
        120.0,
        ge=0,
        description="Longest Retry-After or rate-limit reset to sleep through; longer: RetryableError",
    )
    min_write_interval: float = Field(1.0, ge=0, description="GitHub asks for 1 s between mutating requests")
    min_request_interval: float = Field(0.0, ge=0)
    committer_name: str = "fluxgate"
    committer_email: str = "fluxgate@users.noreply.github.com"

    @model_validator(mode="after")
    def _one_identity(self) -> Self:
        app_fields = [self.app_id, self.private_key, self.installation_id]
        if self.token is not None and any(f is not None for f in app_fields):
            raise ValueError("set either token or app_id/private_key/installation_id, not both")
        if self.token is None and not all(f is not None for f in app_fields):
            raise ValueError("set token, or all of app_id, private_key and installation_id")
        return self

    @property
    def identity(self) -> str:
        """Who fluxgate acts as, without the secret: `token` or `GitHub App 123 (installation 45)`."""
        if self.token is not None:
            return "token"
        return f"GitHub App {self.app_id} (installation {self.installation_id})"

    @property
    def web_url(self) -> str:
        """Where `git clone` goes: github.com for the public API, the GHES host for /api/v3."""
        if self.git_url:
            return self.git_url.rstrip("/")
        api = self.api_url.rstrip("/")
        if api == "https://api.github.com":
            return "https://github.com"
        return api.removesuffix("/api/v3")


class _FromEnvironment(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FLUXGATE_", env_nested_delimiter="__", extra="ignore")

    github: GitHubSettings | None = None


def settings_from_environment() -> GitHubSettings | None:
    """GitHub access from `FLUXGATE_GITHUB__*` variables, or None when none is set.

    Raises:
        SettingsError: a variable is set but invalid (one line naming it).
    """
    try:
        return _FromEnvironment().github
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise SettingsError(f"FLUXGATE_GITHUB__{field.upper()}: {first['msg']}") from None
