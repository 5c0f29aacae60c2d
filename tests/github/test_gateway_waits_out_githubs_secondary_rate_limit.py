"""What a user of `GitHubGateway` sees when GitHub's secondary rate limit refuses a write (the emulator
enforcing it): a short `Retry-After` is slept through and the write goes on; a longer one than
`max_wait` comes back at once as a retryable error carrying GitHub's wait; a POST that must be sent
once is not re-sent, and its error waits at least as long as GitHub asked."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from fluxgate.errors import RetryableError
from fluxgate.github import GitHubUnavailable, sent_once
from fluxgate.sandbox.github import GITHUB_SECONDARY_LIMITS
from tests.conftest import TOKEN
from tests.github.gateway import gateway
from tests.github.limited import REPO, Clock, limited_github, post_status


def _one_line(error: Exception) -> str:
    text = str(error)
    assert "\n" not in text and TOKEN not in text
    return text


def test_a_short_retry_after_is_slept_through_and_the_write_succeeds(tmp_path: Path) -> None:
    with limited_github(tmp_path / "gh", secondary_limits=[(2, 1.0)]) as github:  # the real clock
        gw = gateway(github, tmp_path / "cache")
        sha = github.emulator.head(REPO)
        started = time.monotonic()
        for n in range(3):
            gw.set_status(REPO, sha, "success", f"ci/{n}", "done")
        waited = time.monotonic() - started
        logged = [(r.status, r.rate_limited) for r in github.emulator.calls() if r.method == "POST"]
        gw.close()

    assert logged == [(201, False), (201, False), (403, True), (201, False)]  # one refusal, then the retry
    assert waited >= 1.0  # Retry-After: 1, honoured


def test_a_wait_beyond_max_wait_comes_back_at_once_with_githubs_wait(tmp_path: Path) -> None:
    clock = Clock()
    with (
        limited_github(tmp_path / "gh", clock, secondary_limits=GITHUB_SECONDARY_LIMITS) as github,
        httpx.Client(timeout=30) as http,
    ):
        assert {post_status(http, github, n=n).status_code for n in range(80)} == {201}  # the minute is full
        gw = gateway(github, tmp_path / "cache", max_wait=5)
        started = time.monotonic()
        with pytest.raises(GitHubUnavailable) as caught:
            gw.set_status(REPO, github.emulator.head(REPO), "success", "ci/81", "done")
        took = time.monotonic() - started
        refusals = [r.status for r in github.emulator.calls(80)]
        gw.close()

    assert took < 5 and refusals == [403]  # no retry hammering a refusing GitHub
    assert isinstance(caught.value, RetryableError) and caught.value.retry_after == 60
    assert "rate limited; GitHub asks to wait 60 s" in _one_line(caught.value)


def test_a_post_sent_once_is_not_resent_and_waits_at_least_what_github_asked(tmp_path: Path) -> None:
    clock = Clock()
    with (
        limited_github(tmp_path / "gh", clock, secondary_limits=[(1, 60.0)]) as github,
        httpx.Client(timeout=30) as http,
    ):
        assert post_status(http, github).status_code == 201
        clock.advance(40)
        gw = gateway(github, tmp_path / "cache")
        with sent_once(), pytest.raises(GitHubUnavailable) as caught:
            gw.set_status(REPO, github.emulator.head(REPO), "success", "ci/2", "done")
        refusals = [r.status for r in github.emulator.calls(1)]
        gw.close()

    assert refusals == [403]  # sent once: GitHub's refusal is the answer
    assert caught.value.retry_after >= 20  # GitHub's Retry-After: 20
    assert "rate limit exceeded (You have exceeded a secondary rate limit" in _one_line(caught.value)
