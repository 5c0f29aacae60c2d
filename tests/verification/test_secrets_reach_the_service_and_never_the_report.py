"""`${secret:NAME}` in headers and bodies: the service receives the value; results, their Markdown
and error text never hold it; a secret nobody set fails its check in one line, before any request."""

from __future__ import annotations

import json

import pytest

from fluxgate.config import HttpCheck
from fluxgate.stage import checks_markdown, env_secrets, run_checks
from tests.check_fakes import FakeClock
from tests.http_service import Service

TOKEN = "s3cr3t-staging-token"
SECRETS = env_secrets({"FLUXGATE_SECRET_STAGING_TOKEN": TOKEN})


def authorized(service: Service, **fields: object) -> HttpCheck:
    return HttpCheck.model_validate({
        "name": "health", "url": service.url, "deadline": "0s",
        "headers": {"Authorization": "Bearer ${secret:STAGING_TOKEN}"}, **fields,
    })


def test_a_secret_header_reaches_the_service(service: Service, clock: FakeClock) -> None:
    [result] = run_checks([authorized(service)], secrets=SECRETS, sleep=clock.sleep, clock=clock)

    assert result.passed
    assert service.seen[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in result.model_dump_json() + checks_markdown([result])


def test_a_secret_in_a_post_body_reaches_the_service(service: Service, clock: FakeClock) -> None:
    probe = authorized(service, method="POST", body={"token": "${secret:STAGING_TOKEN}"})

    run_checks([probe], secrets=SECRETS, sleep=clock.sleep, clock=clock)

    assert json.loads(service.seen[0].body) == {"token": TOKEN}


def test_a_service_echoing_the_secret_does_not_put_it_in_the_result(
    service: Service, clock: FakeClock
) -> None:
    service.script[:] = [(200, json.dumps({"whoami": TOKEN}))]
    echoed = authorized(service, json={"path": "whoami", "equals": "ci-bot"})

    [result] = run_checks([echoed], secrets=SECRETS, sleep=clock.sleep, clock=clock)

    assert not result.passed
    assert result.detail == 'HTTP 200 but JSON whoami is "***", expected "ci-bot"'


def test_a_failing_request_does_not_show_the_secret(clock: FakeClock) -> None:
    unreachable = HttpCheck(url="http://127.0.0.1:9/health", deadline="0s",
                            headers={"Authorization": "Bearer ${secret:STAGING_TOKEN}"})

    [result] = run_checks([unreachable], secrets=SECRETS, sleep=clock.sleep, clock=clock)

    assert not result.passed and TOKEN not in result.model_dump_json()


def test_a_missing_secret_fails_its_check_in_one_line_without_a_request(
    service: Service, clock: FakeClock
) -> None:
    [result] = run_checks([authorized(service)], secrets=env_secrets({}), sleep=clock.sleep, clock=clock)

    assert not result.passed and result.name == "health" and result.attempts == 0
    assert result.detail == (
        "secret STAGING_TOKEN is not set (environment variable FLUXGATE_SECRET_STAGING_TOKEN)"
    )
    assert service.seen == []


def test_secrets_come_from_fluxgate_secret_environment_variables_by_default(
    service: Service, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLUXGATE_SECRET_STAGING_TOKEN", TOKEN)

    [result] = run_checks([authorized(service)], sleep=clock.sleep, clock=clock)

    assert result.passed and service.seen[0].headers["Authorization"] == f"Bearer {TOKEN}"
