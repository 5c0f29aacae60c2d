"""Every answer of the GitHub emulator validates against GitHub's own REST description.

Clients (PyGithub, fluxgate's own code, anything a user points at the sandbox) are written against
GitHub's OpenAPI description, `@octokit/openapi`'s `generated/api.github.com.json`, installed by
`make test` into `.cache/npm/`. A field the emulator leaves out, or types differently, is a crash
or a silent `None` in a client that real GitHub would never cause; so one scenario drives every route
the emulator serves over real HTTP, and each recorded body (successes, and errors where the
description gives their schema) is validated against the operation's schema. The scenario must
touch every served route, so a new endpoint cannot escape the check.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import github as gh
import httpx
import pytest
from jsonschema.exceptions import ValidationError, best_match
from jsonschema.validators import extend
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from referencing import Registry
from referencing.jsonschema import DRAFT4
from starlette.routing import Route

from fluxgate.sandbox.github import Fault, RequestRecord, RunningEmulator, smart_http
from fluxgate.sandbox.github.app import RecordAndFault, create_app
from fluxgate.sandbox.github.emulator import Emulator
from fluxgate.sandbox.github.server import free_port
from tests.github.conftest import READ_ONLY_TOKEN, TOKEN, app_keys

ROOT = Path(__file__).resolve().parents[2]
DESCRIPTION = ROOT / ".cache/npm/node_modules/@octokit/openapi/generated/api.github.com.json"
DOCUMENT = "urn:github:api.github.com.json"  # where `$ref`s into the description resolve
REPO = "acme/openapi-conformance"
APP_ID, INSTALLATION_ID = 880_001, 880_002
_CONVERTER = re.compile(r":(int|path|str)}")


def _enum(validator: Any, enums: Any, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    """`nullable: true` admits null even next to an `enum` that does not list it.

    OAS 3.0.3 says `nullable` only widens `type`, so a strict reading rejects `"conclusion": null` on an
    in-progress check run; but GitHub answers exactly that, and its description means it (Octokit's types
    generated from it read `"success" | ... | null`). Only null, and only where the description says so.
    """
    if instance is None and schema.get("nullable") is True:
        return
    yield from OAS30Validator.VALIDATORS["enum"](validator, enums, instance, schema)


ResponseValidator = extend(OAS30Validator, {"enum": _enum})
FORMATS = oas30_format_checker  # date-time, int32/int64 and the like, as the description declares them


@pytest.fixture(scope="session")
def rest_description() -> dict[str, Any]:
    """The 13 MB description, parsed once per session (~0.2 s)."""
    if not DESCRIPTION.is_file():
        pytest.fail(f"GitHub's REST description is missing: {DESCRIPTION} does not exist. Run `make test`, "
                    "which installs @octokit/openapi into .cache/npm/ once.", pytrace=False)
    document: dict[str, Any] = json.loads(DESCRIPTION.read_text())
    return document


def _client(stack: ExitStack, url: str, auth: gh.Auth.Auth) -> gh.Github:
    """PyGithub as users configure it, minus its pause between requests (0.25 s, 1 s between writes)."""
    client = gh.Github(auth=auth, base_url=url, lazy=True,
                       seconds_between_requests=0, seconds_between_writes=0)
    stack.callback(client.close)
    return client


class Expect:
    """Raw requests for what PyGithub has no method for, and for the error answers the scenario provokes."""

    def __init__(self, stack: ExitStack, url: str) -> None:
        self.http = stack.enter_context(
            httpx.Client(base_url=url, headers={"Authorization": f"token {TOKEN}"}, timeout=30))

    def __call__(self, status: int, method: str, path: str, **options: Any) -> httpx.Response:
        response = self.http.request(method, path, **options)
        assert response.status_code == status, f"{method} {path}: {response.status_code} {response.text}"
        return response


def _drive(stack: ExitStack, github: RunningEmulator) -> None:
    """One delivery's worth of API traffic: what fluxgate, PyGithub users and CI apps call, plus errors."""
    url, emulator = github.url, github.emulator
    client = _client(stack, url, gh.Auth.Token(TOKEN))
    expect = Expect(stack, url)
    r = f"/repos/{REPO}"

    # Hooks first, so pushes and pull request events are delivered (to a port nobody listens on).
    repo = client.get_repo(REPO)
    assert repo.default_branch == "main"  # lazy: this reads the repository
    hook = repo.create_hook("web", {"url": f"http://127.0.0.1:{free_port()}/hook", "content_type": "json",
                                    "secret": "s3cret"}, events=["push", "pull_request"], active=True)
    assert [h.id for h in repo.get_hooks()] == [hook.id]

    # Git data: read main, write a tree and a commit on a branch, move and delete refs, compare.
    assert repo.get_branch("main").name == "main"
    main = repo.get_git_ref("heads/main")
    first = repo.get_git_commit(main.object.sha)
    added = gh.InputGitTreeElement("apps/api.yaml", "100644", "blob", content="api: 1\n")
    tree = repo.create_git_tree([added], first.tree)
    assert {e.path for e in repo.get_git_tree(tree.sha, recursive=True).tree} >= {"apps", "apps/api.yaml"}
    commit = repo.create_git_commit("Add the api", tree, [first])
    repo.create_git_ref("refs/heads/feature", commit.sha)
    scratch = repo.create_git_ref("refs/heads/scratch", first.sha)
    scratch.edit(commit.sha)
    scratch.delete()
    assert repo.compare("main", "feature").ahead_by == 1

    # Pull requests: open, find by head, read, edit, close, reopen, reviewers, reviews, labels, merge.
    pr = repo.create_pull(base="main", head="feature", title="Add the api", body="Renders apps/api.")
    assert [p.number for p in repo.get_pulls(state="open", head="acme:feature")] == [pr.number]
    assert repo.get_pull(pr.number).title == "Add the api"
    pr.edit(title="Add the API")
    pr.edit(state="closed")
    pr.edit(state="open")
    pr.create_review_request(reviewers=["alice"], team_reviewers=["platform"])
    users, teams = pr.get_review_requests()
    assert [u.login for u in users] == ["alice"]
    assert [t.slug for t in teams] == ["platform"]
    alice = _client(stack, url, gh.Auth.Token("ghp_reviewer"))
    alice.get_repo(REPO).get_pull(pr.number).create_review(body="Looks right.", event="APPROVE")
    assert [review.state for review in pr.get_reviews()] == ["APPROVED"]
    pr.add_to_labels("deploy", "dev")
    expect(409, "PUT", f"{r}/pulls/{pr.number}/merge", json={"sha": "0" * 40})
    expect(422, "POST", f"{r}/pulls/{pr.number}/reviews", json={"event": "APPROVE"})  # one's own PR
    assert pr.merge(merge_method="merge", sha=pr.head.sha).merged
    expect(405, "PUT", f"{r}/pulls/{pr.number}/merge", json={})
    assert repo.get_pull(pr.number).merged_by.login == "fluxgate-bot"
    merged = repo.get_branch("main").commit.sha

    # Commit statuses.
    tip = repo.get_commit(merged)
    tip.create_status("success", target_url=f"{url}/ci/1", description="Rendered", context="fluxgate/render")
    assert tip.get_combined_status().state == "success"
    # PyGithub's `Commit.get_statuses()` calls the legacy `GET /statuses/{sha}`, which the description lacks.
    listed = expect(200, "GET", f"{r}/commits/{merged}/statuses").json()
    assert [s["context"] for s in listed] == ["fluxgate/render"]

    # Deployments and their statuses.
    deployment = repo.create_deployment(ref="main", environment="dev", payload={"release": "r1"},
                                        required_contexts=[], auto_merge=False, description="Release r1")
    assert [d.id for d in repo.get_deployments(environment="dev")] == [deployment.id]
    assert repo.get_deployment(deployment.id).environment == "dev"
    deployment.create_status("in_progress", target_url=f"{url}/ci/2", description="Rolling out")
    deployment.create_status("success", environment_url="https://dev.example.com", description="Ready")
    assert [s.state for s in deployment.get_statuses()] == ["success", "in_progress"]

    # Check runs, as a GitHub App installation (the installation token is fetched on first use).
    private, public = app_keys()
    emulator.add_app(APP_ID, "fluxgate-ci", public, [INSTALLATION_ID])
    app_auth = gh.Auth.AppAuth(APP_ID, private)
    installed = _client(stack, url, app_auth.get_installation_auth(INSTALLATION_ID))
    app_repo = installed.get_repo(REPO)
    run = app_repo.create_check_run("fluxgate/validate", merged, status="in_progress",
                                    output={"title": "Validating", "summary": "3 environments"})
    run.edit(conclusion="success", output={"title": "Valid", "summary": "3 environments", "text": "All good"})
    assert app_repo.get_check_run(run.id).conclusion == "success"
    expect(401, "POST", f"/app/installations/{INSTALLATION_ID}/access_tokens",
           headers={"Authorization": "Bearer not-a-jwt"})
    expect(404, "POST", f"/app/installations/{INSTALLATION_ID + 1}/access_tokens",
           headers={"Authorization": f"Bearer {app_auth.create_jwt()}"})

    # repository_dispatch.
    assert repo.create_repository_dispatch("promote", {"environment": "prod"})

    # The rate limit, which the connector reads to check its credentials.
    assert client.get_rate_limit().resources.core.remaining > 0
    expect(401, "GET", "/rate_limit", headers={"Authorization": "token ghp_revoked"})

    # GitHub Actions: dispatch a workflow (with and without run details), then read it and its runs; the
    # emulator finishes one run, as a runner would.
    workflow = repo.get_workflow("verify.yml")
    assert workflow.name == "verify"
    assert workflow.create_dispatch("main", {"env": "dev"}, throw=True) is True
    details = expect(200, "POST", f"{r}/actions/workflows/{workflow.id}/dispatches",
                     json={"ref": "main", "inputs": {"env": "staging"}, "return_run_details": True}).json()
    emulator.complete_workflow_run(REPO, details["workflow_run_id"], "success")
    runs = repo.get_workflow_runs(event="workflow_dispatch", branch="main", head_sha=merged, status="queued")
    assert [run.conclusion for run in runs] == [None]
    assert [run.id for run in workflow.get_runs(status="success")] == [details["workflow_run_id"]]
    assert repo.get_workflow_run(details["workflow_run_id"]).status == "completed"

    # Webhook deliveries: list them once the dispatcher gave up on them, then redeliver one.
    assert emulator.dispatcher.settle(30)
    deliveries = list(repo.get_hook_deliveries(hook.id))
    assert [h.last_response.code for h in repo.get_hooks()] == [0]  # nobody listens
    assert {d.event for d in deliveries} >= {"ping", "push", "pull_request"}
    expect(202, "POST", f"{r}/hooks/{hook.id}/deliveries/{deliveries[0].id}/attempts")

    # Errors GitHub describes a body for, including the faults tests inject.
    emulator.inject(Fault(500, path=rf"/pulls/{pr.number}$", method="GET"), Fault(503, path="/compare/"))
    expect(500, "GET", f"{r}/pulls/{pr.number}")
    expect(503, "GET", f"{r}/compare/main...feature")
    expect(404, "GET", "/repos/acme/no-such-repo")
    expect(404, "GET", f"{r}/branches/no-such-branch")
    expect(404, "GET", f"{r}/git/ref/heads/no-such-branch")
    expect(422, "POST", f"{r}/git/refs", json={"ref": "refs/heads/feature", "sha": commit.sha})
    expect(422, "PATCH", f"{r}/git/refs/heads/main", json={"sha": first.sha})  # not a fast forward
    reader = {"Authorization": f"token {READ_ONLY_TOKEN}"}
    expect(403, "POST", f"{r}/git/trees", json={"tree": []}, headers=reader)
    expect(404, "GET", f"{r}/git/commits/{'0' * 40}")
    expect(404, "GET", f"{r}/compare/main...no-such-branch")
    expect(422, "POST", f"{r}/pulls", json={"title": "Nothing", "head": "main", "base": "main"})
    expect(404, "GET", f"{r}/pulls/9999")
    expect(404, "GET", f"{r}/deployments/9999")
    expect(422, "POST", f"{r}/deployments/{deployment.id}/statuses", json={"state": "bogus"})
    expect(422, "POST", f"{r}/dispatches", json={"event_type": ""})
    expect(404, "POST", f"{r}/actions/workflows/no-such.yml/dispatches", json={"ref": "main"})
    expect(422, "POST", f"{r}/actions/workflows/verify.yml/dispatches", json={"ref": "no-such-branch"})
    expect(422, "POST", f"{r}/actions/workflows/verify.yml/dispatches",
           json={"ref": "main", "inputs": {"x": "1"}})
    expect(404, "GET", f"{r}/actions/runs/9999")
    expect(422, "POST", f"{r}/hooks", json={"config": {"url": "ftp://example.com"}})


