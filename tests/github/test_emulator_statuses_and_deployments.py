"""What fluxgate reports back on commits, as GitHub keeps it: commit statuses (the combined status is the
latest state per context), deployments and their statuses (a new successful deployment retires the
previous one in its environment), and check runs, which only a GitHub App may write."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import github as gh
import httpx
import pytest
from github.Repository import Repository

from fluxgate.sandbox.github import RunningEmulator
from tests.github.conftest import READ_ONLY_TOKEN, TOKEN

_app_ids = itertools.count(7_100)


def client(github: RunningEmulator, auth: gh.Auth.Auth | None = None) -> gh.Github:
    return gh.Github(auth=auth or gh.Auth.Token(TOKEN), base_url=github.url, lazy=True, retry=None,
                     seconds_between_requests=None, seconds_between_writes=None)


@pytest.fixture
def repo(github: RunningEmulator, manifests_repo: str) -> Repository:
    return client(github).get_repo(manifests_repo)


@pytest.fixture
def api(github: RunningEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=github.url, headers={"Authorization": f"token {TOKEN}"}, timeout=30) as http:
        yield http


def head(github: RunningEmulator, repo: Repository) -> str:
    _, store = github.emulator.repo(*repo.full_name.split("/"))
    sha = store.ref("refs/heads/main")
    assert sha is not None
    return sha


# -- commit statuses -------------------------------------------------------------------------------
def test_the_combined_status_is_the_latest_state_of_each_context(
    github: RunningEmulator, repo: Repository
) -> None:
    commit = repo.get_commit(head(github, repo))

    commit.create_status("pending", description="Rendering", context="fluxgate/render")
    commit.create_status("failure", description="Invalid", context="fluxgate/validate")
    assert commit.get_combined_status().state == "failure"
    commit.create_status("success", description="Rendered", context="fluxgate/render",
                         target_url="https://ci.example.com/1")
    assert commit.get_combined_status().state == "failure"
    commit.create_status("success", description="Valid", context="fluxgate/validate")
    combined = commit.get_combined_status()

    assert (combined.state, combined.total_count, combined.sha) == ("success", 2, commit.sha)
    assert {s.context: (s.state, s.description) for s in combined.statuses} == {
        "fluxgate/render": ("success", "Rendered"), "fluxgate/validate": ("success", "Valid"),
    }
    render = next(s for s in combined.statuses if s.context == "fluxgate/render")
    assert render.target_url == "https://ci.example.com/1"


def test_a_pending_context_keeps_the_combined_status_pending(
    github: RunningEmulator, repo: Repository
) -> None:
    commit = repo.get_commit(head(github, repo))
    assert (commit.get_combined_status().state, commit.get_combined_status().total_count) == ("pending", 0)

    commit.create_status("success", context="fluxgate/render")
    commit.create_status("pending", context="fluxgate/deploy")

    assert commit.get_combined_status().state == "pending"


def test_every_status_is_listed_newest_first(
    github: RunningEmulator, repo: Repository, api: httpx.Client
) -> None:
    sha = head(github, repo)
    for state in ("pending", "error", "success"):
        assert api.post(f"/repos/{repo.full_name}/statuses/{sha}",
                        json={"state": state, "context": "ci"}).status_code == 201

    listed = api.get(f"/repos/{repo.full_name}/commits/main/statuses").json()

    assert [s["state"] for s in listed] == ["success", "error", "pending"]
    assert {s["creator"]["login"] for s in listed} == {"fluxgate-bot"}


def test_a_status_description_over_140_characters_is_rejected(
    github: RunningEmulator, repo: Repository
) -> None:
    commit = repo.get_commit(head(github, repo))
    commit.create_status("success", description="x" * 140, context="fits")

    with pytest.raises(gh.GithubException) as refused:
        commit.create_status("success", description="x" * 141, context="too long")

    assert refused.value.status == 422
    assert "description is too long (maximum is 140 characters)" in str(refused.value.data)
    assert [s.context for s in commit.get_combined_status().statuses] == ["fits"]


def test_a_status_needs_a_known_commit_and_a_known_state(api: httpx.Client, manifests_repo: str) -> None:
    unknown = api.post(f"/repos/{manifests_repo}/statuses/{'a' * 40}", json={"state": "success"})
    bogus = api.post(f"/repos/{manifests_repo}/statuses/main", json={"state": "great"})

    assert unknown.status_code == 422
    assert unknown.json()["message"] == f"No commit found for SHA: {'a' * 40}"
    assert bogus.status_code == 422


# -- deployments -----------------------------------------------------------------------------------
def test_a_deployment_without_required_contexts_ignores_failing_statuses(
    github: RunningEmulator, repo: Repository
) -> None:
    sha = head(github, repo)
    repo.get_commit(sha).create_status("failure", context="fluxgate/validate")

    with pytest.raises(gh.GithubException) as checked:
        repo.create_deployment(ref=sha, environment="dev", auto_merge=False)
    deployment = repo.create_deployment(ref=sha, environment="dev", required_contexts=[], auto_merge=False,
                                        payload={"release": "r1"}, description="Release r1",
                                        transient_environment=False, production_environment=False)

    assert checked.value.status == 409
    again = repo.get_deployment(deployment.id)
    assert (again.sha, again.ref, again.environment, again.task) == (sha, sha, "dev", "deploy")
    assert (again.payload, again.description, again.creator.login) == ({"release": "r1"}, "Release r1",
                                                                       "fluxgate-bot")
    assert (again.transient_environment, again.production_environment) == (False, False)
    assert [d.id for d in repo.get_deployments(environment="dev")] == [deployment.id]
    assert list(repo.get_deployments(environment="prod")) == []


def test_deployment_statuses_keep_their_urls_and_are_listed_newest_first(
    github: RunningEmulator, repo: Repository, api: httpx.Client
) -> None:
    deployment = repo.create_deployment(ref="main", environment="dev", required_contexts=[], auto_merge=False)
    url = f"/repos/{repo.full_name}/deployments/{deployment.id}/statuses"

    for state in ("queued", "in_progress", "success"):
        made = api.post(url, json={"state": state, "description": f"now {state}",
                                   "environment_url": "https://dev.example.com",
                                   "log_url": f"https://ci.example.com/{state}"})
        assert made.status_code == 201, made.text
    statuses = list(deployment.get_statuses())

    assert [s.state for s in statuses] == ["success", "in_progress", "queued"]
    latest = statuses[0]
    assert (latest.environment, latest.environment_url, latest.description) == (
        "dev", "https://dev.example.com", "now success")
    assert api.get(url).json()[0]["log_url"] == "https://ci.example.com/success"
    assert latest.target_url == "https://ci.example.com/success"  # GitHub mirrors log_url into target_url


@pytest.mark.parametrize("state", ["failure", "error", "inactive", "pending"])
def test_a_deployment_can_end_in_any_of_githubs_states(repo: Repository, state: str) -> None:
    deployment = repo.create_deployment(ref="main", environment="dev", required_contexts=[], auto_merge=False)

    deployment.create_status("in_progress")
    deployment.create_status(state, description=f"ended {state}")

    assert [s.state for s in deployment.get_statuses()] == [state, "in_progress"]


def test_a_deployment_status_rejects_unknown_states_and_long_descriptions(repo: Repository) -> None:
    deployment = repo.create_deployment(ref="main", environment="dev", required_contexts=[], auto_merge=False)

    with pytest.raises(gh.GithubException) as unknown:
        deployment.create_status("great")
    with pytest.raises(gh.GithubException) as long:
        deployment.create_status("success", description="x" * 141)

    assert (unknown.value.status, long.value.status) == (422, 422)
    assert list(deployment.get_statuses()) == []


def test_a_new_successful_deployment_retires_the_previous_one_in_its_environment(repo: Repository) -> None:
    def deploy(environment: str, **options: Any) -> Any:
        deployment = repo.create_deployment(ref="main", environment=environment, required_contexts=[],
                                            auto_merge=False)
        deployment.create_status("success", environment_url=f"https://{environment}.example.com", **options)
        return deployment

    first_dev, prod = deploy("dev"), deploy("prod")
    second_dev = deploy("dev")
    kept = deploy("dev", auto_inactive=False)

    def states(deployment: Any) -> list[str]:
        return [s.state for s in deployment.get_statuses()]

    assert states(first_dev) == ["inactive", "success"]
    assert states(second_dev) == ["success"]  # the third asked not to retire it
    assert states(kept) == ["success"]
    assert states(prod) == ["success"]


def test_a_failed_deployment_does_not_retire_the_one_that_is_live(repo: Repository) -> None:
    live = repo.create_deployment(ref="main", environment="dev", required_contexts=[], auto_merge=False)
    live.create_status("success")
    broken = repo.create_deployment(ref="main", environment="dev", required_contexts=[], auto_merge=False)

    broken.create_status("failure")

    assert [s.state for s in live.get_statuses()] == ["success"]


def test_a_read_only_token_cannot_report_statuses_or_deployments(
    github: RunningEmulator, repo: Repository
) -> None:
    reader = client(github, gh.Auth.Token(READ_ONLY_TOKEN)).get_repo(repo.full_name)
    sha = head(github, repo)

    with pytest.raises(gh.GithubException) as status:
        reader.get_commit(sha).create_status("success")
    with pytest.raises(gh.GithubException) as deployment:
        reader.create_deployment(ref="main", required_contexts=[], auto_merge=False)

    assert (status.value.status, deployment.value.status) == (403, 403)
    assert reader.get_commit(sha).get_combined_status().total_count == 0


# -- check runs ------------------------------------------------------------------------------------
def test_a_personal_access_token_cannot_create_check_runs(github: RunningEmulator, repo: Repository) -> None:
    with pytest.raises(gh.GithubException) as refused:
        repo.create_check_run("fluxgate/validate", head(github, repo))

    assert refused.value.status == 403
    assert "GitHub App" in str(refused.value.data)


def test_a_github_app_creates_and_completes_a_check_run(
    github: RunningEmulator, repo: Repository, app_key: tuple[str, str]
) -> None:
    private, public = app_key
    app_id, installation = next(_app_ids), next(_app_ids)
    github.emulator.add_app(app_id, "fluxgate-checks", public, [installation])
    as_app = client(github, gh.Auth.AppAuth(app_id, private).get_installation_auth(installation))
    app_repo = as_app.get_repo(repo.full_name)
    sha = head(github, repo)

    run = app_repo.create_check_run("fluxgate/validate", sha, status="in_progress", external_id="r1",
                                    details_url="https://ci.example.com/r1",
                                    output={"title": "Validating", "summary": "3 environments"})
    started = (run.status, run.conclusion, run.completed_at)
    run.edit(conclusion="failure", output={"title": "Invalid", "summary": "1 error", "text": "dev: bad"})
    done = app_repo.get_check_run(run.id)

    assert started == ("in_progress", None, None)
    assert (done.status, done.conclusion, done.head_sha, done.name) == ("completed", "failure", sha,
                                                                        "fluxgate/validate")
    assert (done.output.title, done.output.summary, done.output.text) == ("Invalid", "1 error", "dev: bad")
    assert (done.external_id, done.details_url) == ("r1", "https://ci.example.com/r1")
    assert done.completed_at is not None and done.app.slug == "fluxgate-checks"
    with pytest.raises(gh.GithubException) as not_the_app:
        repo.get_check_run(run.id).edit(conclusion="success")
    assert not_the_app.value.status == 403
    assert app_repo.get_check_run(run.id).conclusion == "failure"


def test_a_check_run_rejects_unknown_states_and_completion_without_a_conclusion(
    github: RunningEmulator, repo: Repository, app_key: tuple[str, str]
) -> None:
    private, public = app_key
    app_id, installation = next(_app_ids), next(_app_ids)
    github.emulator.add_app(app_id, "fluxgate-checks", public, [installation])
    app_repo = client(github, gh.Auth.AppAuth(app_id, private).get_installation_auth(installation)).get_repo(
        repo.full_name)
    sha = head(github, repo)

    refused = []
    for options in ({"status": "done"}, {"conclusion": "great"}, {"status": "completed"}):
        with pytest.raises(gh.GithubException) as error:
            app_repo.create_check_run("fluxgate/validate", sha, **options)
        refused.append(error.value.status)
    run = app_repo.create_check_run("fluxgate/validate", sha, status="completed", conclusion="skipped")

    assert refused == [422, 422, 422]
    assert (run.status, run.conclusion) == ("completed", "skipped")

