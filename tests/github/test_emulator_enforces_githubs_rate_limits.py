"""GitHub's rate limits on the emulated GitHub: with `secondary_limits`, a token's content-creating
requests past 80 a minute (or 500 an hour) are refused as GitHub refuses them (403 or 429, its message,
`Retry-After`) and logged so a benchmark can count them; every REST answer carries the primary
`X-RateLimit-*` headers. The windows slide on an injected clock, not on real time."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fluxgate.sandbox.github import GITHUB_SECONDARY_LIMITS, Fault, RunningEmulator
from fluxgate.sandbox.github.rate_limits import SECONDARY_DOCS, RateLimits
from tests.conftest import TOKEN
from tests.github.limited import OTHER_TOKEN, REPO, Clock, limited_github, post_status

SECONDARY = "You have exceeded a secondary rate limit"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


@pytest.fixture
def github(tmp_path: Path, clock: Clock) -> Iterator[RunningEmulator]:
    """GitHub's documented pair: 80 writes a minute, 500 an hour (shadows the session's emulator)."""
    with limited_github(tmp_path / "gh", clock, secondary_limits=GITHUB_SECONDARY_LIMITS) as running:
        yield running


def statuses_of(records: list[object]) -> list[int]:
    return [r.status for r in records]  # type: ignore[attr-defined]


def test_the_81st_write_in_a_minute_is_the_one_refused_with_githubs_403(
    github: RunningEmulator, clock: Clock, http: httpx.Client
) -> None:
    answers = []
    for n in range(81):
        answers.append(post_status(http, github, n=n))
        clock.advance(0.5)  # 81 writes in 40 s

    assert [a.status_code for a in answers] == [201] * 80 + [403]
    refused = answers[-1]
    body = refused.json()
    assert body == {"message": body["message"], "documentation_url": SECONDARY_DOCS, "status": "403"}
    assert body["message"].startswith(f"{SECONDARY}. Please wait a few minutes before you try again.")
    assert refused.headers["Retry-After"] == "20"  # the first write, at 0 s, leaves the minute at 60 s
    assert refused.headers["X-GitHub-Request-Id"] in body["message"]
    sha = github.emulator.head(REPO)
    assert len([s for s in github.emulator.state.repos[REPO].statuses if s.sha == sha]) == 80  # none made


def test_a_refusal_is_in_the_request_log_with_its_status(
    github: RunningEmulator, clock: Clock, http: httpx.Client
) -> None:
    for n in range(82):
        post_status(http, github, n=n)

    logged = github.emulator.calls()
    assert statuses_of(logged) == [201] * 80 + [403, 403]
    assert [r.rate_limited for r in logged] == [False] * 80 + [True, True]
    listed = http.get(f"{github.url}/_sandbox/requests", params={"since": 80}).json()
    assert [(r["status"], r["rate_limited"], r["route"]) for r in listed] == [
        (403, True, "/repos/{owner}/{repo}/statuses/{sha}")
    ] * 2


def test_the_minute_window_slides_a_write_fits_once_the_oldest_has_left(
    github: RunningEmulator, clock: Clock, http: httpx.Client
) -> None:
    assert post_status(http, github).status_code == 201  # at 0 s
    clock.advance(30)
    assert {post_status(http, github, n=n).status_code for n in range(79)} == {201}  # 80 at 30 s
    clock.advance(15)
    early = post_status(http, github)
    assert (early.status_code, early.headers["Retry-After"]) == (403, "15")

    clock.advance(15)  # 60 s: the write at 0 s has left the minute
    assert post_status(http, github).status_code == 201
    clock.advance(1)
    again = post_status(http, github)
    assert (again.status_code, again.headers["Retry-After"]) == (403, "29")  # the 79 of 30 s leave at 90 s


def test_the_hour_window_holds_after_the_minute_clears_and_sets_the_longer_wait(
    tmp_path: Path, clock: Clock, http: httpx.Client
) -> None:
    with limited_github(tmp_path / "gh", clock, secondary_limits=[(3, 60.0), (5, 3600.0)]) as github:
        assert [post_status(http, github, n=n).status_code for n in range(3)] == [201] * 3  # at 0 s
        clock.advance(61)
        assert [post_status(http, github, n=n).status_code for n in range(3)] == [201, 201, 403]
        clock.advance(61)  # the minute is empty again, the hour holds five
        refused = post_status(http, github)

    assert (refused.status_code, refused.headers["Retry-After"]) == (403, str(3600 - 122))


def test_with_status_429_the_refusal_is_a_429_with_the_same_body(
    tmp_path: Path, clock: Clock, http: httpx.Client
) -> None:
    with limited_github(
        tmp_path / "gh", clock, secondary_limits=[(1, 60.0)], secondary_limit_status=429
    ) as github:
        first, refused = post_status(http, github), post_status(http, github)
        logged = statuses_of(github.emulator.calls())

    assert (first.status_code, refused.status_code, refused.headers["Retry-After"]) == (201, 429, "60")
    assert refused.json()["message"].startswith(SECONDARY) and refused.json()["status"] == "429"
    assert logged == [201, 429]


def test_reads_git_and_sandbox_calls_never_count(tmp_path: Path, clock: Clock, http: httpx.Client) -> None:
    with limited_github(tmp_path / "gh", clock, secondary_limits=[(1, 60.0)]) as github:
        auth = {"Authorization": f"token {TOKEN}"}
        reads = [http.get(f"{github.url}/repos/{REPO}", headers=auth).status_code for _ in range(20)]
        clone = subprocess.run(  # git's fetch POSTs git-upload-pack
            ["git", "-c", f"http.extraHeader=Authorization: token {TOKEN}", "clone", "--quiet",
             f"{github.url}/{REPO}.git", str(tmp_path / "clone")],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        admin = http.post(f"{github.url}/_sandbox/tokens", json={"token": "ghp_x", "login": "x"})
        write = post_status(http, github)
        git_answers = [r for r in github.emulator.calls() if r.route.endswith(".git/{rest}")]

    assert reads == [200] * 20 and clone.returncode == 0, clone.stderr
    assert any(r.method == "POST" for r in git_answers)
    assert admin.status_code == 204
    assert write.status_code == 201  # the first write, though 20 reads, a clone and an admin POST came first


def test_each_token_has_its_own_windows(tmp_path: Path, clock: Clock, http: httpx.Client) -> None:
    with limited_github(tmp_path / "gh", clock, secondary_limits=[(2, 60.0)]) as github:
        bot = [post_status(http, github, TOKEN, n).status_code for n in range(3)]
        alice = [post_status(http, github, OTHER_TOKEN, n).status_code for n in range(3)]

    assert bot == alice == [201, 201, 403]


def test_without_secondary_limits_nothing_is_refused(
    tmp_path: Path, clock: Clock, http: httpx.Client
) -> None:
    with limited_github(tmp_path / "gh", clock) as github:
        assert {post_status(http, github, n=n).status_code for n in range(81)} == {201}


def test_every_rest_answer_carries_the_primary_headers_and_remaining_goes_down(
    github: RunningEmulator, clock: Clock, http: httpx.Client
) -> None:
    auth = {"Authorization": f"token {TOKEN}"}
    start = int(clock())
    answers = [
        http.get(f"{github.url}/repos/{REPO}", headers=auth),
        http.get(f"{github.url}/repos/acme/missing", headers=auth),
        post_status(http, github),
    ]
    for _ in range(80):
        post_status(http, github)
    answers.append(post_status(http, github))  # refused: it still counts towards the hour's 5000

    assert [a.status_code for a in answers] == [200, 404, 201, 403]
    for used, answer in zip([1, 2, 3, 84], answers, strict=True):
        assert {k: answer.headers[k] for k in ("X-RateLimit-Limit", "X-RateLimit-Used",
                                               "X-RateLimit-Remaining", "X-RateLimit-Reset",
                                               "X-RateLimit-Resource")} == {
            "X-RateLimit-Limit": "5000",
            "X-RateLimit-Used": str(used),
            "X-RateLimit-Remaining": str(5000 - used),
            "X-RateLimit-Reset": str(start + 3600),
            "X-RateLimit-Resource": "core",
        }  # fmt: skip


def test_rate_limit_reports_the_quota_without_spending_it_and_a_new_hour_starts_afresh(
    github: RunningEmulator, clock: Clock, http: httpx.Client
) -> None:
    auth = {"Authorization": f"token {TOKEN}"}
    start = int(clock())
    post_status(http, github)
    first, second = (http.get(f"{github.url}/rate_limit", headers=auth) for _ in range(2))
    clock.advance(3600)
    fresh = http.get(f"{github.url}/repos/{REPO}", headers=auth)

    core = {"limit": 5000, "used": 1, "remaining": 4999, "reset": start + 3600}
    assert first.json()["resources"]["core"] == second.json()["rate"] == core
    assert second.headers["X-RateLimit-Used"] == "1"
    assert (fresh.headers["X-RateLimit-Used"], fresh.headers["X-RateLimit-Reset"]) == ("1", str(start + 7200))


def test_callers_without_a_valid_token_share_their_hosts_60_an_hour(
    github: RunningEmulator, http: httpx.Client
) -> None:
    wrong = {"Authorization": "token nope"}
    answers = [http.get(f"{github.url}/repos/{REPO}", headers=h) for h in ({}, wrong)]

    assert [a.status_code for a in answers] == [401, 401]
    assert [(a.headers["X-RateLimit-Limit"], a.headers["X-RateLimit-Used"]) for a in answers] == [
        ("60", "1"), ("60", "2")
    ]  # fmt: skip


def test_an_injected_faults_answer_carries_only_its_own_headers_but_counts(
    github: RunningEmulator, http: httpx.Client
) -> None:
    github.emulator.inject(
        Fault(502, path=f"/repos/{REPO}$"),
        Fault(429, path=f"/repos/{REPO}$", headers={"X-RateLimit-Remaining": "0"}),
    )
    auth = {"Authorization": f"token {TOKEN}"}
    bad_gateway, limited, fine = (http.get(f"{github.url}/repos/{REPO}", headers=auth) for _ in range(3))

    assert (bad_gateway.status_code, limited.status_code, fine.status_code) == (502, 429, 200)
    assert "X-RateLimit-Limit" not in bad_gateway.headers and "X-RateLimit-Limit" not in limited.headers
    assert limited.headers["X-RateLimit-Remaining"] == "0"  # the test's word, not the emulator's count
    assert fine.headers["X-RateLimit-Used"] == "3"


def test_git_answers_carry_no_rate_limit_headers(github: RunningEmulator, http: httpx.Client) -> None:
    refs = http.get(
        f"{github.url}/{REPO}.git/info/refs", params={"service": "git-upload-pack"},
        headers={"Authorization": f"token {TOKEN}"},
    )  # fmt: skip
    assert refs.status_code == 200 and "X-RateLimit-Limit" not in refs.headers


@pytest.mark.parametrize(
    ("limits", "status", "wrong"),
    [([(0, 60.0)], 403, "0/60.0"), ([(80, 0.0)], 403, "80/0.0"), (None, 500, "500")],
)
def test_limits_github_would_not_use_are_refused_up_front(
    limits: list[tuple[int, float]] | None, status: int, wrong: str
) -> None:
    with pytest.raises(ValueError, match=wrong):
        RateLimits(limits, status)