@pytest.fixture(scope="module")
def exchanges(github: RunningEmulator) -> Iterator[list[RequestRecord]]:
    """The requests and answers of one run of the scenario, with their JSON bodies."""
    github.emulator.create_repo(REPO, files={"README.md": "# manifests\n", "apps/web.yaml": "web: 1\n"})
    github.emulator.add_workflow(REPO, "verify.yml", ["env"])
    github.emulator.protect_branch(REPO, "main", approvals=1)  # answers then carry protection details
    start = len(github.emulator.requests)
    with ExitStack() as stack:
        _drive(stack, github)
    yield github.emulator.requests[start:]


def _pointer(*parts: str) -> str:
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def _response_schema(document: dict[str, Any], record: RequestRecord) -> tuple[bool, str | None]:
    """Whether the description documents this answer's status, and the JSON pointer to its body schema."""
    operation = document["paths"].get(record.route, {}).get(record.method.lower())
    if operation is None or str(record.status) not in operation["responses"]:
        return False, None
    at = ("paths", record.route, record.method.lower(), "responses", str(record.status))
    response = operation["responses"][str(record.status)]
    if "$ref" in response:  # e.g. #/components/responses/not_found
        at = tuple(response["$ref"].removeprefix("#/").split("/"))
        response = document
        for part in at:
            response = response[part]
    if "application/json" not in response.get("content", {}):
        return True, None
    return True, DOCUMENT + "#" + _pointer(*at, "content", "application/json", "schema")


