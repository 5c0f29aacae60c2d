"""Every webhook payload the emulator sends has the shape of GitHub's own examples.

The reference is `@octokit/webhooks-examples` (payloads captured from github.com, the data Octokit's
webhook types are generated from). Code written against the sandbox reads these payloads the way it
will read GitHub's, so a key GitHub always sends must be there, with the same JSON type. Only keys
present in *every* example of an event and action are required (examples of organisation repos or
App installations carry keys that plain repository hooks never get); `null` on either side is
accepted for a typed value, since GitHub itself sends `null` for unset optional objects.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from fluxgate.sandbox.github import RunningEmulator
from tests.github.conftest import TOKEN
from tests.github.receiver import Receiver, running_receiver

EXAMPLES = (Path(__file__).resolve().parents[2] / ".cache" / "npm" / "node_modules" / "@octokit"
            / "webhooks-examples" / "api.github.com" / "index.json")

# Keys some events' examples always carry that the sandbox's hooks genuinely never get:
# - `installation` is only sent to GitHub App webhooks (those examples were captured through an App);
#   a repository hook created with `POST /repos/{o}/{r}/hooks`, what the sandbox emulates, never sees it.
# - `organization` is only sent for repositories an organisation owns; every example of
#   `repository_dispatch` is from an org repository, while the sandbox's owners are users.
NOT_SENT_TO_REPOSITORY_HOOKS = {"installation", "organization"}

# Events whose `action` is chosen by the caller (`repository_dispatch`'s `event_type`): compared with
# every example of the event whatever its action.
FREE_ACTION = {"repository_dispatch"}

Examples = dict[str, list[dict[str, Any]]]  # event name -> its example payloads


@dataclass
class Shape:
    """What all examples agree on at one key path: its JSON types and the keys always present below it."""

    types: set[str] = field(default_factory=set)
    keys: dict[str, Shape] | None = None  # None: never an object with keys in any example
    item: Shape | None = None  # the first array element's shape, where an example had one


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    assert isinstance(value, str), f"not JSON: {value!r}"
    return "string"


def common_shape(samples: list[Any]) -> Shape:
    """The shape every sample has: keys in all object samples (nulls excluded), types seen in any."""
    shape = Shape(types={json_type(s) for s in samples})
    objects = [s for s in samples if isinstance(s, dict)]
    if objects:
        common = set(objects[0]).intersection(*objects[1:])
        shape.keys = {key: common_shape([o[key] for o in objects]) for key in sorted(common)}
    firsts = [s[0] for s in samples if isinstance(s, list) and s]
    if firsts:
        shape.item = common_shape(firsts)
    return shape


def mismatches(actual: Any, shape: Shape, path: str) -> Iterator[str]:
    kind = json_type(actual)
    if kind == "null" or shape.types <= {"null"}:
        return
    if kind not in shape.types:
        yield f"{path}: {kind} where GitHub sends {'/'.join(sorted(shape.types - {'null'}))}"
        return
    if isinstance(actual, dict) and shape.keys is not None:
        for key, below in shape.keys.items():
            if key not in actual:
                yield f"{path}.{key}: missing"
            else:
                yield from mismatches(actual[key], below, f"{path}.{key}")
    if isinstance(actual, list) and actual and shape.item is not None:
        yield from mismatches(actual[0], shape.item, f"{path}[0]")


def load_examples() -> Examples:
    if not EXAMPLES.exists():
        pytest.fail(f"{EXAMPLES} is missing: `make unit` installs it (npm, into .cache/npm)")
    return {entry["name"]: entry["examples"] for entry in json.loads(EXAMPLES.read_text())}


def examples_for(examples: Examples, event: str, action: str | None) -> list[dict[str, Any]]:
    found = examples.get(event, [])
    if event not in FREE_ACTION:
        found = [e for e in found if e.get("action") == action]
    if event == "ping":  # the sandbox has repository hooks only; an org hook's ping has no `repository`
        found = [e for e in found if e["hook"]["type"] == "Repository"]
    return [{k: v for k, v in e.items() if k not in NOT_SENT_TO_REPOSITORY_HOOKS} for e in found]


def drive_every_event(github: RunningEmulator, repo: str, receiver: Receiver) -> None:
    """Everything fluxgate and its tests make the sandbox do, each through the REST API as a client would."""
    github.emulator.add_workflow(repo, "verify.yml", ["env", "version"])
    api = httpx.Client(base_url=github.url, headers={"Authorization": f"token {TOKEN}"}, timeout=10)
    alice = httpx.Client(base_url=github.url, headers={"Authorization": "token ghp_reviewer"}, timeout=10)
    r = f"/repos/{repo}"
    with api, alice:
        api.post(f"{r}/hooks", json={"name": "web", "events": ["*"], "config": {
            "url": receiver.url, "content_type": "json", "secret": receiver.secret}}).raise_for_status()
        main = api.get(f"{r}/git/ref/heads/main").json()["object"]["sha"]

        def commit_on(parent: str, path: str, content: str) -> str:
            base_tree = api.get(f"{r}/git/commits/{parent}").json()["tree"]["sha"]
            tree = api.post(f"{r}/git/trees", json={"base_tree": base_tree, "tree": [
                {"path": path, "mode": "100644", "type": "blob", "content": content}]}).json()["sha"]
            return str(api.post(f"{r}/git/commits", json={"message": f"change {path}", "tree": tree,
                                                          "parents": [parent]}).json()["sha"])

        first = commit_on(main, "dev/app.yaml", "replicas: 1\n")
        api.post(f"{r}/git/refs", json={"ref": "refs/heads/promote", "sha": first}).raise_for_status()
        pr = api.post(f"{r}/pulls", json={"title": "Promote", "head": "promote", "base": "main"}).json()
        second = commit_on(first, "dev/app.yaml", "replicas: 2\n")
        api.patch(f"{r}/git/refs/heads/promote", json={"sha": second}).raise_for_status()
        alice.post(f"{r}/pulls/{pr['number']}/reviews", json={"event": "APPROVE"}).raise_for_status()
        api.post(f"{r}/statuses/{second}", json={"state": "success", "context": "fluxgate/render",
                                                 "target_url": "https://ci.example/1"}).raise_for_status()
        api.put(f"{r}/pulls/{pr['number']}/merge", json={"merge_method": "squash"}).raise_for_status()

        third = commit_on(second, "dev/other.yaml", "a: 1\n")
        api.post(f"{r}/git/refs", json={"ref": "refs/heads/abandoned", "sha": third}).raise_for_status()
        other = api.post(f"{r}/pulls", json={"title": "Abandon", "head": "abandoned", "base": "main"}).json()
        api.patch(f"{r}/pulls/{other['number']}", json={"state": "closed"}).raise_for_status()
        api.patch(f"{r}/pulls/{other['number']}", json={"state": "open"}).raise_for_status()

        deployment = api.post(f"{r}/deployments", json={"ref": "main", "environment": "dev",
                                                        "required_contexts": []}).json()
        api.post(f"{r}/deployments/{deployment['id']}/statuses", json={
            "state": "success", "environment_url": "https://dev.example", "log_url": "https://ci.example/2",
        }).raise_for_status()
        api.post(f"{r}/dispatches", json={"event_type": "fluxgate-promote",
                                          "client_payload": {"stage": "dev"}}).raise_for_status()
        run = api.post(f"{r}/actions/workflows/verify.yml/dispatches", json={
            "ref": "main", "inputs": {"env": "dev", "version": "1.0.0"}, "return_run_details": True}).json()
    github.emulator.complete_workflow_run(repo, run["workflow_run_id"], "success")
    github.emulator.commit_files(repo, "main", {"dev/app.yaml": "replicas: 3\n"}, "by hand", author="alice")
    assert github.emulator.dispatcher.settle(), "webhook deliveries did not settle"


EXPECTED = [
    ("ping", None), ("push", None), ("pull_request", "opened"), ("pull_request", "synchronize"),
    ("pull_request", "closed"), ("pull_request", "reopened"), ("pull_request_review", "submitted"),
    ("status", None), ("deployment", "created"), ("deployment_status", "created"),
    ("repository_dispatch", "fluxgate-promote"), ("workflow_dispatch", None), ("workflow_run", "requested"),
    ("workflow_run", "completed"),
]


def test_every_payload_has_every_key_githubs_examples_always_have(
    github: RunningEmulator, manifests_repo: str
) -> None:
    examples = load_examples()
    with running_receiver("payload-shapes") as receiver:
        drive_every_event(github, manifests_repo, receiver)
    problems: list[str] = []
    for event, action in EXPECTED:
        sent = receiver.accepted(event, action)
        reference = examples_for(examples, event, action)
        if not sent:
            problems.append(f"{event} {action}: never delivered")
        if not reference:
            problems.append(f"{event} {action}: no example in @octokit/webhooks-examples to compare with")
            continue
        shape = common_shape(reference)
        for delivery in sent:
            problems += [f"{event} {action or ''}: {m}" for m in mismatches(delivery.payload, shape, "$")]
    assert not problems, f"{len(problems)} mismatches:\n" + "\n".join(dict.fromkeys(problems))
