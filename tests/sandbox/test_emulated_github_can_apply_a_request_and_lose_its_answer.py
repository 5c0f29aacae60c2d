"""`Fault(swallow=...)`: the emulated GitHub carries a request out, then drops its answer and fails late,
as GitHub does when a call times out or a proxy fails after the change was made. The caller sees an
error; GitHub holds the effect; the request log holds the real answer."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from fluxgate.sandbox.github import Fault, RunningEmulator
from tests.conftest import TOKEN


@pytest.fixture
def api(github: RunningEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=github.url, headers={"Authorization": f"token {TOKEN}"}, timeout=30) as http:
        yield http


def head(github: RunningEmulator, repo: str) -> str:
    return github.emulator.head(repo)


def test_a_swallowed_status_is_set_though_the_caller_got_a_502_late(
    github: RunningEmulator, manifests_repo: str, api: httpx.Client
) -> None:
    sha = head(github, manifests_repo)
    github.emulator.inject(Fault(502, method="POST", path=f"/repos/{manifests_repo}/statuses/", swallow=0.3))
    logged = len(github.emulator.requests)

    started = time.monotonic()
    answer = api.post(f"/repos/{manifests_repo}/statuses/{sha}", json={"state": "pending", "context": "ci/x"})
    waited = time.monotonic() - started

    assert answer.status_code == 502
    assert answer.json()["message"] == "Server Error"
    assert waited >= 0.3
    statuses = api.get(f"/repos/{manifests_repo}/commits/{sha}/statuses").json()
    assert [(s["context"], s["state"]) for s in statuses] == [("ci/x", "pending")]
    (record,) = [r for r in github.emulator.calls(logged) if r.method == "POST"]
    assert record.route == "/repos/{owner}/{repo}/statuses/{sha}"
    assert (record.status, record.swallowed) == (201, True)  # what happened, and that the caller lost it
    assert record.body["context"] == "ci/x"  # the answer GitHub would have given

    again = api.post(f"/repos/{manifests_repo}/statuses/{sha}", json={"state": "success", "context": "ci/x"})
    assert again.status_code == 201  # `times` (1) used up: answered as usual


def test_a_swallow_fault_injected_over_http_creates_the_deployment_and_lists_it(
    github: RunningEmulator, manifests_repo: str, api: httpx.Client
) -> None:
    sha = head(github, manifests_repo)
    fault = {"status": 502, "method": "POST", "path": f"/repos/{manifests_repo}/deployments$", "swallow": 0.1}
    assert httpx.post(f"{github.url}/_sandbox/faults", json={"faults": [fault]}).status_code == 204
    logged = len(github.emulator.requests)

    answer = api.post(
        f"/repos/{manifests_repo}/deployments",
        json={"ref": sha, "environment": "dev", "auto_merge": False, "required_contexts": []},
    )

    assert answer.status_code == 502
    deployments = api.get(f"/repos/{manifests_repo}/deployments", params={"environment": "dev"}).json()
    assert [(d["sha"], d["environment"]) for d in deployments] == [(sha, "dev")]
    listed = httpx.get(f"{github.url}/_sandbox/requests", params={"since": logged}).json()
    (post,) = [r for r in listed if r["method"] == "POST"]
    assert (post["status"], post["swallowed"], post["environment"], post["sha"]) == (201, True, "dev", sha)
    assert post["client"].startswith("127.0.0.1:")


def test_other_requests_are_answered_while_an_answer_is_held_back(
    github: RunningEmulator, manifests_repo: str, api: httpx.Client
) -> None:
    sha = head(github, manifests_repo)
    github.emulator.inject(Fault(502, method="POST", path=f"/repos/{manifests_repo}/statuses/", swallow=1.0))
    logged = len(github.emulator.requests)
    held: list[int] = []
    url, headers = f"{github.url}/repos/{manifests_repo}/statuses/{sha}", {"Authorization": f"token {TOKEN}"}
    post = threading.Thread(
        target=lambda: held.append(httpx.post(url, json={"state": "success"}, headers=headers).status_code)
    )
    post.start()
    try:
        deadline = time.monotonic() + 5
        while not any(r.swallowed for r in github.emulator.calls(logged)) and time.monotonic() < deadline:
            time.sleep(0.01)
        started = time.monotonic()
        assert api.get(f"/repos/{manifests_repo}/commits/{sha}/status").json()["state"] == "success"
        assert time.monotonic() - started < 0.5 and not held  # not queued behind the held answer
    finally:
        post.join(timeout=5)
    assert held == [502]
