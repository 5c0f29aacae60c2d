"""The stage flow across real parts: the session's Prefect server, the GitHub emulator over HTTP, and
the connector serving on its own port (webhooks in, Flux events in, resumes out; in this process, see
`tests.connector.conftest`). Stage runs are created
from the saved `deploy-stage` deployment and executed in this process, as a worker would: each
execution ends when the run suspends, and the next one starts after the connector resumed it.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from fluxgate.prefect_api import connect
from fluxgate.runs import create_stage_run
from fluxgate.sandbox.github import RunningEmulator, files_in, free_port
from fluxgate.stage import StageRequest, StageRun, StageTags
from tests.cli.conftest import EXAMPLES
from tests.conftest import TOKEN
from tests.connector.conftest import FLUX_KEY, WEBHOOK_SECRET, ConnectorProcess, kustomization_event
from tests.http_service import scripted_service
from tests.prefect_runs import cancel_waiting

pytest.importorskip("prefect")

_codes = itertools.count(1)


@pytest.fixture
def service() -> Iterator[tuple[str, list[tuple[int, str]]]]:
    """A real HTTP service for post-deploy checks; append answers to change what it says."""
    with scripted_service((200, "ok: shop 1.0.0")) as running:
        yield running


@pytest.fixture
def project(tmp_path: Path, manifests_repo: str, service: tuple[str, Any]) -> Path:
    """The shop example with its manifests in the emulator; dev needs a review (so the stage waits for
    a merge), has an HTTP check and no soak."""
    root = tmp_path / "shop"
    shutil.copytree(EXAMPLES / "shop", root)
    config = root / "fluxgate.yaml"
    text = config.read_text().replace("repo: acme/shop-manifests", f"repo: {manifests_repo}")
    text = re.sub(
        r"(  - name: dev\n(?:    .*\n|      .*\n|        .*\n)*?)    approval: auto\n",
        rf"\1    approval: review\n    verification:\n      - name: shop answers\n"
        rf"        url: {service[0]}\n        contains: ok\n        deadline: 10s\n",
        text,
    )
    text += f"\ncode_repo: acme/shop-{next(_codes)}\ntriggers:\n  workflow: ci.yml\n"
    config.write_text(text)
    assert "approval: review\n    verification" in text
    return config


@dataclass
class Stage:
    """Drives stage runs of the `deploy-stage` deployment and watches them in Prefect."""

    config: Path
    repo: str
    connector: ConnectorProcess
    github: RunningEmulator

    def publish(self) -> dict[str, str]:
        """Push the project as it is now to its code repo (a developer's push): the source a request
        names. The repository is created on first use."""
        from fluxgate.config import load_config

        repo = load_config(self.config).code_repo
        assert repo is not None
        files = files_in(self.config.parent)
        emulator = self.github.emulator
        if repo.lower() in emulator.state.repos:
            commit = emulator.commit_files(repo, "main", files, "update the project", author="acme")
        else:
            emulator.create_repo(repo, files=files)
            commit = emulator.head(repo)
        return {"repo": repo, "commit": commit, "path": "fluxgate.yaml"}

    def request(self, env: str = "dev", version: str = "1.0.0", **extra: Any) -> dict[str, Any]:
        return {
            "app": "shop",
            "version": version,
            "env": env,
            "images": {
                "web": f"ghcr.io/acme/shop-web:{version}",
                "worker": f"ghcr.io/acme/shop-worker:{version}",
            },
            "source": self.publish(),
            **extra,
        }

    def create(self, request: dict[str, Any]) -> StageRun:
        with connect() as api:
            return create_stage_run(api, StageRequest.model_validate(request))

    def execute(self, run: Any) -> Any:
        """Run the flow until it suspends (returns None) or ends (returns its final state)."""
        from prefect.client.orchestration import get_client
        from prefect.exceptions import Pause
        from prefect.flow_engine import run_flow

        from flows.deploy_stage import deploy_stage

        with get_client(sync_client=True) as client:
            fresh = client.read_flow_run(run.id)
        try:
            return run_flow(deploy_stage, flow_run=fresh, parameters=fresh.parameters, return_type="state")
        except Pause:
            return None

    def read(self, run: Any) -> Any:
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            return client.read_flow_run(run.id)

    def pause_key(self, run: Any) -> str | None:
        state = self.read(run).state
        return state.state_details.pause_key if state and state.type.value == "PAUSED" else None

    def wait_resumed(self, run: Any, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self.read(run).state_type.value == "PAUSED":
            assert time.monotonic() < deadline, f"nobody resumed {self.read(run).name}"
            time.sleep(0.2)

    def tags(self, run: Any) -> StageTags:
        tags = StageTags.from_tags(self.read(run).tags)
        assert tags is not None, self.read(run).tags
        return tags

    def flux_ready(self, sha: str, env: str = "dev", cluster: str = "dev-eu", stamp: str = "10:00") -> None:
        """Flux reports the environment's Kustomization applied and healthy at `sha`."""
        for reason, message, minute in (
            ("Progressing", "Deployment/shop-dev/web configured", "00"),
            ("ReconciliationSucceeded", f"Reconciliation finished, revision main@sha1:{sha}", "30"),
        ):
            event = kustomization_event(
                sha, reason, message, env=env, cluster=cluster, timestamp=f"2026-01-01T{stamp}:{minute}Z"
            )
            assert self.connector.flux(event).status_code == 202

    def flux_failed(self, sha: str, message: str, env: str = "dev", cluster: str = "dev-eu") -> None:
        event = kustomization_event(
            sha, "HealthCheckFailed", message, env=env, cluster=cluster, severity="error",
            timestamp="2026-01-01T11:00:00Z",
        )
        assert self.connector.flux(event).status_code == 202

    def gateway(self) -> Any:
        """The gateway as a person with write access would use GitHub (merge, close, review)."""
        from fluxgate.github import GitHubGateway, GitHubSettings

        return GitHubGateway(GitHubSettings(api_url=self.github.url, token=TOKEN, min_write_interval=0))

    def merged(self, run: Any) -> str:
        """Run until the PR waits, merge it in GitHub, and run until the stage waits for Flux."""
        assert self.execute(run) is None and self.pause_key(run) == "await-merge"
        pr = self.tags(run).pr
        assert pr is not None
        number = pr.number
        sha = str(self.gateway().merge(self.repo, number, "merge"))
        self.wait_resumed(run)
        assert self.execute(run) is None and self.pause_key(run) == "await-flux"
        return sha

    def rolled_out(self, run: Any, stamp: str = "10:00") -> str:
        """`merged`, then Flux reports the environment ready and the connector resumes the stage."""
        sha = self.merged(run)
        self.flux_ready(sha, stamp=stamp)
        self.wait_resumed(run)
        return sha

    def api(self, path: str) -> Any:
        url = f"{self.github.url}/repos/{self.repo}{path}"
        answer = httpx.get(url, headers={"Authorization": f"token {TOKEN}"})
        answer.raise_for_status()
        return answer.json()


@pytest.fixture
def stage(
    prefect_api: str,
    github: RunningEmulator,
    manifests_repo: str,
    project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Stage]:
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_LOGGING_TO_API_ENABLED,
        PREFECT_RESULTS_PERSIST_BY_DEFAULT,
        temporary_settings,
    )

    for name, value in {
        "FLUXGATE_GITHUB__API_URL": github.url,
        "FLUXGATE_GITHUB__TOKEN": TOKEN,
        "FLUXGATE_GITHUB__MIN_WRITE_INTERVAL": "0",
        "PREFECT_API_URL": prefect_api,
    }.items():
        monkeypatch.setenv(name, value)
    port = free_port()
    connector = ConnectorProcess(
        f"http://127.0.0.1:{port}",
        tmp_path / "connector",
        project,
        manifests_repo,
        {
            **os.environ,
            "FLUXGATE_FLUX_HMAC_KEY": FLUX_KEY,
            "FLUXGATE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "FLUXGATE_BACKOFF": "0.1",
            "FLUXGATE_RESUME_INTERVAL": "0.2",
            "FLUXGATE_GITHUB__BACKOFF": "0.05",
        },
        port,
    )
    hook = f"{connector.url}/github/webhook"
    github.emulator.add_hook(manifests_repo, hook, WEBHOOK_SECRET, ["pull_request", "status", "check_suite"])
    settings = {PREFECT_API_URL: prefect_api, PREFECT_LOGGING_TO_API_ENABLED: False,
                PREFECT_RESULTS_PERSIST_BY_DEFAULT: True}
    with temporary_settings(settings):
        from flows.deploy_stage import deploy_stage
        from fluxgate.stage import FLOW_NAME

        deploy_stage.to_deployment(name=FLOW_NAME).apply()
        connector.start()
        yield Stage(project, manifests_repo, connector, github)
        errors = connector.stop()
    cancel_waiting(prefect_api)
    assert "Traceback" not in errors, errors
