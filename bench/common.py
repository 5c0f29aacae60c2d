"""What the connector benchmarks share: the emulated GitHub and a real `fluxgate connector`, each in its
own process, and signed Flux events like an Alert's.

Imported by the scripts next to it (`python bench/x.py` puts this folder on the import path).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from fluxgate.connector.signatures import flux_signature
from fluxgate.sandbox.github import free_port
from fluxgate.sandbox.serving import wait_until_up

ROOT = Path(__file__).resolve().parents[1]
FLUXGATE = Path(sys.executable).parent / "fluxgate"
KEY = "bench-flux-key"
TOKEN = "ghp_bench"
REPO = "acme/shop-manifests"
# The example app: environments dev (cluster dev-eu), staging (staging-eu) and prod (prod-eu, prod-us).
CONFIG = ROOT / "examples/shop/fluxgate.yaml"


def flux_event(
    name: str,
    sha: str,
    env: str = "dev",
    cluster: str = "dev-eu",
    reason: str = "Progressing",
    message: str | None = None,
) -> bytes:
    """A Kustomization's event as notification-controller posts it, labelled with env and cluster like an
    Alert's eventMetadata. The default message is a change set, so it also moves the env's Deployment."""
    return json.dumps(
        {
            "involvedObject": {
                "kind": "Kustomization",
                "namespace": "flux-system",
                "name": name,
                "uid": f"uid-{name}",
                "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            },
            "severity": "info",
            "timestamp": "2026-01-01T10:00:00Z",
            "reason": reason,
            "message": message if message is not None else f"Deployment/shop-{env}/{name} configured",
            "metadata": {"revision": f"main@sha1:{sha}", "env": env, "cluster": cluster},
            "reportingController": "kustomize-controller",
            "reportingInstance": "kustomize-controller-0",
        }
    ).encode()


def signed(body: bytes) -> dict[str, str]:
    """Headers of a Flux event posted with the generic-hmac provider."""
    return {"Content-Type": "application/json", "X-Signature": flux_signature(body, KEY)}


def start_github(data: Path, latency: float = 0.0) -> tuple[subprocess.Popen[Any], str]:
    """`fluxgate sandbox github` with the bench's token and repository, keeping answered JSON in its request
    log (`/_sandbox/requests`), at a lower CPU priority: it stands in for a remote GitHub, whose CPU is not
    the connector's. Returns the process and its URL, once it answers."""
    port = free_port()
    github = subprocess.Popen(
        [str(FLUXGATE), "sandbox", "github", "--data", str(data), "--port", str(port), "--token",
         f"bot={TOKEN}", "--repo", REPO, "--latency", str(latency), "--record-bodies"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=lambda: os.nice(10),
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    _up(f"{url}/_sandbox/requests", github, "the GitHub emulator")
    return github, url


def connector_command(config: Path, data: Path, port: int) -> list[str]:
    return [str(FLUXGATE), "connector", "--config", str(config), "--data", str(data), "--host", "127.0.0.1",
            "--port", str(port)]  # fmt: skip


def connector_env(github_url: str, workers: int, database_url: str | None = None) -> dict[str, str]:
    """The connector's settings; `database_url` sets its store (FLUXGATE_DATABASE_URL), else the
    environment's is kept (none: SQLite under the data dir)."""
    store = {"FLUXGATE_DATABASE_URL": database_url} if database_url else {}
    return {
        **os.environ,
        **store,
        "FLUXGATE_GITHUB__API_URL": github_url,
        "FLUXGATE_GITHUB__TOKEN": TOKEN,
        "FLUXGATE_GITHUB__MIN_WRITE_INTERVAL": "0",
        "FLUXGATE_FLUX_HMAC_KEY": KEY,
        "FLUXGATE_WEBHOOK_SECRET": "bench-webhook-secret",  # none are sent; the connector wants one
        "FLUXGATE_WORKERS": str(workers),
    }


def start_connector(
    config: Path,
    data: Path,
    port: int,
    github_url: str,
    workers: int,
    database_url: str | None = None,
    **popen: Any,
) -> subprocess.Popen[Any]:
    """A real `fluxgate connector` (HTTP process plus its processing child) on `data`, its store at
    `database_url` if given; returns once it is up. `popen` options go to subprocess.Popen (output is
    discarded unless they say otherwise)."""
    options: dict[str, Any] = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, **popen}
    connector = subprocess.Popen(
        connector_command(config, data, port), env=connector_env(github_url, workers, database_url), **options
    )
    _up(f"http://127.0.0.1:{port}/healthz", connector, "the connector")
    return connector


def _up(url: str, process: subprocess.Popen[Any], what: str) -> None:
    try:
        wait_until_up(url, process, what, timeout=60)
    except BaseException:
        process.kill()
        process.wait()
        raise
