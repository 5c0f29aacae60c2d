"""`fluxgate deploy / promote / status` with bad input or no Prefect: one line, exit 2, no traceback."""

from __future__ import annotations

import time

import pytest

from fluxgate.sandbox.serving import free_port
from tests.cli.conftest import EXAMPLES, Run, user_error

SHOP = str(EXAMPLES / "shop" / "fluxgate.yaml")
IMAGES = ("-i", "web=1.0.0", "-i", "worker=1.0.0")


@pytest.fixture
def no_prefect(monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"http://127.0.0.1:{free_port()}/api"
    monkeypatch.setenv("PREFECT_API_URL", url)
    return url


def test_an_unknown_environment_is_named_before_prefect_is_asked(fluxgate: Run, no_prefect: str) -> None:
    lines = user_error(fluxgate("deploy", "-c", SHOP, "--env", "qa", *IMAGES))
    assert lines == ["error: unknown environment 'qa': fluxgate.yaml defines dev, staging, prod"]


@pytest.mark.console_script  # deploy and status, as the README promises them
def test_an_unreachable_prefect_server_is_one_line_with_the_url_tried(fluxgate: Run, no_prefect: str) -> None:
    for args in (("deploy", "-c", SHOP, "--env", "dev", *IMAGES), ("status", "-c", SHOP)):
        expected = f"error: Prefect server unreachable at {no_prefect}: ConnectError"
        assert user_error(fluxgate(*args)) == [expected]


def test_a_release_of_another_app_or_without_version_is_refused(fluxgate: Run, no_prefect: str) -> None:
    assert user_error(fluxgate("promote", "blog@1.0.0", "--to", "prod", "-c", SHOP)) == [
        "error: 'blog@1.0.0': expected shop@VERSION"
    ]
    assert user_error(fluxgate("promote", "shop", "--to", "prod", "-c", SHOP)) == [
        "error: 'shop': expected shop@VERSION"
    ]


def test_serve_refuses_a_poll_or_limit_that_cannot_work(fluxgate: Run, no_prefect: str) -> None:
    assert user_error(fluxgate("serve", "--poll", "0")) == ["error: --poll 0: must be more than 0 seconds"]
    assert user_error(fluxgate("serve", "--limit", "0")) == ["error: --limit 0: must be 1 or more"]
    # a fraction of a second is an interval like any other (it used to be cut to whole seconds)
    expected = f"error: Prefect server unreachable at {no_prefect}: ConnectError"
    assert user_error(fluxgate("serve", "--poll", "0.5")) == [expected]


def test_serve_waits_as_long_as_asked_for_a_server_starting_alongside(fluxgate: Run, no_prefect: str) -> None:
    assert user_error(fluxgate("serve", "--wait", "-1")) == ["error: --wait -1: must be 0 seconds or more"]
    started = time.monotonic()
    expected = f"error: Prefect server unreachable at {no_prefect}: ConnectError"
    assert user_error(fluxgate("serve", "--wait", "2")) == [expected]
    assert time.monotonic() - started >= 2  # asked again until the wait was over, then the same one line
