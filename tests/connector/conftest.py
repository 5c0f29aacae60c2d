"""The connector as a real process (`fluxgate connector`), talking to the emulated GitHub over HTTP.

Each test gets its own manifests repository and its own connector (data folder, port, keys), so
deliveries, statuses and Deployments never leak between tests.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from fluxgate.connector.service import Processing
from fluxgate.connector.signatures import flux_signature, github_signature
from fluxgate.sandbox.github import RunningEmulator, free_port
from tests.cli.conftest import EXAMPLES, FLUXGATE
from tests.conftest import TOKEN
from tests.prefect_runs import cancel_started, started_any
from tests.servers import wait_until_up

FLUX_KEY = "flux-hmac-key-for-tests"
WEBHOOK_SECRET = "github-webhook-secret-for-tests"
VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "flux"


@dataclass
class ConnectorProcess:
    url: str
    data: Path
    config: Path
    repo: str
    env: dict[str, str]
    port: int
    proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                str(FLUXGATE),
                "connector",
                "--config",
                str(self.config),
                "--data",
                str(self.data),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            env=self.env,
            start_new_session=True,  # its own process group: `kill` reaches the worker process too
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        wait_until_up(f"{self.url}/healthz", self.proc, "connector", timeout=30)

    def kill(self) -> None:
        """`kill -9` of the whole connector (both processes, as when its container dies): no chance to
        flush or finish anything."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.communicate(timeout=10)

    def stop(self) -> str:
        if self.proc is None or self.proc.poll() is not None:
            return ""
        self.proc.terminate()
        return self.proc.communicate(timeout=30)[1]

    # -- sending -------------------------------------------------------------------------------
    def flux(
        self, event: dict[str, Any] | bytes, key: str | None = FLUX_KEY, **headers: str
    ) -> httpx.Response:
        body = event if isinstance(event, bytes) else json.dumps(event).encode()
        sent = {"Content-Type": "application/json", "Gotk-Component": "kustomize-controller", **headers}
        if key is not None:
            sent["X-Signature"] = flux_signature(body, key)
        return httpx.post(f"{self.url}/flux/events", content=body, headers=sent, timeout=10)

    def webhook(
        self, event: str, payload: dict[str, Any], delivery: str, secret: str = WEBHOOK_SECRET
    ) -> httpx.Response:
        body = json.dumps(payload).encode()
        return httpx.post(
            f"{self.url}/github/webhook",
            content=body,
            timeout=10,
            headers={
                "Content-Type": "application/json",
                "X-GitHub-Event": event,
                "X-GitHub-Delivery": delivery,
                "X-Hub-Signature-256": github_signature(body, secret),
            },
        )

    def open_promotion(
        self, emulated: RunningEmulator, cache: Path, env: str, version: str
    ) -> tuple[Any, int]:
        """Subscribe this connector to the repo's PR webhooks and open a promotion PR through the gateway;
        returns the gateway and the PR number."""
        from fluxgate.github import GitHubGateway, GitHubSettings, Promotion, promote

        emulated.emulator.add_hook(
            self.repo, f"{self.url}/github/webhook", WEBHOOK_SECRET, ["pull_request", "push"]
        )
        gw = GitHubGateway(
            GitHubSettings(api_url=emulated.url, token=TOKEN, min_write_interval=0), cache=cache
        )
        outcome = promote(
            gw,
            self.repo,
            "main",
            Promotion(app="shop", env=env, version=version),
            {f"{env}/a.yaml": f"version: {version}\n".encode()},
            [env],
            "summary",
        )
        assert outcome.pull_request is not None
        return gw, outcome.pull_request.number

    def settle(self, timeout: float = 20) -> dict[str, Any]:
        """Wait until nothing is pending; returns the deliveries listing."""
        deadline = time.monotonic() + timeout
        while True:
            listing = httpx.get(f"{self.url}/deliveries", timeout=5).json()
            if not listing["counts"].get("pending"):
                return listing
            assert time.monotonic() < deadline, listing
            time.sleep(0.05)