def _explain(error: ValidationError) -> str:
    """The deepest cause of a failure (oneOf/anyOf otherwise only say 'not valid under any'), shortened."""
    cause = best_match(error.context) if error.context else error
    message = cause.message if len(cause.message) < 300 else cause.message[:300] + "…"
    return f"{cause.json_path}: {message}"


def test_every_answer_matches_its_schema_in_githubs_rest_description(
    rest_description: dict[str, Any], exchanges: list[RequestRecord]
) -> None:
    registry: Registry[Any] = Registry().with_resource(DOCUMENT, DRAFT4.create_resource(rest_description))
    failures: set[str] = set()
    checked = 0
    for record in exchanges:
        where = f"{record.method} {record.route} -> {record.status}"
        documented, schema = _response_schema(rest_description, record)
        if not 200 <= record.status < 300 and schema is None:
            continue  # an error GitHub describes no body for (e.g. 401 where none is listed)
        if not documented:
            failures.add(f"{where}: GitHub never answers this operation with {record.status}")
            continue
        if schema is None:
            if record.body is not None:
                failures.add(f"{where}: GitHub answers without a body, the emulator sent one")
            continue
        if record.body is None:
            failures.add(f"{where}: no JSON body")
            continue
        validator = ResponseValidator({"$ref": schema}, registry=registry, format_checker=FORMATS)
        failures.update(f"{where}: {_explain(error)}" for error in validator.iter_errors(record.body))
        checked += 1
    assert not failures, f"{len(failures)} answers differ from GitHub's REST description:\n" + "\n".join(
        sorted(failures))
    assert checked >= 50, f"only {checked} bodies checked: is record_bodies off?"


