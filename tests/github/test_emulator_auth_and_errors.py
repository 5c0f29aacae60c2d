"""Who may do what on the emulated GitHub, and how it says no: GitHub's status codes and messages for
missing, wrong, read-only and expired credentials, GitHub App JWTs and installation tokens, unknown
repositories and malformed requests."""

from __future__ import annotations

import itertools
import os
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import github as gh
import httpx
import pytest

from fluxgate.sandbox.github import RunningEmulator
from tests.github.conftest import READ_ONLY_TOKEN, TOKEN, new_app_keys

_app_ids = itertools.count(7_500)


@pytest.fixture
def anonymous(github: RunningEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=github.url, timeout=30) as http:
        yield http


def headers(token: str, scheme: str = "token") -> dict[str, str]:
    return {"Authorization": f"{scheme} {token}"}


def install_app(github: RunningEmulator, public: str, token_ttl: int = 3600) -> tuple[int, int]:
    app_id, installation = next(_app_ids), next(_app_ids)
    github.emulator.add_app(app_id, f"fluxgate-app-{app_id}", public, [installation], token_ttl=token_ttl)
    return app_id, installation


def token_requests(github: RunningEmulator, installation: int, since: int) -> int:
    path = f"/app/installations/{installation}/access_tokens"
    return sum(1 for r in github.emulator.requests[since:] if r.method == "POST" and r.path == path)


# -- tokens ----------------------------------------------------------------------------------------
def test_a_wrong_token_is_401_bad_credentials(anonymous: httpx.Client, manifests_repo: str) -> None:
    for scheme in ("token", "Bearer"):
        answer = anonymous.get(f"/repos/{manifests_repo}", headers=headers("ghp_wrong", scheme))
        assert answer.status_code == 401
        assert answer.json()["message"] == "Bad credentials"


def test_no_token_is_401_requires_authentication(anonymous: httpx.Client, manifests_repo: str) -> None:
    read = anonymous.get(f"/repos/{manifests_repo}/git/ref/heads/main")
    write = anonymous.post(f"/repos/{manifests_repo}/git/refs", json={"ref": "refs/heads/x", "sha": "0" * 40})

    assert (read.status_code, read.json()["message"]) == (401, "Requires authentication")
    assert (write.status_code, write.json()["message"]) == (401, "Requires authentication")


def test_a_token_works_with_either_authorization_scheme(anonymous: httpx.Client, manifests_repo: str) -> None:
    for scheme in ("token", "Bearer"):
        assert anonymous.get(f"/repos/{manifests_repo}", headers=headers(TOKEN, scheme)).status_code == 200


def test_a_read_only_token_reads_but_every_write_is_403(
    github: RunningEmulator, anonymous: httpx.Client, manifests_repo: str
) -> None:
    _, store = github.emulator.repo(*manifests_repo.split("/"))
    sha = store.ref("refs/heads/main")
    r = f"/repos/{manifests_repo}"
    read_only = headers(READ_ONLY_TOKEN)
    writes = [
        ("POST", f"{r}/git/trees", {"tree": []}),
        ("POST", f"{r}/git/commits", {"message": "m", "tree": "0" * 40}),
        ("POST", f"{r}/git/refs", {"ref": "refs/heads/x", "sha": sha}),
        ("PATCH", f"{r}/git/refs/heads/main", {"sha": sha}),
        ("DELETE", f"{r}/git/refs/heads/main", None),
        ("POST", f"{r}/pulls", {"title": "t", "head": "main", "base": "main"}),
        ("POST", f"{r}/statuses/{sha}", {"state": "success"}),
        ("POST", f"{r}/deployments", {"ref": "main"}),
        ("POST", f"{r}/dispatches", {"event_type": "promote"}),
    ]

    assert anonymous.get(r, headers=read_only).status_code == 200
    assert anonymous.get(f"{r}/git/ref/heads/main", headers=read_only).json()["object"]["sha"] == sha
    for method, path, body in writes:
        answer = anonymous.request(method, path, json=body, headers=read_only)
        assert answer.status_code == 403, (method, path, answer.text)
        assert answer.json()["message"] == "Resource not accessible by personal access token"
    assert store.refs() == {"refs/heads/main": sha}


def test_pygithub_reports_a_read_only_write_as_a_github_exception(github: RunningEmulator,
                                                                  manifests_repo: str) -> None:
    reader = gh.Github(auth=gh.Auth.Token(READ_ONLY_TOKEN), base_url=github.url, lazy=True, retry=None,
                       seconds_between_requests=None, seconds_between_writes=None)
    repo = reader.get_repo(manifests_repo)
    sha = repo.get_branch("main").commit.sha

    with pytest.raises(gh.GithubException) as refused:
        repo.create_git_ref("refs/heads/nope", sha)

    assert refused.value.status == 403


# -- requests GitHub cannot make sense of -----------------------------------------------------------
def test_unknown_repositories_and_objects_are_404(anonymous: httpx.Client, manifests_repo: str) -> None:
    auth = headers(TOKEN)
    for path in ("/repos/acme/nope", "/repos/acme/nope/pulls/1", f"/repos/{manifests_repo}/pulls/999",
                 f"/repos/{manifests_repo}/deployments/999", f"/repos/{manifests_repo}/compare/main...nope"):
        answer = anonymous.get(path, headers=auth)
        assert answer.status_code == 404, path
        assert answer.json()["message"] == "Not Found"
    branch = anonymous.get(f"/repos/{manifests_repo}/branches/nope", headers=auth)
    assert (branch.status_code, branch.json()["message"]) == (404, "Branch not found")
    write = anonymous.post("/repos/acme/nope/pulls", json={}, headers=headers(READ_ONLY_TOKEN))
    assert write.status_code == 404


