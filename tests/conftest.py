"""Session-wide real servers shared by test packages: one Prefect server (SQLite) and one emulated
GitHub per test session; each test gets its own repository in it (`manifests_repo`)."""

from __future__ import annotations

import itertools
import os
import subprocess
from collections.abc import Iterator

import pytest

from fluxgate.sandbox.github import RunningEmulator, start_in_thread
from fluxgate.sandbox.prefect_server import server_command, server_env
from fluxgate.sandbox.serving import free_port
from tests.servers import wait_until_up


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("prefect")
    port = free_port()
    server = subprocess.Popen(
        server_command(port),
        env={**os.environ, **server_env(home), "PREFECT_UI_ENABLED": "false"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/api"
    wait_until_up(f"{url}/health", server, "prefect server", timeout=90)
    yield url
    server.terminate()
    server.wait(timeout=30)


TOKEN = "ghp_sandboxtoken0000000000000000000000"
READ_ONLY_TOKEN = "ghp_readonly0000000000000000000000000"
_names = itertools.count(1)


@pytest.fixture(scope="session")
def github(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    running = start_in_thread(tmp_path_factory.mktemp("github"), webhook_backoff=0.05, record_bodies=True)
    running.emulator.add_token(TOKEN, "fluxgate-bot")
    running.emulator.add_token(READ_ONLY_TOKEN, "reader", write=False)
    running.emulator.add_token("ghp_reviewer", "alice")
    yield running
    running.stop()


@pytest.fixture
def manifests_repo(github: RunningEmulator) -> str:
    """A fresh `acme/manifests-N` with one commit on main."""
    name = f"acme/manifests-{next(_names)}"
    github.emulator.create_repo(name, files={"README.md": "# manifests\n"})
    return name
