"""GitHub webhook deliveries become the facts fluxgate acts on; other events are ignored, bad ones rejected.

GitHub's own examples (npm `@octokit/webhooks-examples`, installed into `.cache/npm` by `make unit`) are
the reference: every example of an event we handle must parse.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from fluxgate.connector.github_events import (
    HANDLED_EVENTS,
    CheckFact,
    DispatchFact,
    EventRejected,
    PingFact,
    PullRequestFact,
    PushFact,
    ReleaseFact,
    ReviewFact,
    WorkflowRunFact,
    parse_github_event,
)
from fluxgate.github import PullRequest, Review, WorkflowRun
from fluxgate.github.pr_text import Promotion, body_with_marker

EXAMPLES = (Path(__file__).resolve().parents[2] / ".cache" / "npm" / "node_modules" / "@octokit"
            / "webhooks-examples" / "api.github.com" / "index.json")
FACTS = {
    "ping": PingFact, "pull_request": PullRequestFact, "pull_request_review": ReviewFact, "push": PushFact,
    "workflow_run": WorkflowRunFact, "repository_dispatch": DispatchFact, "release": ReleaseFact,
    "status": CheckFact, "check_suite": CheckFact,
}


def load_examples() -> dict[str, list[dict[str, Any]]]:
    if not EXAMPLES.exists():
        pytest.fail(f"{EXAMPLES} is missing: `make unit` installs it (npm, into .cache/npm)")
    return {entry["name"]: entry["examples"] for entry in json.loads(EXAMPLES.read_text())}


ALL = load_examples()
HANDLED = [(event, n, payload) for event in sorted(HANDLED_EVENTS) for n, payload in enumerate(ALL[event])]


def example(event: str, action: str | None = None) -> dict[str, Any]:
    return copy.deepcopy(next(p for p in ALL[event] if action is None or p.get("action") == action))


def test_we_handle_exactly_the_events_the_connector_subscribes_to() -> None:
    assert set(FACTS) == HANDLED_EVENTS


@pytest.mark.parametrize(("event", "payload"), [(e, p) for e, _, p in HANDLED],
                         ids=[f"{e}-{n}-{p.get('action', '')}" for e, n, p in HANDLED])
def test_every_github_example_of_a_handled_event_parses(event: str, payload: dict[str, Any]) -> None:
    fact = parse_github_event(event, json.dumps(payload).encode())
    assert isinstance(fact, FACTS[event])
    assert fact == parse_github_event(event, payload)
    assert fact.kind == event
    assert type(fact).model_validate_json(fact.model_dump_json()) == fact  # an inbox can store it as JSON


def test_a_merged_promotion_pr_carries_the_merge_result_and_the_promotion() -> None:
    promotion = Promotion(app="shop", env="staging", version="1.1.0")
    payload = example("pull_request", "closed")
    pr = payload["pull_request"]
    pr.update(merged=True, merge_commit_sha="a" * 40, merged_by={"login": "approver", "id": 1},
              body=body_with_marker(promotion, "## Changes\n- web: 1.0.0 -> 1.1.0"))
    fact = parse_github_event("pull_request", payload)
    assert fact == PullRequestFact(
        action="closed",
        pull_request=PullRequest(
            repo="Codertocat/Hello-World", number=2, url="https://github.com/Codertocat/Hello-World/pull/2",
            title="Update the README with new information.", state="closed", merged=True,
            merge_sha="a" * 40, merged_by="approver", head_branch="changes", head_sha=pr["head"]["sha"],
            base_branch="master", promotion=promotion,
        ),
        closed_by="Codertocat",
    )


def test_a_closed_unmerged_pr_has_no_merge_sha_even_though_github_sends_its_test_merge() -> None:
    payload = example("pull_request", "closed")
    assert payload["pull_request"]["merge_commit_sha"]
    fact = parse_github_event("pull_request", payload)
    assert isinstance(fact, PullRequestFact)
    pr = fact.pull_request
    assert (fact.action, pr.merged, pr.merge_sha, pr.merged_by) == ("closed", False, None, None)
    assert fact.closed_by == "Codertocat"  # who closed it: the one who rejected the promotion
    assert pr.promotion is None  # not a PR fluxgate opened


def test_a_marker_that_is_not_a_promotion_is_no_promotion() -> None:
    payload = example("pull_request", "opened")
    payload["pull_request"]["body"] = '<!-- fluxgate:promotion {"app": "shop"} -->'
    fact = parse_github_event("pull_request", payload)
    assert isinstance(fact, PullRequestFact) and fact.pull_request.promotion is None
    payload["pull_request"]["body"] = None
    assert parse_github_event("pull_request", payload) is not None


def test_a_review_on_a_promotion_pr() -> None:
    promotion = Promotion(app="shop", env="prod", version="2.0.0")
    payload = example("pull_request_review", "submitted")
    payload["review"]["state"] = "APPROVED"
    payload["pull_request"]["body"] = body_with_marker(promotion, "summary")
    fact = parse_github_event("pull_request_review", payload)
    review = Review(user="Codertocat", state="APPROVED", commit="ec26c3e57ca3a959ca5aad62de7213c562f8c821")
    assert fact == ReviewFact(repo="Codertocat/Hello-World", number=2, action="submitted", review=review,
                              promotion=promotion)
    payload["review"]["state"] = "changes_requested"  # as webhooks spell it: the REST API's spelling here
    payload["review"]["user"] = None
    fact = parse_github_event("pull_request_review", payload)
    assert isinstance(fact, ReviewFact) and fact.review.user is None
    assert fact.review.state == "CHANGES_REQUESTED"


def test_push_workflow_run_dispatch_and_ping_facts() -> None:
    push = parse_github_event("push", example("push"))
    assert push == PushFact(repo="Codertocat/Hello-World", ref="refs/tags/simple-tag", before="0" * 40,
                            after="6113728f27ae82c7b1a177c8d03f9e96e0adf246", pusher="Codertocat")
    run = parse_github_event("workflow_run", ALL["workflow_run"][1])
    assert run == WorkflowRunFact(
        action="completed",
        run=WorkflowRun(
            repo="octo-org/octo-repo", id=289782451, name="", path=".github/workflows/test.yml",
            event="repository_dispatch", head_branch="master",
            head_sha="3484a3fb816e0859fd6e1cea078d76385ff50625",
            status="completed", conclusion="success",
            html_url="https://github.com/octo-org/octo-repo/actions/runs/289782451",
            created_at=datetime.fromisoformat(ALL["workflow_run"][1]["workflow_run"]["created_at"]),
        ),
    )
    payload = example("repository_dispatch")
    payload["client_payload"] = {"app": "shop", "version": "1.1.0"}
    assert parse_github_event("repository_dispatch", payload) == DispatchFact(
        repo="octo-org/octo-repo", event_type="on-demand-test", client_payload=payload["client_payload"])
    payload["client_payload"] = None
    dispatch = parse_github_event("repository_dispatch", payload)
    assert isinstance(dispatch, DispatchFact) and dispatch.client_payload == {}
    repo_hook = PingFact(repo="Octocoders/Hello-World", hook_id=109948940)
    assert parse_github_event("ping", ALL["ping"][0]) == repo_hook
    assert parse_github_event("ping", ALL["ping"][-1]) == PingFact(repo=None, hook_id=109948940)  # org hook


@pytest.mark.parametrize("event", [*sorted(set(ALL) - HANDLED_EVENTS), "", "unknown", "deployment_status"])
def test_events_we_do_not_act_on_are_ignored_unread(event: str) -> None:
    assert parse_github_event(event, b"not even JSON") is None
    if event in ALL:
        assert parse_github_event(event, ALL[event][0]) is None


def test_the_event_name_is_read_as_github_sends_it_or_close() -> None:
    assert isinstance(parse_github_event(" Pull_Request ", example("pull_request")), PullRequestFact)


def changed(event: str, path: str, value: Any, action: str | None = None) -> dict[str, Any]:
    """An example with the value at a dotted path replaced (`...` removes it)."""
    payload = example(event, action)
    *parents, last = path.split(".")
    target = payload
    for key in parents:
        target = target[key]
    if value is ...:
        del target[last]
    else:
        target[last] = value
    return payload


@pytest.mark.parametrize(("event", "payload", "message"), [
    *[("pull_request", changed("pull_request", path, value), message) for path, value, message in [
        ("pull_request.number", "2", "pull_request.number: expected an integer"),
        ("pull_request.number", True, "pull_request.number: expected an integer"),
        ("pull_request.number", 2.0, "pull_request.number: expected an integer"),
        ("pull_request", ..., "pull_request: missing"),
        ("pull_request.head.sha", None, "pull_request.head.sha: expected a string"),
        ("pull_request.merged", "yes", "pull_request.merged: expected a boolean"),
        ("pull_request.merged_by", "x", "pull_request.merged_by: expected an object"),
        ("pull_request.body", 5, "pull_request.body: expected a string"),
        ("repository", ..., "repository: missing"),
        ("repository.full_name", 1, "repository.full_name: expected a string"),
    ]],
    ("pull_request_review", changed("pull_request_review", "review.state", ...), "review.state: missing"),
    ("pull_request_review", changed("pull_request_review", "review.user", []),
     "review.user: expected an object"),
    ("push", changed("push", "pusher.name", 1), "pusher.name: expected a string"),
    ("push", changed("push", "after", ...), "after: missing"),
    ("workflow_run", changed("workflow_run", "workflow_run.head_sha", None),
     "workflow_run.head_sha: expected a string"),
    ("repository_dispatch", changed("repository_dispatch", "client_payload", []),
     "client_payload: expected an object"),
    ("ping", changed("ping", "hook_id", "1"), "hook_id: expected an integer"),
    ("pull_request", b"not json", "body: not JSON"),
    ("pull_request", b"\xff", "body: not UTF-8"),
    ("push", b"[]", "body: expected a JSON object, got a list"),
    ("push", b"{}", "ref: missing (and 4 more)"),
], ids=lambda value: value if isinstance(value, str) else "")
def test_malformed_payloads_are_rejected_naming_the_path(event: str, payload: Any, message: str) -> None:
    with pytest.raises(EventRejected) as caught:
        parse_github_event(event, payload)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_a_passing_status_or_check_suite_is_a_passed_check_on_its_commit() -> None:
    payload = example("status")
    payload["state"] = "success"
    fact = parse_github_event("status", payload)
    assert fact == CheckFact(repo="Codertocat/Hello-World", sha=payload["sha"], name=payload["context"],
                             state="success", passed=True)
    payload["state"] = "pending"
    pending = fact.model_copy(update={"state": "pending", "passed": False})
    assert parse_github_event("status", payload) == pending
    suite = example("check_suite", "completed")
    suite["check_suite"]["conclusion"] = "success"
    fact = parse_github_event("check_suite", suite)
    assert isinstance(fact, CheckFact) and fact.passed and fact.sha == suite["check_suite"]["head_sha"]
    suite["check_suite"]["conclusion"] = "failure"
    fact = parse_github_event("check_suite", suite)
    assert isinstance(fact, CheckFact) and not fact.passed and fact.state == "failure"
