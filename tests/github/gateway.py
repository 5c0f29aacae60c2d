"""Helpers for gateway tests: a gateway pointed at the session's emulated GitHub, and rendered files."""

from __future__ import annotations

from pathlib import Path

from fluxgate.github import GitHubGateway, GitHubSettings
from fluxgate.sandbox.github import RunningEmulator
from tests.github.conftest import TOKEN


def gateway(github: RunningEmulator, cache: Path, token: str = TOKEN, **settings: object) -> GitHubGateway:
    """No write throttling and quick backoff: the tests count calls, they don't need GitHub's pacing."""
    options: dict[str, object] = {"min_write_interval": 0, "backoff": 0.01, "retries": 3}
    options.update(settings)
    return GitHubGateway(GitHubSettings(api_url=github.url, token=token, **options), cache=cache)  # type: ignore[arg-type]


def manifests(count: int, env: str = "dev", version: str = "1.0.0") -> dict[str, bytes]:
    return {
        f"{env}/shop/configmap-item-{i:04d}.yaml": (
            f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: item-{i:04d}\ndata:\n  version: {version}\n"
        ).encode()
        for i in range(count)
    }


def rest_calls(records: list) -> list[str]:  # type: ignore[type-arg]
    """REST API calls only (git's own fetch traffic is not an API call)."""
    return [f"{r.method} {r.route}" for r in records if not r.route.endswith(".git/{rest}")]