def test_malformed_json_is_400(anonymous: httpx.Client, manifests_repo: str) -> None:
    answer = anonymous.post(f"/repos/{manifests_repo}/git/trees", content=b"{not json",
                            headers=headers(TOKEN))

    assert (answer.status_code, answer.json()["message"]) == (400, "Problems parsing JSON")


def test_missing_or_mistyped_fields_are_422(anonymous: httpx.Client, manifests_repo: str) -> None:
    r, auth = f"/repos/{manifests_repo}", headers(TOKEN)

    missing = anonymous.post(f"{r}/git/refs", json={"sha": "0" * 40}, headers=auth)
    mistyped = anonymous.post(f"{r}/git/commits", json={"message": "m", "tree": 42}, headers=auth)
    not_an_object = anonymous.post(f"{r}/git/commits", json=["m"], headers=auth)
    bad_date = anonymous.post(f"{r}/git/commits", headers=auth, json={
        "message": "m", "tree": "0" * 40, "author": {"name": "a", "email": "a@b", "date": "yesterday"}})

    assert missing.status_code == 422
    assert missing.json()["message"] == 'Invalid request.\n\n"ref" wasn\'t supplied.'
    assert mistyped.status_code == 422 and "tree" in mistyped.json()["message"]
    assert not_an_object.status_code == 422
    assert bad_date.status_code == 422


def test_a_bad_pagination_parameter_is_not_a_server_error(
    anonymous: httpx.Client, manifests_repo: str
) -> None:
    answer = anonymous.get(f"/repos/{manifests_repo}/pulls", params={"per_page": "lots"},
                           headers=headers(TOKEN))

    assert answer.status_code == 200
    assert answer.json() == []


# -- GitHub Apps -----------------------------------------------------------------------------------
def test_an_installation_token_needs_a_jwt_signed_by_the_apps_key(
    github: RunningEmulator, anonymous: httpx.Client, app_key: tuple[str, str]
) -> None:
    private, public = app_key
    app_id, installation = install_app(github, public)
    url = f"/app/installations/{installation}/access_tokens"
    other_private, _ = new_app_keys()

    garbage = anonymous.post(url, headers=headers("not-a-jwt", "Bearer"))
    forged = anonymous.post(url, headers=headers(gh.Auth.AppAuth(app_id, other_private).create_jwt(),
                                                 "Bearer"))
    unknown_app = anonymous.post(url, headers=headers(gh.Auth.AppAuth(1, private).create_jwt(), "Bearer"))
    elsewhere = anonymous.post(f"/app/installations/{installation + 1000}/access_tokens",
                               headers=headers(gh.Auth.AppAuth(app_id, private).create_jwt(), "Bearer"))
    issued = anonymous.post(url, headers=headers(gh.Auth.AppAuth(app_id, private).create_jwt(), "Bearer"))

    assert (garbage.status_code, forged.status_code, unknown_app.status_code) == (401, 401, 401)
    assert elsewhere.status_code == 404
    assert issued.status_code == 201 and issued.json()["token"].startswith("ghs_")


def test_an_expired_installation_token_is_401_for_the_api_and_git(
    github: RunningEmulator, anonymous: httpx.Client, app_key: tuple[str, str], manifests_repo: str,
    tmp_path: Path,
) -> None:
    private, public = app_key
    app_id, installation = install_app(github, public, token_ttl=2)
    issued = anonymous.post(f"/app/installations/{installation}/access_tokens",
                            headers=headers(gh.Auth.AppAuth(app_id, private).create_jwt(), "Bearer")).json()
    token, expires_at = issued["token"], datetime.fromisoformat(issued["expires_at"]).timestamp()
    fresh = anonymous.get(f"/repos/{manifests_repo}", headers=headers(token))

    time.sleep(max(0.0, expires_at - time.time()) + 0.05)
    stale = anonymous.get(f"/repos/{manifests_repo}", headers=headers(token))
    fetched = subprocess.run(
        ["git", "-c", f"http.extraHeader=Authorization: token {token}", "ls-remote",
         f"{github.url}/{manifests_repo}.git"],
        capture_output=True, text=True, env={**os.environ, "GIT_TERMINAL_PROMPT": "0"}, cwd=tmp_path,
        check=False,
    )

    assert fresh.status_code == 200
    assert (stale.status_code, stale.json()["message"]) == (401, "Bad credentials")
    assert fetched.returncode != 0


def test_pygithub_renews_an_installation_token_that_expires_within_20_seconds(
    github: RunningEmulator, app_key: tuple[str, str], manifests_repo: str
) -> None:
    private, public = app_key

    def requests_per_token(token_ttl: int) -> int:
        app_id, installation = install_app(github, public, token_ttl=token_ttl)
        as_app = gh.Github(auth=gh.Auth.AppAuth(app_id, private).get_installation_auth(installation),
                           base_url=github.url, lazy=True, retry=None, seconds_between_requests=None,
                           seconds_between_writes=None)
        since = len(github.emulator.requests)
        repo = as_app.get_repo(manifests_repo)
        for _ in range(3):
            assert repo.get_branch("main").name == "main"
        return token_requests(github, installation, since)

    assert requests_per_token(token_ttl=5) == 3  # each request finds the token about to expire
    assert requests_per_token(token_ttl=3600) == 1
