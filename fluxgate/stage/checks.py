"""All of an environment's post-deploy checks: the ones run here, and the ones left to the flow.

HTTP and container checks run in this process, in the order the config lists them
(`run_checks`). Workflow checks are GitHub Actions runs that the stage flow dispatches and waits
for while suspended, so `run_checks` leaves them out and `split_checks` hands them over.
Called by the verify task (tasks/verify.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from fluxgate.config import ContainerCheck, HttpCheck, WorkflowCheck
from fluxgate.stage.container import (
    DockerClient,
    DockerClientFactory,
    EngineUnreachable,
    docker_engine,
    from_env,
    run_container_check,
)
from fluxgate.stage.result import CheckResult
from fluxgate.stage.secrets import SecretResolver, env_secrets
from fluxgate.stage.verify import run_http_check

__all__ = ["LocalCheck", "run_checks", "split_checks"]

LocalCheck = HttpCheck | ContainerCheck
"""A check `run_checks` runs in this process."""


def split_checks(
    checks: Sequence[HttpCheck | ContainerCheck | WorkflowCheck],
) -> tuple[list[LocalCheck], list[WorkflowCheck]]:
    """(checks run here, workflow checks the flow dispatches), each in config order."""
    local = [c for c in checks if not isinstance(c, WorkflowCheck)]
    workflows = [c for c in checks if isinstance(c, WorkflowCheck)]
    return local, workflows


class _Engine:
    """One Docker client for all container checks of a run, connected when the first one runs."""

    def __init__(self, factory: DockerClientFactory) -> None:
        self._factory = factory
        self._client: DockerClient | None = None
        self._unreachable: str | None = None

    def run(
        self,
        check: ContainerCheck,
        secrets: SecretResolver,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
    ) -> CheckResult:
        if self._client is None and self._unreachable is None:
            try:
                self._client = docker_engine(self._factory)
            except EngineUnreachable as error:
                self._unreachable = str(error)
        if self._client is None:
            detail = f"{self._unreachable}: cannot run {check.label}"
            return CheckResult(name=check.label, kind="container", passed=False, detail=detail, attempts=0)
        return run_container_check(check, self._client, secrets=secrets, sleep=sleep, clock=clock)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def run_checks(
    checks: Sequence[HttpCheck | ContainerCheck | WorkflowCheck],
    *,
    secrets: SecretResolver | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    docker_client_factory: DockerClientFactory = from_env,
) -> list[CheckResult]:
    """Run the HTTP and container checks in order, one result each; workflow checks are skipped.

    Args:
        checks: an environment's `verification` list.
        secrets: resolves `${secret:NAME}`; default `FLUXGATE_SECRET_<NAME>` environment variables.
        sleep, clock: injected by tests for retries and timeouts.
        docker_client_factory: makes the Docker client, once, when the first container check runs.

    Returns:
        One `CheckResult` per HTTP or container check. Nothing raises for a failing check, a
        missing secret or an absent Docker engine: each is a failed result with a one-line detail.

    Example:
        >>> results = run_checks(config.environment("staging").verification)
        >>> failed = [r for r in results if not r.passed]
    """
    resolver = secrets or env_secrets()
    local, _workflows = split_checks(checks)
    engine = _Engine(docker_client_factory)
    results = []
    try:
        for check in local:
            if isinstance(check, HttpCheck):
                results.append(run_http_check(check, secrets=resolver, sleep=sleep, clock=clock))
            else:
                results.append(engine.run(check, resolver, sleep, clock))
    finally:
        engine.close()
    return results
