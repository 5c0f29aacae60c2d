"""The connector is on the internet: without its signature keys it refuses to start, unless told
`--insecure` (then it says so, at start and in every `/readyz`); without working GitHub access it
is not ready, and says why. Its one start-up line names what it serves and never a secret."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
import pytest

from fluxgate.connector.routing import Router
from fluxgate.connector.service import describe
from fluxgate.connector.settings import ConnectorSettings
from fluxgate.sandbox.github import RunningEmulator, free_port
from tests.cli.conftest import EXAMPLES, FLUXGATE
from tests.conftest import TOKEN
from tests.connector.conftest import ConnectorProcess, kustomization_event
from tests.servers import wait_until_up

SHOP = EXAMPLES / "shop" / "fluxgate.yaml"
SHA = "c" * 40


def _environment(**settings: str) -> dict[str, str]:
    """This process's environment without any FLUXGATE_ setting, plus `settings`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FLUXGATE_") and k != "PREFECT_API_URL"}
    return {**clean, **settings}


def test_without_signature_keys_it_refuses_to_start_in_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            str(FLUXGATE),
            "connector",
            "--config",
            str(SHOP),
            "--data",
            str(tmp_path),
            "--port",
            str(free_port()),
        ],
        env=_environment(FLUXGATE_WEBHOOK_SECRET="s3cret-webhook"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("error: FLUXGATE_FLUX_HMAC_KEY not set"), lines
    assert "--insecure" in lines[0] and "s3cret-webhook" not in result.stderr


def test_insecure_starts_loudly_and_without_github_is_not_ready(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [str(FLUXGATE), "connector", "--insecure", "--config", str(SHOP), "--data", str(tmp_path),
         "--host", "127.0.0.1", "--port", str(port)],
        env=_environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", proc, "connector", timeout=60)
        unsigned = httpx.post(
            f"http://127.0.0.1:{port}/flux/events",
            json=kustomization_event(SHA, "Progressing", "Deployment/shop/web configured"),
            timeout=10,
        )
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
    finally:
        proc.terminate()
        stderr = proc.communicate(timeout=30)[1]
    assert unsigned.status_code == 202
    assert ready.status_code == 503
    answer = ready.json()
    assert answer["insecure"] is True and answer["checks"]["github"] is False
    assert "FLUXGATE_GITHUB__TOKEN" in answer["problems"]["github"]
    lines = [line for line in stderr.splitlines() if line.strip()]
    start = next(line for line in lines if line.startswith("fluxgate connector: "))
    assert "apps shop" in start and "signatures OFF" in start and "GitHub not configured" in start
    warnings = [line for line in lines if "INSECURE" in line]
    assert len(warnings) == 1, stderr
    assert "FLUXGATE_FLUX_HMAC_KEY and FLUXGATE_WEBHOOK_SECRET not set" in warnings[0]
    assert "Traceback" not in stderr, stderr


def test_refused_github_credentials_make_it_unready_with_the_reason(connector: ConnectorProcess) -> None:
    assert httpx.get(f"{connector.url}/readyz", timeout=10).status_code == 200
    connector.stop()
    connector.env["FLUXGATE_GITHUB__TOKEN"] = "ghp_revoked000000000000000000000000000"
    connector.start()
    answer = httpx.get(f"{connector.url}/readyz", timeout=10)
    assert answer.status_code == 503
    assert answer.json()["checks"]["github"] is False
    assert "refused the credentials" in answer.json()["problems"]["github"]
    assert "ghp_revoked" not in answer.text


def test_the_start_line_names_the_store_and_access_but_no_secret(
    tmp_path: Path, github: RunningEmulator
) -> None:
    settings = ConnectorSettings(
        configs=[SHOP],
        data_dir=tmp_path,
        database_url="postgresql+psycopg://fluxgate:db-pa55word@db.internal:5433/connector",
        flux_hmac_key="flux-key-value",
        webhook_secret="webhook-secret-value",
        github={"api_url": github.url, "token": TOKEN},
    )
    from fluxgate.config import load_config

    line = describe(settings, Router([load_config(SHOP)]))
    assert line == (
        f"fluxgate connector: apps shop ({SHOP}); store postgresql db.internal:5433/connector; "
        f"signatures on; GitHub {github.url} as token, writes <= 80/60s, 500/3600s"
    )
    for secret in ("db-pa55word", "flux-key-value", "webhook-secret-value", TOKEN):
        assert secret not in line


@pytest.mark.parametrize("missing", ["FLUXGATE_FLUX_HMAC_KEY", "FLUXGATE_WEBHOOK_SECRET"])
def test_each_missing_key_is_named(missing: str, tmp_path: Path) -> None:
    from fluxgate.connector import Connector
    from fluxgate.errors import SettingsError

    keys = {"flux_hmac_key": "k", "webhook_secret": "s"}
    keys.pop(missing.removeprefix("FLUXGATE_").lower())
    with pytest.raises(SettingsError, match=f"^{missing} not set: "):
        Connector(ConnectorSettings(configs=[SHOP], data_dir=tmp_path, **keys))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("postgresql+pg8000://fluxgate:pw-s3cret@127.0.0.1/test",
         "FLUXGATE_DATABASE_URL: postgresql+pg8000 needs the pg8000 module, which is not installed: "
         "pip install 'fluxgate[postgres]' and use postgresql+psycopg://"),
        ("postgresql+asyncpg://fluxgate:pw-s3cret@127.0.0.1/test",
         "FLUXGATE_DATABASE_URL: postgresql+asyncpg is an asyncio driver; the connector's store needs "
         "postgresql+psycopg://"),
        ("not a url", "FLUXGATE_DATABASE_URL: '(no scheme)' is not a database URL fluxgate can use"),
        ("postgresql+psycopg://fluxgate:pw-s3cret@127.0.0.1:1/test",
         "FLUXGATE_DATABASE_URL: cannot use postgresql 127.0.0.1:1/test: connection failed"),
    ],
)
def test_a_store_it_cannot_use_is_one_line_without_the_password(tmp_path: Path, url: str, said: str) -> None:
    result = subprocess.run(
        [str(FLUXGATE), "connector", "--config", str(SHOP), "--data", str(tmp_path),
         "--port", str(free_port())],
        env=_environment(FLUXGATE_FLUX_HMAC_KEY="k", FLUXGATE_WEBHOOK_SECRET="s", FLUXGATE_DATABASE_URL=url),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {said}"), result.stderr
    assert "pw-s3cret" not in result.stderr


def test_replicas_sharing_a_data_folder_keep_each_others_metrics(tmp_path: Path) -> None:
    """A replica's start clears its own metrics folder and dead processes' folders, never a live one's."""
    import socket

    from fluxgate.cli.connector import _metrics_dir

    live = subprocess.Popen(["sleep", "60"])
    try:
        host = socket.gethostname()
        root = tmp_path / "metrics"
        theirs, gone = root / f"{host}-{live.pid}", root / f"{host}-999999999"
        for folder in (theirs, gone):
            folder.mkdir(parents=True)
            (folder / "counter_1.db").write_bytes(b"x")
        mine = _metrics_dir(tmp_path)
        assert mine == root / f"{host}-{os.getpid()}" and mine.is_dir()
        assert (theirs / "counter_1.db").exists() and not gone.exists()
    finally:
        live.kill()
        live.wait()


@pytest.mark.parametrize(
    ("limits", "said"),
    [
        ("80", "FLUXGATE_GITHUB_WRITE_LIMITS: Value error, '80' is not WRITES/SECONDS, e.g. 80/60,500/3600"),
        ("80/60,0/3600", "FLUXGATE_GITHUB_WRITE_LIMITS: Value error, '0/3600' is not WRITES/SECONDS"),
    ],
)
def test_a_write_budget_it_cannot_read_is_one_line(tmp_path: Path, limits: str, said: str) -> None:
    result = subprocess.run(
        [str(FLUXGATE), "connector", "--config", str(SHOP), "--data", str(tmp_path),
         "--port", str(free_port())],
        env=_environment(FLUXGATE_FLUX_HMAC_KEY="k", FLUXGATE_WEBHOOK_SECRET="s",
                         FLUXGATE_GITHUB_WRITE_LIMITS=limits),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {said}"), result.stderr
