"""Post-deploy container checks: run a test image once through the Docker engine; exit code 0 passes.

The image is pulled when the engine does not have it, the container runs detached with the
check's command and env (`${secret:NAME}` resolved), and is killed when it outlives its timeout and
removed in every case. The result says the exit code and the last log line; the last 20 lines are
kept in `CheckResult.log_tail`. Without a reachable engine the check fails with one line saying so.

The engine is reached through a client factory (default `from_env`, i.e. `docker.from_env`);
tests pass a small fake that follows the `DockerClient` protocol below. Called through `run_checks`.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import time
from collections.abc import Callable
from typing import Any, Protocol

import docker
import requests
from docker.errors import DockerException, ImageNotFound

from fluxgate.config import ContainerCheck, format_duration
from fluxgate.errors import RetryableError, one_line
from fluxgate.stage.result import CheckResult
from fluxgate.stage.secrets import SecretMissing, SecretResolver, Secrets, env_secrets

__all__ = [
    "DockerClient",
    "DockerClientFactory",
    "EngineUnreachable",
    "docker_engine",
    "from_env",
    "run_container_check",
]

LOG_LINES = 20
DEFAULT_SOCKET = "unix:///var/run/docker.sock"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# What the docker SDK raises: its own errors, and requests' for a socket that stops answering.
_ENGINE_ERRORS = (DockerException, requests.exceptions.RequestException)


class _Container(Protocol):
    status: str
    attrs: dict[str, Any]

    def reload(self) -> None: ...
    def logs(self, *, stdout: bool, stderr: bool, tail: int) -> bytes: ...
    def kill(self) -> None: ...
    def remove(self, *, force: bool) -> None: ...


class _Images(Protocol):
    def get(self, name: str) -> Any: ...
    def pull(self, repository: str) -> Any: ...


class _Containers(Protocol):
    def run(
        self, image: str, command: list[str] | None, *, environment: dict[str, str], detach: bool
    ) -> _Container: ...


class DockerClient(Protocol):
    """The part of `docker.DockerClient` a container check uses."""

    images: _Images
    containers: _Containers

    def close(self) -> None: ...


DockerClientFactory = Callable[[], DockerClient]


class EngineUnreachable(RetryableError):
    """No Docker engine answers where DOCKER_HOST (or the default socket) points."""


def _where() -> str:
    host = os.environ.get("DOCKER_HOST")
    return f"DOCKER_HOST={host}" if host else f"DOCKER_HOST unset: {DEFAULT_SOCKET}"


def from_env() -> DockerClient:
    """`docker.from_env()`, after making sure a unix socket answers: when nothing listens there,
    the SDK fails leaving its socket open (a ResourceWarning later), so it is not asked at all."""
    host = os.environ.get("DOCKER_HOST") or DEFAULT_SOCKET
    if host.startswith("unix://"):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(5)
            try:
                probe.connect(host.removeprefix("unix://"))
            except OSError as error:
                raise DockerException(f"cannot connect to {host}: {error.strerror or error}") from error
    return docker.from_env()  # type: ignore[no-any-return]


def docker_engine(factory: DockerClientFactory = from_env) -> DockerClient:
    """A client for the engine; `EngineUnreachable` (one line) when none answers."""
    try:
        return factory()
    except _ENGINE_ERRORS as error:
        raise EngineUnreachable(f"no Docker engine reachable ({_where()})") from error


def _reason(error: BaseException) -> str:
    explanation = getattr(error, "explanation", None)
    return one_line(explanation or error, 160)


def _tail(container: _Container, secrets: Secrets) -> list[str]:
    try:
        raw = container.logs(stdout=True, stderr=True, tail=LOG_LINES)
    except _ENGINE_ERRORS:
        return []
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)
    lines = [_ANSI.sub("", line).rstrip() for line in secrets.redact(text).splitlines()]
    return [line for line in lines if line][-LOG_LINES:]


def _pull_if_missing(client: DockerClient, image: str) -> None:
    try:
        client.images.get(image)
    except ImageNotFound:
        client.images.pull(image)


def _wait(
    container: _Container, timeout: float, sleep: Callable[[float], None], clock: Callable[[], float]
) -> int | None:
    """The exit code, or None when the container is still running at the timeout."""
    deadline = clock() + timeout
    while True:
        container.reload()
        if container.status in ("exited", "dead"):
            return int(container.attrs.get("State", {}).get("ExitCode", -1))
        if clock() >= deadline:
            return None
        sleep(min(1.0, max(deadline - clock(), 0.0)))


def run_container_check(
    check: ContainerCheck,
    client: DockerClient,
    *,
    secrets: SecretResolver | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> CheckResult:
    """Run one test container to its end (or its timeout) on `client`'s engine; never raises."""
    spec = check.container
    started = clock()
    used = Secrets(secrets or env_secrets())

    def result(passed: bool, detail: str, log_tail: list[str] | None = None, ran: bool = True) -> CheckResult:
        return CheckResult(
            name=check.label,
            kind="container",
            passed=passed,
            detail=used.redact(detail),
            attempts=1 if ran else 0,
            duration=round(clock() - started, 3),
            log_tail=log_tail or [],
        )

    try:
        environment = used.fill(spec.env)
    except SecretMissing as error:
        return result(False, str(error), ran=False)
    try:
        _pull_if_missing(client, spec.image)
    except _ENGINE_ERRORS as error:
        return result(False, f"cannot pull {spec.image}: {_reason(error)}", ran=False)
    try:
        container = client.containers.run(spec.image, spec.command, environment=environment, detach=True)
    except _ENGINE_ERRORS as error:
        return result(False, f"cannot start {spec.image}: {_reason(error)}", ran=False)
    try:
        code = _wait(container, spec.timeout.total_seconds(), sleep, clock)
        if code is None:
            with contextlib.suppress(*_ENGINE_ERRORS):  # it may have ended a moment ago
                container.kill()
        tail = _tail(container, used)
    except _ENGINE_ERRORS as error:
        return result(False, f"lost the container of {spec.image}: {_reason(error)}")
    finally:
        with contextlib.suppress(*_ENGINE_ERRORS):  # already gone, or the engine went away
            container.remove(force=True)
    last = f": {one_line(tail[-1], 120)}" if tail else ""
    if code is None:
        return result(False, f"timed out after {format_duration(spec.timeout)}{last}", tail)
    return result(code == 0, f"exit code {code}{last}", tail)
