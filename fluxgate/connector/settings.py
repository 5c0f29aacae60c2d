"""Connector settings, from `FLUXGATE_*` environment variables (secrets never go on a command line).

`FLUXGATE_FLUX_HMAC_KEY` and `FLUXGATE_WEBHOOK_SECRET` are required: the connector is on the
internet, and without them anyone could post events. `FLUXGATE_INSECURE=true` (`--insecure`) lets
it run without them, loudly. GitHub access uses the gateway's settings under `FLUXGATE_GITHUB__*`
(e.g. `FLUXGATE_GITHUB__TOKEN`, `FLUXGATE_GITHUB__API_URL`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from fluxgate.connector.budget import GITHUB_LIMITS, parse_limits
from fluxgate.errors import SettingsError
from fluxgate.github import GitHubSettings

__all__ = ["ConnectorSettings"]


class ConnectorSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FLUXGATE_", env_nested_delimiter="__", extra="ignore")

    data_dir: Path = Field(Path(".fluxgate/connector"), description="Holds the SQLite store by default")
    database_url: str | None = Field(None, description="SQLAlchemy URL; PostgreSQL for several replicas")
    configs: list[Path] = Field(default_factory=list, description="fluxgate.yaml files of the apps served")
    flux_hmac_key: SecretStr | None = Field(None, description="generic-hmac provider token; required")
    webhook_secret: SecretStr | None = Field(None, description="GitHub webhook secret; required")
    insecure: bool = Field(False, description="Run without the keys above: accept unsigned deliveries")
    github: GitHubSettings | None = None
    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    workers: int = Field(8, ge=1, le=64, description="Parallel GitHub calls while processing")
    batch: int = Field(64, ge=1)
    max_attempts: int = Field(10, ge=1, description="Then a delivery is parked as failed (listed, kept)")
    backoff: float = Field(1.0, ge=0, description="First retry delay; doubles per attempt, capped at 5 min")
    poll_interval: float = Field(0.05, gt=0)
    lease: float = Field(120.0, gt=0, description="A crashed worker's claims come back after this")
    heartbeat: float = Field(5.0, gt=0, description="How often a replica says it is alive (the store)")
    orphan_after: float = Field(
        30.0,
        gt=0,
        description="A replica silent this long is dead: its claims go to the others now, not after the "
        "lease (keep it well above `heartbeat` and above the longest pause of a live replica)",
    )
    resume_interval: float = Field(
        2.0,
        gt=0,
        description="How often paused stage runs are matched with kept facts (needs PREFECT_API_URL)",
    )
    watchdog_after: float = Field(
        300.0,
        gt=0,
        description="A stage paused this long is checked directly (cluster API or GitHub), then again "
        "every as many seconds: Flux never re-sends a lost event",
    )
    supervise_backoff: float = Field(
        0.2, gt=0, description="First delay before restarting a processing process that died; doubles"
    )
    start_wait: float = Field(
        15.0, ge=0, description="At start, how long acknowledging waits for processing to run"
    )
    github_write_limits: Annotated[tuple[tuple[int, float], ...], NoDecode] = Field(
        GITHUB_LIMITS,
        description="Content-creating writes allowed per credential, WRITES/SECONDS windows "
        "(`80/60,500/3600`: GitHub's documented secondary limits); every replica shares them",
    )
    writers: int = Field(4, ge=1, le=32, description="Threads making GitHub writes from the outbox")
    write_settle: float = Field(
        1.0, ge=0, description="A write waits until its target is quiet this long (newer states replace it)"
    )
    write_max_hold: float = Field(10.0, ge=0, description="…but is sent this long after it was first wanted")
    kubeconfig: Path | None = Field(
        None, description="Contexts named like the clusters let the watchdog read Flux objects directly"
    )

    @field_validator("github_write_limits", mode="before")
    @classmethod
    def _limits(cls, value: object) -> object:
        return parse_limits(value) if isinstance(value, str) else value

    def missing_keys(self) -> list[str]:
        """The signature settings that are not set (the connector refuses to start without them)."""
        missing = []
        if self.flux_hmac_key is None or not self.flux_hmac_key.get_secret_value():
            missing.append("FLUXGATE_FLUX_HMAC_KEY")
        if self.webhook_secret is None or not self.webhook_secret.get_secret_value():
            missing.append("FLUXGATE_WEBHOOK_SECRET")
        return missing

    def check_keys(self) -> None:
        """SettingsError naming the missing keys, unless `insecure`: the connector fails closed."""
        missing = self.missing_keys()
        if missing and not self.insecure:
            raise SettingsError(
                f"{' and '.join(missing)} not set: anyone could post events and webhooks; set "
                f"{'them' if len(missing) > 1 else 'it'}, or pass --insecure to accept unsigned deliveries"
            )
