"""Wrong credentials, a missing repo, a protected branch, a conflict or a 500 storm: each reaches the
caller as a fluxgate error with one line naming the repo, the operation and the likely cause, and a
promotion is never left half-done."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from fluxgate.errors import PermanentError, RetryableError
from fluxgate.github import (
    GitHubAuthError,
    GitHubForbidden,
    GitHubNotFound,
    GitHubNotMergeable,
    GitHubUnavailable,
    Promotion,
    promote,
)
from fluxgate.sandbox.github import Fault, RunningEmulator
from tests.github.conftest import READ_ONLY_TOKEN, TOKEN, Calls
from tests.github.gateway import gateway, manifests, rest_calls

PROMOTION = Promotion(app="shop", env="dev", version="1.0.0")


def _one_line(error: Exception) -> str:
    text = str(error)
    assert "\n" not in text and "Traceback" not in text
    assert TOKEN not in text and READ_ONLY_TOKEN not in text
    return text


def test_a_wrong_token_is_named_as_the_cause(
    github: RunningEmulator, manifests_repo: str, tmp_path: Path
) -> None:
    gw = gateway(github, tmp_path, token="ghp_wrong")
    with pytest.raises(GitHubAuthError) as caught:
        gw.set_status(manifests_repo, "0" * 40, "pending", "fluxgate/dev", "waiting")
    text = _one_line(caught.value)
    assert manifests_repo in text and "401" in text and "token" in text
    assert isinstance(caught.value, PermanentError)


def test_a_missing_repository_says_so(github: RunningEmulator, tmp_path: Path) -> None:
    gw = gateway(github, tmp_path)
    with pytest.raises(GitHubNotFound) as caught:
        promote(gw, "acme/no-such-repo", "main", PROMOTION, manifests(1), ["dev"], "summary")
    assert "acme/no-such-repo" in _one_line(caught.value)


def test_a_missing_base_branch_says_which(
    github: RunningEmulator, manifests_repo: str, tmp_path: Path
) -> None:
    gw = gateway(github, tmp_path)
    with pytest.raises(GitHubNotFound, match="has no branch 'release'"):
        promote(gw, manifests_repo, "release", PROMOTION, manifests(1), ["dev"], "summary")


def test_a_read_only_token_is_refused_before_anything_is_written(
    github: RunningEmulator, manifests_repo: str, tmp_path: Path
) -> None:
    gw = gateway(github, tmp_path, token=READ_ONLY_TOKEN)
    with pytest.raises(GitHubForbidden) as caught:
        promote(gw, manifests_repo, "main", PROMOTION, manifests(1), ["dev"], "summary")
    text = _one_line(caught.value)
    assert "create tree" in text and "permission" in text
    assert github.emulator.state.repos[manifests_repo].pulls == {}


def test_a_protected_branch_needs_a_review_before_merge(
    github: RunningEmulator, manifests_repo: str, tmp_path: Path
) -> None:
    import github as pygithub

    github.emulator.protect_branch(manifests_repo, "main", approvals=1)
    gw = gateway(github, tmp_path)
    outcome = promote(gw, manifests_repo, "main", PROMOTION, manifests(1), ["dev"], "summary")
    assert outcome.pull_request is not None
    number = outcome.pull_request.number
    with pytest.raises(GitHubNotMergeable) as caught:
        gw.merge(manifests_repo, number, "merge")
    assert "approving review" in _one_line(caught.value)
    pygithub.Github(auth=pygithub.Auth.Token("ghp_reviewer"), base_url=github.url).get_repo(
        manifests_repo
    ).get_pull(number).create_review(event="APPROVE")
    state = gw.pull_request(manifests_repo, number)
    assert state.approved and not state.merged
    merge_sha = gw.merge(manifests_repo, number, "merge", expected_head=state.head_sha)
    after = gw.pull_request(manifests_repo, number)
    assert after.merged and after.merge_sha == merge_sha and after.merged_by == "fluxgate-bot"


def test_a_conflicting_pull_request_is_not_mergeable(
    github: RunningEmulator, manifests_repo: str, tmp_path: Path
) -> None:
    gw = gateway(github, tmp_path)
    outcome = promote(gw, manifests_repo, "main", PROMOTION, {"dev/a.yaml": b"a: from-pr\n"}, ["dev"], "s")
    github.emulator.commit_files(
        manifests_repo, "main", {"dev/a.yaml": "a: from-someone-else\n"}, "hotfix", author="bob"
    )
    before = gw.snapshot(manifests_repo, "main").commit
    assert outcome.pull_request is not None
    with pytest.raises(GitHubNotMergeable, match="conflict"):
        gw.merge(manifests_repo, outcome.pull_request.number, "merge")
    assert gw.snapshot(manifests_repo, "main").commit == before


def test_a_failed_pull_request_leaves_no_branch_behind(
    github: RunningEmulator, manifests_repo: str, tmp_path: Path
) -> None:
    gw = gateway(github, tmp_path, retries=0)
    github.emulator.inject(
        Fault(status=422, method="POST", path=f"/repos/{manifests_repo}/pulls$", message="Validation Failed")
    )
    with pytest.raises(PermanentError, match="open pull request"):
        promote(gw, manifests_repo, "main", PROMOTION, manifests(1), ["dev"], "summary")
    refs = github.emulator.git(github.emulator.state.repos[manifests_repo]).refs()
    assert list(refs) == ["refs/heads/main"]


def test_a_failed_commit_leaves_no_branch_and_no_pull_request(
    github: RunningEmulator, manifests_repo: str, tmp_path: Path
) -> None:
    gw = gateway(github, tmp_path, retries=1)
    github.emulator.inject(
        Fault(status=500, method="POST", path=f"/repos/{manifests_repo}/git/commits$", times=5)
    )
    with pytest.raises(GitHubUnavailable) as caught:
        promote(gw, manifests_repo, "main", PROMOTION, manifests(1), ["dev"], "summary")
    assert isinstance(caught.value, RetryableError) and "create commit" in _one_line(caught.value)
    assert list(github.emulator.git(github.emulator.state.repos[manifests_repo]).refs()) == [
        "refs/heads/main"
    ]
    assert github.emulator.state.repos[manifests_repo].pulls == {}
    github.emulator.faults.clear()


def test_502s_and_429s_are_retried_after_the_time_github_asks_for(
    github: RunningEmulator, manifests_repo: str, calls: Calls, tmp_path: Path
) -> None:
    gw = gateway(github, tmp_path, retries=4)
    github.emulator.inject(
        Fault(
            status=502,
            method="POST",
            path=f"/repos/{manifests_repo}/git/trees$",
            headers={"Retry-After": "1"},
        ),
        Fault(
            status=429,
            method="POST",
            path=f"/repos/{manifests_repo}/pulls$",
            headers={"Retry-After": "1"},
            message="API rate limit exceeded",
        ),
    )
    started = time.monotonic()
    with calls.counting() as made:
        outcome = promote(gw, manifests_repo, "main", PROMOTION, manifests(1), ["dev"], "summary")
    assert outcome.status == "opened"
    assert time.monotonic() - started >= 2.0  # two waits of Retry-After: 1
    assert [f"{r.method} {r.route} {r.status}" for r in made if r.status >= 400] == [
        "POST /repos/{owner}/{repo}/git/trees 502",
        "POST /repos/{owner}/{repo}/pulls 429",
    ]
    assert len(rest_calls(made)) == 6


def test_a_500_storm_ends_as_a_retryable_error_after_backoff(
    github: RunningEmulator, manifests_repo: str, calls: Calls, tmp_path: Path
) -> None:
    gw = gateway(github, tmp_path, retries=3)
    github.emulator.inject(Fault(status=500, path=f"/repos/{manifests_repo}/statuses/", times=100))
    with calls.counting() as made, pytest.raises(GitHubUnavailable) as caught:
        gw.set_status(manifests_repo, "0" * 40, "pending", "fluxgate/dev", "waiting")
    assert len(made) == 4  # the first try and three retries
    assert "after retries" in _one_line(caught.value) and caught.value.retry_after > 0
    github.emulator.faults.clear()


def test_a_rate_limit_reset_beyond_the_wait_cap_is_handed_back_not_slept_through(
    github: RunningEmulator, manifests_repo: str, tmp_path: Path
) -> None:
    gw = gateway(github, tmp_path, max_wait=5)
    reset = str(int(time.time()) + 3600)
    github.emulator.inject(
        Fault(
            status=429,
            path=f"/repos/{manifests_repo}/statuses/",
            headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset},
        )
    )
    started = time.monotonic()
    with pytest.raises(GitHubUnavailable) as caught:
        gw.set_status(manifests_repo, "0" * 40, "pending", "fluxgate/dev", "waiting")
    assert time.monotonic() - started < 5
    assert caught.value.retry_after > 3000 and "rate limited" in _one_line(caught.value)


def test_tokens_never_reach_logs_even_at_debug_level(
    github: RunningEmulator, manifests_repo: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    gw = gateway(github, tmp_path)
    with caplog.at_level(logging.DEBUG):
        promote(gw, manifests_repo, "main", PROMOTION, manifests(2), ["dev"], "summary")
        with pytest.raises(GitHubAuthError):
            gateway(github, tmp_path, token="ghp_wrong_secret").set_status(
                manifests_repo, "0" * 40, "pending", "fluxgate/dev", "x"
            )
    assert caplog.records, "debug logging was captured"
    assert TOKEN not in caplog.text and "ghp_wrong_secret" not in caplog.text
