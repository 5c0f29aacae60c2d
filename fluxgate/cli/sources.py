"""Where the CLI reads a release's sources: GitHub, at a commit, through the same gateway and git
cache the stage flow uses, so `fluxgate render --ref` produces the bytes a stage produced."""

from __future__ import annotations

import tempfile
from pathlib import Path

from fluxgate.errors import SettingsError
from fluxgate.github import GitHubGateway, settings_from_environment

__all__ = ["source_gateway"]


def source_gateway(why: str) -> GitHubGateway:
    """A gateway from `FLUXGATE_GITHUB__*`; `why` completes the one-line error when none is set."""
    settings = settings_from_environment()
    if settings is None:
        raise SettingsError(
            f"{why} reads fluxgate.yaml and the templates from GitHub at a commit: set "
            "FLUXGATE_GITHUB__TOKEN (read access to the code and config repositories is enough)"
        )
    return GitHubGateway(settings, cache=Path(tempfile.gettempdir()) / "fluxgate-git")
