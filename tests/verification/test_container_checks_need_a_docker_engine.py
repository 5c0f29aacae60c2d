"""Container checks through the real docker SDK: with no engine at DOCKER_HOST the check fails with
one line saying so; with an engine (not on every machine) a test image's exit code decides."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from fluxgate.config import ContainerCheck
from fluxgate.stage import run_checks
from fluxgate.stage.container import EngineUnreachable, docker_engine


def closed_socket(folder: Path) -> Path:
    """A unix socket file nobody listens on: what a stopped Docker daemon leaves behind."""
    path = folder / "docker.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.close()
    return path


def test_no_engine_at_docker_host_fails_the_check_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = f"unix://{closed_socket(tmp_path)}"
    monkeypatch.setenv("DOCKER_HOST", host)
    smoke = ContainerCheck.model_validate({"name": "smoke", "container": {"image": "busybox:1.36"}})

    [result] = run_checks([smoke])

    assert not result.passed and result.kind == "container" and result.attempts == 0
    assert result.detail == f"no Docker engine reachable (DOCKER_HOST={host}): cannot run smoke"


def _engine_reachable() -> bool:
    try:
        docker_engine().close()
    except EngineUnreachable:
        return False
    return True


@pytest.mark.slow
@pytest.mark.skipif(not _engine_reachable(), reason="no Docker engine reachable")
def test_a_real_container_fails_with_its_exit_code_and_output() -> None:
    check = ContainerCheck.model_validate({
        "name": "smoke",
        "container": {"image": "busybox:1.36", "command": ["sh", "-c", "echo checking $TARGET; exit 3"],
                      "env": {"TARGET": "staging"}, "timeout": "2m"},
    })

    [result] = run_checks([check])

    assert not result.passed
    assert result.detail == "exit code 3: checking staging"
