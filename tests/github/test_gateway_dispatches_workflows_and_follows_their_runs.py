"""Post-deploy verification through GitHub Actions: the gateway dispatches a workflow with the release's
inputs, GitHub queues a run and says so in a `workflow_run` webhook, and the run's completion arrives the
same way with its conclusion. Refusals (unknown workflow, unknown branch, undeclared inputs) reach the
caller as one-line permanent errors in GitHub's words."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fluxgate.errors import PermanentError
from fluxgate.github import GitHubGateway, GitHubNotFound, GitHubRejected
from fluxgate.sandbox.github import Fault, RunningEmulator
from tests.github.conftest import TOKEN
from tests.github.gateway import gateway
from tests.github.receiver import Receiver, running_receiver

INPUTS = {"env": "staging", "version": "1.4.0", "revision": "main@sha1:" + "a" * 40}


@pytest.fixture
def app_repo(github: RunningEmulator, manifests_repo: str) -> str:
    """A repository with `.github/workflows/verify.yml`, dispatchable with env, version and revision."""
    github.emulator.add_workflow(manifests_repo, "verify.yml", ["env", "version", "revision"])
    return manifests_repo


@pytest.fixture
def receiver(github: RunningEmulator, app_repo: str) -> Iterator[Receiver]:
    with running_receiver("actions-secret") as receiver:
        events = ["workflow_dispatch", "workflow_run"]
        github.emulator.add_hook(app_repo, receiver.url, receiver.secret, events)
        yield receiver


@pytest.fixture
def gw(github: RunningEmulator, tmp_path: Path) -> Iterator[GitHubGateway]:
    gw = gateway(github, tmp_path)
    yield gw
    gw.close()


def _main(github: RunningEmulator, repo: str) -> str:
    _, git = github.emulator.repo(*repo.split("/"))
    sha = git.ref("refs/heads/main")
    assert sha is not None
    return sha


def _one_line(error: Exception) -> str:
    text = str(error)
    assert "\n" not in text and TOKEN not in text
    return text


def test_a_dispatch_queues_a_run_with_the_inputs_and_announces_it(
    github: RunningEmulator, app_repo: str, receiver: Receiver, gw: GitHubGateway
) -> None:
    run_id = gw.dispatch_workflow(app_repo, "verify.yml", "main", INPUTS)

    [run] = github.emulator.workflow_runs(app_repo)
    assert (run.id, run.inputs, run.event, run.status) == (run_id, INPUTS, "workflow_dispatch", "queued")
    assert (run.head_branch, run.head_sha, run.path) == ("main", _main(github, app_repo),
                                                         ".github/workflows/verify.yml")
    assert github.emulator.dispatcher.settle()
    dispatched = receiver.one("workflow_dispatch")
    assert dispatched.payload["inputs"] == INPUTS and dispatched.payload["ref"] == "refs/heads/main"
    requested = receiver.one("workflow_run", "requested")
    assert requested.signature_ok
    assert requested.payload["workflow_run"]["id"] == run_id
    assert requested.payload["workflow_run"]["status"] == "queued"
    assert requested.payload["workflow_run"]["head_sha"] == run.head_sha
    assert requested.payload["workflow"]["path"] == ".github/workflows/verify.yml"


@pytest.mark.parametrize("conclusion", ["success", "failure"])
def test_completing_a_run_sends_completed_with_its_conclusion(
    github: RunningEmulator, app_repo: str, receiver: Receiver, gw: GitHubGateway, conclusion: str
) -> None:
    run_id = gw.dispatch_workflow(app_repo, "verify.yml", "main", INPUTS)
    assert run_id is not None
    assert gw.workflow_run(app_repo, run_id).status == "queued"

    github.emulator.complete_workflow_run(app_repo, run_id, conclusion)

    state = gw.workflow_run(app_repo, run_id)
    assert (state.status, state.conclusion, state.name, state.event) == (
        "completed", conclusion, "verify", "workflow_dispatch")
    assert github.emulator.dispatcher.settle()
    completed = receiver.one("workflow_run", "completed")
    assert completed.payload["workflow_run"]["conclusion"] == conclusion
    assert completed.payload["workflow_run"]["html_url"] == state.html_url


def test_the_run_of_a_dispatch_is_found_when_github_does_not_return_its_id(
    github: RunningEmulator, app_repo: str, gw: GitHubGateway
) -> None:
    """An older GitHub refuses `return_run_details`: the gateway dispatches without it, then the run is
    the one dispatched at the ref's head since just before the dispatch."""
    github.emulator.inject(Fault(422, path=r"/actions/workflows/verify\.yml/dispatches$", method="POST",
                                 message='Invalid request.\n\n"return_run_details" is not a permitted key.'))
    since = datetime.now(UTC)

    assert gw.dispatch_workflow(app_repo, "verify.yml", "main", INPUTS) is None

    found = gw.find_dispatched_run(app_repo, "verify.yml", _main(github, app_repo), since)
    [run] = github.emulator.workflow_runs(app_repo)
    assert found is not None and found.id == run.id and run.inputs == INPUTS
    assert gw.find_dispatched_run(app_repo, "verify.yml", "0" * 40, since) is None


def test_an_unknown_workflow_is_a_one_line_permanent_error(
    github: RunningEmulator, app_repo: str, gw: GitHubGateway
) -> None:
    with pytest.raises(GitHubNotFound) as caught:
        gw.dispatch_workflow(app_repo, "deploy.yml", "main", INPUTS)

    assert _one_line(caught.value).startswith(f"workflow deploy.yml not found in {app_repo}")
    assert isinstance(caught.value, PermanentError)
    assert github.emulator.workflow_runs(app_repo) == []


@pytest.mark.parametrize(("ref", "inputs", "github_says"), [
    ("release", INPUTS, "No ref found for: release"),
    ("main", {**INPUTS, "cluster": "eu-1"}, 'Unexpected inputs provided: ["cluster"]'),
    ("main", {"env": "staging"}, "Required input 'version' not provided"),
])
def test_a_refused_dispatch_says_why_in_one_line(
    github: RunningEmulator, app_repo: str, gw: GitHubGateway, ref: str, inputs: dict[str, str],
    github_says: str
) -> None:
    with pytest.raises(GitHubRejected) as caught:
        gw.dispatch_workflow(app_repo, "verify.yml", ref, inputs)

    text = _one_line(caught.value)
    assert github_says in text and app_repo in text and "verify.yml" in text
    assert caught.value.github_message == github_says
    assert github.emulator.workflow_runs(app_repo) == []


def test_an_unknown_run_is_named(app_repo: str, gw: GitHubGateway) -> None:
    with pytest.raises(GitHubNotFound) as caught:
        gw.workflow_run(app_repo, 987_654)
    assert _one_line(caught.value).startswith(f"workflow run 987654 not found in {app_repo}")
