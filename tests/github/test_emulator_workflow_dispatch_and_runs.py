"""GitHub Actions as the emulator keeps it: a workflow exists once its file is on the default branch, a
dispatch is refused the way GitHub refuses it (unknown ref, no `workflow_dispatch` trigger, inputs the
file doesn't declare or allow), and runs are listed newest first, filtered like GitHub filters them.
Nothing runs a job: tests and the demo finish runs through the control API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from fluxgate.sandbox.github import RunningEmulator
from tests.github.conftest import READ_ONLY_TOKEN, TOKEN

TYPED = """\
name: Smoke tests
on:
  push:
  workflow_dispatch:
    inputs:
      env:
        type: choice
        options: [dev, staging, prod]
        required: true
      dry-run:
        type: boolean
        default: false
      suite:
        required: true
        default: smoke
"""


@pytest.fixture
def api(github: RunningEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=github.url, headers={"Authorization": f"token {TOKEN}"}, timeout=30) as http:
        yield http


def _dispatch(api: httpx.Client, repo: str, workflow: str | int, ref: str = "main",
              **inputs: Any) -> httpx.Response:
    return api.post(f"/repos/{repo}/actions/workflows/{workflow}/dispatches",
                    json={"ref": ref, "inputs": inputs, "return_run_details": True})


def _refused(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    return str(response.json()["message"])


def test_a_workflow_exists_once_its_file_is_on_the_default_branch(
    github: RunningEmulator, manifests_repo: str, api: httpx.Client
) -> None:
    github.emulator.commit_files(manifests_repo, "feature", {".github/workflows/smoke.yml": TYPED}, "wip",
                                 author="alice")
    assert api.get(f"/repos/{manifests_repo}/actions/workflows/smoke.yml").status_code == 404
    assert _refused(_dispatch(api, manifests_repo, "smoke.yml", "feature", env="dev"), 404) == "Not Found"

    github.emulator.commit_files(manifests_repo, "main", {".github/workflows/smoke.yml": TYPED,
                                                          ".github/workflows/lint.yaml": "on: push\n"},
                                 "Add workflows", author="alice")
    smoke = api.get(f"/repos/{manifests_repo}/actions/workflows/smoke.yml").json()
    lint = api.get(f"/repos/{manifests_repo}/actions/workflows/lint.yaml").json()

    assert (smoke["name"], smoke["path"], smoke["state"]) == ("Smoke tests", ".github/workflows/smoke.yml",
                                                              "active")
    assert lint["name"] == ".github/workflows/lint.yaml"  # no `name:`: GitHub shows the path
    assert api.get(f"/repos/{manifests_repo}/actions/workflows/{smoke['id']}").json() == smoke


def test_a_dispatch_needs_a_branch_or_tag_and_a_dispatch_trigger(
    github: RunningEmulator, manifests_repo: str, api: httpx.Client
) -> None:
    files = {".github/workflows/lint.yml": "on: push\n",
             ".github/workflows/any.yml": "on: [push, workflow_dispatch]\n"}
    github.emulator.commit_files(manifests_repo, "main", files, "Add workflows", author="alice")
    _, git = github.emulator.repo(*manifests_repo.split("/"))
    head = git.ref("refs/heads/main")
    assert head is not None
    git.set_ref("refs/tags/v1.0.0", head, None)

    assert _refused(_dispatch(api, manifests_repo, "lint.yml"), 422) == (
        "Workflow does not have 'workflow_dispatch' trigger")
    assert _refused(_dispatch(api, manifests_repo, "any.yml", head), 422) == f"No ref found for: {head}"
    assert _dispatch(api, manifests_repo, "any.yml", "v1.0.0").status_code == 200
    assert _dispatch(api, manifests_repo, "any.yml", "refs/heads/main").status_code == 200
    assert [(r.head_branch, r.head_sha) for r in github.emulator.workflow_runs(manifests_repo)] == [
        ("v1.0.0", head), ("main", head)]


def test_typed_inputs_take_only_their_allowed_values_and_defaults_fill_required_ones(
    github: RunningEmulator, manifests_repo: str, api: httpx.Client
) -> None:
    github.emulator.commit_files(manifests_repo, "main", {".github/workflows/smoke.yml": TYPED}, "Add smoke",
                                 author="alice")

    assert _refused(_dispatch(api, manifests_repo, "smoke.yml", env="qa"), 422) == (
        "Provided value 'qa' for input 'env' not in the list of allowed values")
    assert _refused(_dispatch(api, manifests_repo, "smoke.yml", env="dev", **{"dry-run": "maybe"}), 422) == (
        "Provided value 'maybe' for input 'dry-run' not in the list of allowed values")
    assert "is not a string" in _refused(_dispatch(api, manifests_repo, "smoke.yml", env=["dev"]), 422)
    assert _refused(_dispatch(api, manifests_repo, "smoke.yml"), 422) == "Required input 'env' not provided"
    assert _dispatch(api, manifests_repo, "smoke.yml", env="prod", **{"dry-run": True}).status_code == 200
    assert [r.inputs for r in github.emulator.workflow_runs(manifests_repo)] == [
        {"env": "prod", "dry-run": True}]


def test_runs_are_listed_newest_first_and_filtered_like_github(
    github: RunningEmulator, manifests_repo: str, api: httpx.Client
) -> None:
    main = github.emulator.add_workflow(manifests_repo, "verify.yml", ["env"])
    _, git = github.emulator.repo(*manifests_repo.split("/"))
    git.set_ref("refs/heads/release", main, None)
    release_head = github.emulator.commit_files(manifests_repo, "release", {"notes.md": "1.0\n"}, "Release",
                                                author="alice")
    first = _dispatch(api, manifests_repo, "verify.yml", env="dev").json()["workflow_run_id"]
    second = _dispatch(api, manifests_repo, "verify.yml", "release", env="prod").json()["workflow_run_id"]
    github.emulator.complete_workflow_run(manifests_repo, first, "failure")

    def listed(path: str = "actions/runs", **query: str) -> list[int]:
        body = api.get(f"/repos/{manifests_repo}/{path}", params=query).json()
        assert body["total_count"] == len(body["workflow_runs"]) or "page" in query
        return [run["id"] for run in body["workflow_runs"]]

    assert listed(event="workflow_dispatch") == [second, first]
    assert listed(event="push") == []
    assert listed(branch="release") == [second]
    assert listed(head_sha=release_head) == [second]
    assert listed(status="failure") == listed(status="completed") == [first]
    assert listed(status="queued") == [second]
    assert listed(created=">=2000-01-01T00:00:00Z") == [second, first]
    assert listed(created="<2000-01-01") == []
    assert listed("actions/workflows/verify.yml/runs", per_page="1", page="2") == [first]
    assert api.get(f"/repos/{manifests_repo}/actions/runs", params={"created": ">=soon"}).status_code == 422


def test_only_an_unfinished_run_can_be_completed_with_a_known_conclusion(
    github: RunningEmulator, manifests_repo: str, api: httpx.Client
) -> None:
    github.emulator.add_workflow(manifests_repo, "verify.yml")
    run_id = _dispatch(api, manifests_repo, "verify.yml").json()["workflow_run_id"]

    with pytest.raises(ValueError, match="not a workflow run conclusion"):
        github.emulator.complete_workflow_run(manifests_repo, run_id, "passed")
    with pytest.raises(ValueError, match="no workflow run 1"):
        github.emulator.complete_workflow_run(manifests_repo, 1)
    github.emulator.complete_workflow_run(manifests_repo, run_id, "cancelled")
    with pytest.raises(ValueError, match="already completed"):
        github.emulator.complete_workflow_run(manifests_repo, run_id)


def test_the_admin_api_shows_runs_with_their_inputs_and_completes_them(
    github: RunningEmulator, manifests_repo: str, api: httpx.Client
) -> None:
    github.emulator.add_workflow(manifests_repo, "verify.yml", ["env"])
    run_id = _dispatch(api, manifests_repo, "verify.yml", env="dev").json()["workflow_run_id"]

    runs = httpx.get(f"{github.url}/_sandbox/workflow-runs", params={"repo": manifests_repo}).json()
    done = httpx.post(f"{github.url}/_sandbox/workflow-runs",
                      json={"full_name": manifests_repo, "run_id": run_id, "conclusion": "success"})
    again = httpx.post(f"{github.url}/_sandbox/workflow-runs",
                       json={"full_name": manifests_repo, "run_id": run_id})

    assert [(r["id"], r["inputs"], r["status"]) for r in runs] == [(run_id, {"env": "dev"}, "queued")]
    assert (done.status_code, done.json()["conclusion"]) == (200, "success")
    assert again.status_code == 422 and "already completed" in again.json()["message"]


def test_a_read_only_token_cannot_dispatch(github: RunningEmulator, manifests_repo: str) -> None:
    github.emulator.add_workflow(manifests_repo, "verify.yml")
    response = httpx.post(f"{github.url}/repos/{manifests_repo}/actions/workflows/verify.yml/dispatches",
                          json={"ref": "main"}, headers={"Authorization": f"token {READ_ONLY_TOKEN}"})
    assert response.status_code == 403
    assert github.emulator.workflow_runs(manifests_repo) == []
