"""Container checks on a fake Docker engine: exit code 0 passes; any other code, a timeout or an
image that cannot be pulled fails with one line; the last log lines are kept; no container is left."""

from __future__ import annotations

import pytest
from docker.errors import DockerException

from fluxgate.config import ContainerCheck
from fluxgate.stage import CheckResult, env_secrets, run_checks
from tests.check_fakes import FakeClock, FakeEngine, Program

IMAGE = "ghcr.io/acme/smoke:1.2"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def smoke(name: str = "smoke", **container: object) -> ContainerCheck:
    return ContainerCheck.model_validate(
        {"name": name, "container": {"image": IMAGE, "command": ["pytest", "-m", "smoke"], **container}}
    )


def run(
    engine: FakeEngine, clock: FakeClock, *checks: ContainerCheck, **options: object
) -> list[CheckResult]:
    return run_checks(list(checks), sleep=clock.sleep, clock=clock, docker_client_factory=lambda: engine,
                      **options)  # type: ignore[arg-type]


def test_a_passing_container_says_its_exit_code_and_last_line(clock: FakeClock) -> None:
    engine = FakeEngine(clock, {IMAGE: Program(0, ["collected 3 items", "3 passed in 1.20s"], seconds=3)})

    [result] = run(engine, clock, smoke(env={"BASE_URL": "https://staging.acme.dev"}))

    assert result.model_dump() == {
        "name": "smoke", "kind": "container", "passed": True, "attempts": 1, "duration": 3.0,
        "detail": "exit code 0: 3 passed in 1.20s", "log_tail": ["collected 3 items", "3 passed in 1.20s"],
    }
    [ran] = engine.containers.ran
    assert ran.command == ["pytest", "-m", "smoke"]
    assert ran.environment == {"BASE_URL": "https://staging.acme.dev"}
    assert engine.images.pulled == [IMAGE]  # it was missing
    assert engine.containers.live == [] and engine.closed


def test_an_image_already_there_is_not_pulled_again(clock: FakeClock) -> None:
    engine = FakeEngine(clock, {IMAGE: Program(0, ["ok"])})
    engine.images.local.add(IMAGE)

    [result] = run(engine, clock, smoke())

    assert result.passed and engine.images.pulled == []


def test_a_failing_container_says_its_exit_code_and_keeps_the_last_20_log_lines(clock: FakeClock) -> None:
    output = [f"tests/test_smoke.py::test_{n} PASSED" for n in range(29)]
    output.append("FAILED tests/test_smoke.py::test_login - assert 401 == 200")
    engine = FakeEngine(clock, {IMAGE: Program(1, output)})

    [result] = run(engine, clock, smoke())

    assert not result.passed
    assert result.detail == "exit code 1: FAILED tests/test_smoke.py::test_login - assert 401 == 200"
    assert result.log_tail == output[-20:]
    assert engine.containers.live == []


def test_a_container_past_its_timeout_is_killed_and_fails(clock: FakeClock) -> None:
    hangs = Program(0, ["waiting for https://staging.acme.dev ..."], seconds=3600)
    engine = FakeEngine(clock, {IMAGE: hangs})

    [result] = run(engine, clock, smoke(timeout="5m"))

    assert not result.passed
    assert result.detail == "timed out after 5m: waiting for https://staging.acme.dev ..."
    assert result.duration == 300.0
    assert engine.containers.ran[0].killed and engine.containers.live == []


def test_an_image_that_cannot_be_pulled_fails_in_one_line(clock: FakeClock) -> None:
    engine = FakeEngine(clock, {})

    [result] = run(engine, clock, smoke())

    assert not result.passed
    assert result.detail == f"cannot pull {IMAGE}: manifest for {IMAGE} not found: manifest unknown"
    assert result.attempts == 0 and engine.containers.ran == []


def test_an_engine_lost_while_waiting_fails_in_one_line_and_cleans_up_what_it_can(clock: FakeClock) -> None:
    engine = FakeEngine(clock, {IMAGE: Program(0, ["ok"], seconds=60)})
    engine.gone = True

    [result] = run(engine, clock, smoke())

    assert not result.passed
    assert result.detail == f"lost the container of {IMAGE}: Connection aborted: the engine went away"
    assert engine.containers.live == []


def test_a_secret_reaches_the_container_env_and_never_its_result(clock: FakeClock) -> None:
    leaky = Program(2, ["using token {API_TOKEN}", "login failed for {API_TOKEN}"])
    engine = FakeEngine(clock, {IMAGE: leaky})
    secrets = env_secrets({"FLUXGATE_SECRET_SMOKE_TOKEN": "tok-123456"})

    [result] = run(engine, clock, smoke(env={"API_TOKEN": "${secret:SMOKE_TOKEN}"}), secrets=secrets)

    assert engine.containers.ran[0].environment == {"API_TOKEN": "tok-123456"}
    assert result.detail == "exit code 2: login failed for ***"
    assert result.log_tail == ["using token ***", "login failed for ***"]


def test_a_missing_secret_fails_without_running_a_container(clock: FakeClock) -> None:
    engine = FakeEngine(clock, {IMAGE: Program(0, ["ok"])})

    [result] = run(engine, clock, smoke(env={"API_TOKEN": "${secret:SMOKE_TOKEN}"}), secrets=env_secrets({}))

    assert not result.passed and result.attempts == 0
    assert result.detail == "secret SMOKE_TOKEN is not set (environment variable FLUXGATE_SECRET_SMOKE_TOKEN)"
    assert engine.containers.ran == []


def test_without_an_engine_every_container_check_fails_in_one_line(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://docker.invalid:2375")

    def no_engine() -> FakeEngine:
        raise DockerException("Error while fetching server API version: Connection refused")

    results = run_checks([smoke(), smoke(name="e2e-lite")], sleep=clock.sleep, clock=clock,
                         docker_client_factory=no_engine)

    reason = "no Docker engine reachable (DOCKER_HOST=tcp://docker.invalid:2375)"
    assert [(r.name, r.passed, r.detail) for r in results] == [
        ("smoke", False, f"{reason}: cannot run smoke"),
        ("e2e-lite", False, f"{reason}: cannot run e2e-lite"),
    ]