def _served_routes() -> set[str]:
    """`METHOD /template` for every REST route the app serves (not git over HTTP, not `/_sandbox`)."""
    with tempfile.TemporaryDirectory() as data:
        emulator = Emulator(Path(data))
        try:
            app = create_app(emulator)
        finally:
            emulator.close()
    assert isinstance(app, RecordAndFault)
    git_over_http = {id(route) for route in smart_http.routes}
    return {
        f"{method} {_CONVERTER.sub('}', route.path)}"
        for route in app.routes
        if isinstance(route, Route) and id(route) not in git_over_http
        for method in route.methods or () if method != "HEAD"
    }


def test_the_scenario_calls_every_route_the_emulator_serves(exchanges: list[RequestRecord]) -> None:
    served = _served_routes()
    called = {f"{record.method} {record.route}" for record in exchanges if 200 <= record.status < 300}
    assert served
    assert served - called == set(), "served routes this test never calls successfully; add them to _drive()"


def test_every_route_called_is_in_githubs_rest_description(
    rest_description: dict[str, Any], exchanges: list[RequestRecord]
) -> None:
    unknown = {
        f"{record.method} {record.route}" for record in exchanges
        if record.method.lower() not in rest_description["paths"].get(record.route, {})
    }
    assert unknown == set()
