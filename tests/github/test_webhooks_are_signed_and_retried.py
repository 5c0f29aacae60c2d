"""Webhooks from the sandbox arrive the way GitHub's do, at a real HTTP receiver.

Each event comes with its `X-GitHub-Event`, a `X-GitHub-Delivery` GUID of its own and a
`X-Hub-Signature-256` that GitHub's documented check accepts; a receiver that fails is tried again
under the same GUID, every attempt is listed by the deliveries API, and a delivery that never got
through can be redelivered through the REST API, so fluxgate's receiver can be tested for the
failures it will meet on github.com. `dispatcher.settle()` waits for deliveries: no sleeps.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import github as gh
import httpx
import pytest

from fluxgate.sandbox.github import RunningEmulator
from tests.github.conftest import TOKEN
from tests.github.receiver import Received, Receiver, running_receiver

SECRET = "It's a Secret to Everybody"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver(SECRET) as running:
        yield running


@pytest.fixture
def api(github: RunningEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=github.url, headers={"Authorization": f"token {TOKEN}"}, timeout=10) as client:
        yield client


def add_hook(api: httpx.Client, repo: str, url: str, secret: str | None = SECRET) -> int:
    config = {"url": url, "content_type": "json", **({"secret": secret} if secret else {})}
    answer = api.post(f"/repos/{repo}/hooks", json={"name": "web", "events": ["*"], "config": config})
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def settle(github: RunningEmulator) -> None:
    assert github.emulator.dispatcher.settle(), "webhook deliveries did not settle"


def commit_on(api: httpx.Client, repo: str, parent: str, path: str, content: str) -> str:
    """A commit through the Git Data API (no ref moves yet)."""
    base_tree = api.get(f"/repos/{repo}/git/commits/{parent}").json()["tree"]["sha"]
    tree = api.post(f"/repos/{repo}/git/trees", json={"base_tree": base_tree, "tree": [
        {"path": path, "mode": "100644", "type": "blob", "content": content}]}).json()["sha"]
    answer = api.post(f"/repos/{repo}/git/commits", json={"message": f"change {path}", "tree": tree,
                                                          "parents": [parent]})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["sha"])


def head_of(api: httpx.Client, repo: str, branch: str = "main") -> str:
    return str(api.get(f"/repos/{repo}/git/ref/heads/{branch}").json()["object"]["sha"])


def assert_like_github(receiver: Receiver, hook_id: int) -> None:
    """What every delivery must carry, checked on the wire for all the test received."""
    assert receiver.received, "nothing was delivered"
    for got in receiver.received:
        assert got.signature_ok, f"{got.event}: {got.headers.get('x-hub-signature-256')} does not verify"
        assert got.event and got.headers["content-type"] == "application/json"
        assert got.headers["user-agent"].startswith("GitHub-Hookshot/")
        assert got.headers["x-github-hook-id"] == str(hook_id)
        assert uuid.UUID(got.delivery or "")  # GitHub's delivery ids are GUIDs
    guids = [r.delivery for r in receiver.received]
    assert len(set(guids)) == len(guids), f"a delivery id was reused: {guids}"


def deliveries(api: httpx.Client, repo: str, hook_id: int, guid: str | None) -> list[dict[str, Any]]:
    answer = api.get(f"/repos/{repo}/hooks/{hook_id}/deliveries")
    assert answer.status_code == 200, answer.text
    return [d for d in answer.json() if guid is None or d["guid"] == guid]


def test_creating_a_hook_sends_a_signed_ping(github: RunningEmulator, api: httpx.Client, manifests_repo: str,
                                              receiver: Receiver) -> None:
    hook_id = add_hook(api, manifests_repo, receiver.url)
    settle(github)

    ping = receiver.one("ping")
    assert ping.payload["hook_id"] == hook_id and ping.payload["hook"]["config"]["url"] == receiver.url
    assert ping.payload["repository"]["full_name"] == manifests_repo
    assert ping.headers["x-hub-signature"].startswith("sha1=")  # the legacy header GitHub still sends
    assert_like_github(receiver, hook_id)


def test_pushes_through_the_api_and_through_commit_files(github: RunningEmulator, api: httpx.Client,
                                                         manifests_repo: str, receiver: Receiver) -> None:
    hook_id = add_hook(api, manifests_repo, receiver.url)
    main = head_of(api, manifests_repo)
    moved = commit_on(api, manifests_repo, main, "dev/app.yaml", "replicas: 1\n")
    api.patch(f"/repos/{manifests_repo}/git/refs/heads/main", json={"sha": moved}).raise_for_status()
    by_hand = github.emulator.commit_files(manifests_repo, "main", {"dev/app.yaml": "replicas: 2\n"},
                                           "by hand", author="alice")
    settle(github)

    pushes = receiver.accepted("push")
    assert [(p.payload["ref"], p.payload["before"], p.payload["after"]) for p in pushes] == [
        ("refs/heads/main", main, moved), ("refs/heads/main", moved, by_hand)]
    assert pushes[0].payload["head_commit"]["added"] == ["dev/app.yaml"]
    assert pushes[1].payload["head_commit"]["modified"] == ["dev/app.yaml"]
    assert pushes[1].payload["pusher"]["name"] == "alice"
    assert_like_github(receiver, hook_id)


def test_pull_requests_opened_synchronized_reviewed_merged_and_closed(
    github: RunningEmulator, api: httpx.Client, manifests_repo: str, receiver: Receiver
) -> None:
    hook_id = add_hook(api, manifests_repo, receiver.url)
    r = f"/repos/{manifests_repo}"
    first = commit_on(api, manifests_repo, head_of(api, manifests_repo), "dev/app.yaml", "replicas: 1\n")
    api.post(f"{r}/git/refs", json={"ref": "refs/heads/promote", "sha": first}).raise_for_status()
    merged = api.post(f"{r}/pulls", json={"title": "Promote", "head": "promote", "base": "main"}).json()
    second = commit_on(api, manifests_repo, first, "dev/app.yaml", "replicas: 2\n")
    api.patch(f"{r}/git/refs/heads/promote", json={"sha": second}).raise_for_status()
    with httpx.Client(base_url=github.url, headers={"Authorization": "token ghp_reviewer"}) as alice:
        alice.post(f"{r}/pulls/{merged['number']}/reviews", json={"event": "APPROVE"}).raise_for_status()
    api.put(f"{r}/pulls/{merged['number']}/merge", json={"merge_method": "squash"}).raise_for_status()
    third = commit_on(api, manifests_repo, head_of(api, manifests_repo), "dev/other.yaml", "a: 1\n")
    api.post(f"{r}/git/refs", json={"ref": "refs/heads/abandoned", "sha": third}).raise_for_status()
    abandoned = api.post(f"{r}/pulls", json={"title": "Abandon", "head": "abandoned", "base": "main"}).json()
    api.patch(f"{r}/pulls/{abandoned['number']}", json={"state": "closed"}).raise_for_status()
    settle(github)

    opened = receiver.accepted("pull_request", "opened")
    assert [o.payload["number"] for o in opened] == [merged["number"], abandoned["number"]]
    synchronize = receiver.one("pull_request", "synchronize").payload
    assert (synchronize["before"], synchronize["after"]) == (first, second)
    review = receiver.one("pull_request_review", "submitted").payload
    assert review["review"]["state"] == "APPROVED" and review["review"]["user"]["login"] == "alice"
    assert review["review"]["commit_id"] == second
    closed = {c.payload["number"]: c.payload["pull_request"]
              for c in receiver.accepted("pull_request", "closed")}
    assert closed[merged["number"]]["merged"] is True
    assert closed[merged["number"]]["merge_commit_sha"] == head_of(api, manifests_repo)
    assert closed[abandoned["number"]]["merged"] is False
    assert closed[abandoned["number"]]["merged_at"] is None
    assert_like_github(receiver, hook_id)


def test_status_deployment_status_and_repository_dispatch(github: RunningEmulator, api: httpx.Client,
                                                          manifests_repo: str, receiver: Receiver) -> None:
    hook_id = add_hook(api, manifests_repo, receiver.url)
    r = f"/repos/{manifests_repo}"
    sha = head_of(api, manifests_repo)
    status = {"state": "success", "context": "fluxgate/render"}
    api.post(f"{r}/statuses/{sha}", json=status).raise_for_status()
    deployment = api.post(f"{r}/deployments", json={"ref": "main", "environment": "dev"}).json()
    api.post(f"{r}/deployments/{deployment['id']}/statuses", json={"state": "in_progress"}).raise_for_status()
    client = gh.Github(auth=gh.Auth.Token(TOKEN), base_url=github.url, lazy=True)
    assert client.get_repo(manifests_repo).create_repository_dispatch("promote", {"stage": "dev"})
    settle(github)

    status = receiver.one("status").payload
    assert (status["sha"], status["state"], status["context"]) == (sha, "success", "fluxgate/render")
    deployment_status = receiver.one("deployment_status", "created").payload
    assert deployment_status["deployment_status"]["state"] == "in_progress"
    assert deployment_status["deployment"]["id"] == deployment["id"]
    dispatch = receiver.one("repository_dispatch", "promote").payload
    assert dispatch["client_payload"] == {"stage": "dev"} and dispatch["branch"] == "main"
    assert_like_github(receiver, hook_id)


def test_a_wrong_secret_or_no_secret_fails_verification(github: RunningEmulator, api: httpx.Client,
                                                        manifests_repo: str, receiver: Receiver) -> None:
    add_hook(api, manifests_repo, receiver.url, secret="not the receiver's secret")
    add_hook(api, manifests_repo, receiver.url, secret=None)
    settle(github)

    wrong, unsigned = receiver.accepted("ping")
    assert wrong.headers["x-hub-signature-256"].startswith("sha256=") and not wrong.signature_ok
    assert "x-hub-signature-256" not in unsigned.headers and not unsigned.signature_ok


def test_a_receiver_that_fails_twice_gets_the_delivery_on_the_third_attempt(
    github: RunningEmulator, api: httpx.Client, manifests_repo: str, receiver: Receiver
) -> None:
    hook_id = add_hook(api, manifests_repo, receiver.url)
    settle(github)
    receiver.fail_next(1, status=500)
    receiver.drop_next(1)  # the second attempt gets no answer at all
    sha = head_of(api, manifests_repo)
    api.post(f"/repos/{manifests_repo}/statuses/{sha}", json={"state": "pending"}).raise_for_status()
    settle(github)

    tries = [r for r in receiver.received if r.event == "status"]
    assert [t.answered for t in tries] == [500, 0, 200]
    assert len({t.delivery for t in tries}) == 1, "a retry is the same delivery: same X-GitHub-Delivery"
    assert all(t.body == tries[0].body and t.signature_ok for t in tries)

    listed = deliveries(api, manifests_repo, hook_id, tries[0].delivery)
    assert [(d["status_code"], d["redelivery"]) for d in listed] == [(200, True), (0, True), (500, False)]
    assert listed[0]["status"] == "OK" and listed[2]["status"] == "Invalid HTTP Response: 500"
    assert len({d["id"] for d in listed}) == 3 and {d["event"] for d in listed} == {"status"}
    client = gh.Github(auth=gh.Auth.Token(TOKEN), base_url=github.url, lazy=True)
    summaries = client.get_repo(manifests_repo).get_hook_deliveries(hook_id)
    assert [s.status_code for s in summaries if s.guid == tries[0].delivery] == [200, 0, 500]


def test_a_delivery_to_a_receiver_that_is_down_can_be_redelivered(
    github: RunningEmulator, api: httpx.Client, manifests_repo: str, receiver: Receiver
) -> None:
    hook_id = add_hook(api, manifests_repo, receiver.url)
    settle(github)
    receiver.stop()
    api.post(f"/repos/{manifests_repo}/dispatches", json={"event_type": "promote"}).raise_for_status()
    settle(github)

    listed = deliveries(api, manifests_repo, hook_id, None)
    failed = [d for d in listed if d["event"] == "repository_dispatch"]
    assert failed and all(d["status_code"] == 0 and d["status"] != "OK" for d in failed)
    assert len({d["guid"] for d in failed}) == 1
    assert receiver.accepted("repository_dispatch") == []

    receiver.start()
    answer = api.post(f"/repos/{manifests_repo}/hooks/{hook_id}/deliveries/{failed[-1]['id']}/attempts")
    assert answer.status_code == 202, answer.text
    settle(github)

    redelivered: Received = receiver.one("repository_dispatch", "promote")
    assert redelivered.delivery == failed[0]["guid"] and redelivered.signature_ok
    latest = deliveries(api, manifests_repo, hook_id, failed[0]["guid"])[0]
    assert (latest["status_code"], latest["status"], latest["redelivery"]) == (200, "OK", True)
    missing = api.post(f"/repos/{manifests_repo}/hooks/{hook_id}/deliveries/1/attempts")
    assert missing.status_code == 404
