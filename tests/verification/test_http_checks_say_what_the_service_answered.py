"""HTTP checks against a real local service: a healthy one passes, a wrong one fails saying what it
answered, a slow one passes on a later attempt (the clock moves only when the check sleeps)."""

from __future__ import annotations

import json

from fluxgate.config import HttpCheck
from fluxgate.stage import run_checks
from tests.check_fakes import FakeClock
from tests.http_service import Service

READY = json.dumps({"status": {"ready": True, "version": "1.4.2"}, "items": [{"name": "web"}]})


def check(service: Service, **fields: object) -> HttpCheck:
    return HttpCheck.model_validate({"name": "health", "url": service.url, "deadline": "0s", **fields})


def test_a_healthy_service_passes_with_what_was_checked(service: Service, clock: FakeClock) -> None:
    service.script[:] = [(200, READY)]

    [result] = run_checks(
        [check(service, contains="1.4.2", json={"path": "status.ready", "equals": True})],
        sleep=clock.sleep, clock=clock,
    )

    assert result.passed and result.kind == "http" and result.attempts == 1
    assert result.detail == "HTTP 200, body contains '1.4.2', JSON status.ready is true"


def test_a_wrong_status_fails_with_the_status_it_got(service: Service, clock: FakeClock) -> None:
    service.script[:] = [(500, "boom")]

    [result] = run_checks([check(service)], sleep=clock.sleep, clock=clock)

    assert not result.passed
    assert result.detail == "HTTP 500, expected 200"


def test_a_wrong_json_value_fails_naming_the_path_what_it_got_and_what_was_expected(
    service: Service, clock: FakeClock
) -> None:
    wrong = {"status": {"ready": False}, "items": [{"name": "api"}], "count": 1}
    service.script[:] = [(200, json.dumps(wrong))]

    results = run_checks(
        [
            check(service, name="ready", json={"path": "status.ready", "equals": True}),
            check(service, name="first item", json={"path": "items.0.name", "equals": "web"}),
            check(service, name="absent", json={"path": "items.3.name", "equals": "web"}),
            check(service, name="one is not true", json={"path": "count", "equals": True}),
        ],
        sleep=clock.sleep, clock=clock,
    )

    assert [(r.name, r.passed, r.detail) for r in results] == [
        ("ready", False, "HTTP 200 but JSON status.ready is false, expected true"),
        ("first item", False, 'HTTP 200 but JSON items.0.name is "api", expected "web"'),
        ("absent", False, 'HTTP 200 but JSON items.3.name is missing, expected "web"'),
        ("one is not true", False, "HTTP 200 but JSON count is 1, expected true"),
    ]


def test_a_body_that_is_not_json_fails_in_one_line(service: Service, clock: FakeClock) -> None:
    service.script[:] = [(200, "<html>ok</html>")]
    wants_json = check(service, json={"path": "status", "equals": "ok"})

    [result] = run_checks([wants_json], sleep=clock.sleep, clock=clock)

    assert result.detail == "HTTP 200 but the body is not JSON"


def test_a_slow_start_passes_on_a_later_attempt(service: Service, clock: FakeClock) -> None:
    not_yet = json.dumps({"status": {"ready": False}})
    service.script[:] = [(503, "starting"), (200, not_yet), (200, READY)]

    [result] = run_checks(
        [check(service, deadline="1m", json={"path": "status.ready", "equals": True})],
        sleep=clock.sleep, clock=clock,
    )

    assert result.passed and result.attempts == 3
    assert clock.slept == [0.5, 1.0]
    assert result.duration == 1.5


def test_a_service_still_wrong_at_its_deadline_fails_with_its_last_answer(
    service: Service, clock: FakeClock
) -> None:
    service.script[:] = [(503, "starting"), (502, "bad gateway")]

    [result] = run_checks([check(service, deadline="10s")], sleep=clock.sleep, clock=clock)

    assert not result.passed
    assert result.detail == "HTTP 502, expected 200"
    assert clock.slept == [0.5, 1.0, 2.0, 4.0] and result.attempts == 5  # 7.5 s, and 8 s more is too late


def test_post_sends_its_json_body(service: Service, clock: FakeClock) -> None:
    service.script[:] = [(201, '{"id": 7}')]
    probe = check(service, method="POST", body={"probe": "fluxgate"}, expect_status=201,
                  json={"path": "id", "equals": 7})

    [result] = run_checks([probe], sleep=clock.sleep, clock=clock)

    assert result.passed, result.detail
    [request] = service.seen
    assert request.method == "POST" and json.loads(request.body) == {"probe": "fluxgate"}
    assert request.headers["Content-Type"] == "application/json"


def test_an_unreachable_service_fails_in_one_line(clock: FakeClock) -> None:
    [result] = run_checks([HttpCheck(url="http://127.0.0.1:9/health", deadline="0s")],
                          sleep=clock.sleep, clock=clock)

    assert not result.passed and result.name == "GET http://127.0.0.1:9/health"
    assert result.detail.startswith("ConnectError: ") and "\n" not in result.detail