@pytest.fixture(autouse=True)
def _no_run_left_waiting(request: pytest.FixtureRequest) -> Iterator[None]:
    """Stage runs a test left paused are cancelled after it, so no later test's connector finds them."""
    yield
    if started_any():
        cancel_started(request.getfixturevalue("prefect_api"))


@pytest.fixture
def connector(github: RunningEmulator, manifests_repo: str, tmp_path: Path) -> Iterator[ConnectorProcess]:
    text = (EXAMPLES / "shop" / "fluxgate.yaml").read_text()
    config = tmp_path / "fluxgate.yaml"
    config.write_text(re.sub(r"repo: acme/shop-manifests", f"repo: {manifests_repo}", text))
    port = free_port()
    env = {
        **os.environ,
        "FLUXGATE_GITHUB__API_URL": github.url,
        "FLUXGATE_GITHUB__TOKEN": TOKEN,
        "FLUXGATE_GITHUB__MIN_WRITE_INTERVAL": "0",
        "FLUXGATE_GITHUB__BACKOFF": "0.05",
        "FLUXGATE_GITHUB__RETRIES": "1",
        "FLUXGATE_FLUX_HMAC_KEY": FLUX_KEY,
        "FLUXGATE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "FLUXGATE_BACKOFF": "0.1",
    }
    process = ConnectorProcess(
        f"http://127.0.0.1:{port}", tmp_path / "data", config, manifests_repo, env, port
    )
    process.start()
    yield process
    errors = process.stop()
    assert "Traceback" not in errors, errors


@pytest.fixture
def make_processing(
    prefect_api: str,
    github: RunningEmulator,
    manifests_repo: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Callable[..., Processing]]:
    """Build the connector's processing side in this process (the worker is driven by hand with
    `worker.run_once()`, sweeps with `resumer.sweep()`), talking to the session's Prefect server."""
    from prefect.settings import PREFECT_API_URL, PREFECT_LOGGING_TO_API_ENABLED, temporary_settings

    from fluxgate.connector.metrics import Metrics
    from fluxgate.connector.settings import ConnectorSettings

    config = tmp_path / "fluxgate.yaml"
    config.write_text(
        (EXAMPLES / "shop" / "fluxgate.yaml")
        .read_text()
        .replace("repo: acme/shop-manifests", f"repo: {manifests_repo}")
    )
    built: list[Processing] = []

    def make(**settings: Any) -> Processing:
        processing = Processing(
            ConnectorSettings(
                data_dir=tmp_path / "data",
                configs=[config],
                github={"api_url": github.url, "token": TOKEN, "min_write_interval": 0},
                **settings,
            ),
            Metrics(),
        )
        built.append(processing)
        return processing

    with temporary_settings({PREFECT_API_URL: prefect_api, PREFECT_LOGGING_TO_API_ENABLED: False}):
        monkeypatch.setenv("PREFECT_API_URL", prefect_api)
        yield make
        for processing in built:
            processing.stop()


@pytest.fixture
def processing(make_processing: Callable[..., Processing]) -> Processing:
    return make_processing()


def kustomization_event(
    sha: str,
    reason: str,
    message: str,
    *,
    env: str = "dev",
    cluster: str = "dev-eu",
    name: str = "shop",
    severity: str = "info",
    timestamp: str = "2026-01-01T10:00:00Z",
    prefixed: bool = False,
) -> dict[str, Any]:
    """A Flux event as the generic provider sends it, labelled by the Alert's eventMetadata."""
    prefix = "kustomize.toolkit.fluxcd.io/" if prefixed else ""
    return {
        "involvedObject": {
            "kind": "Kustomization",
            "namespace": "flux-system",
            "name": name,
            "uid": "0c9c2e41-1111-2222-3333-444455556666",
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        },
        "severity": severity,
        "timestamp": timestamp,
        "message": message,
        "reason": reason,
        "metadata": {f"{prefix}revision": f"main@sha1:{sha}", "env": env, "cluster": cluster},
        "reportingController": "kustomize-controller",
        "reportingInstance": "kustomize-controller-7c7b47f5f-8bhrp",
    }
